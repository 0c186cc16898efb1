/** A StudioApi for the renderer's state classes: requests answered by the test, events pushed by it. */
import type { EventChannel, Events, RequestArg, RequestChannel, RequestResult, StudioApi } from '../../main/api.ts';
import { requestError } from '../../renderer/src/api/request-error.ts';

type Answer<C extends RequestChannel> = (arg: RequestArg<C>) => RequestResult<C> | Promise<RequestResult<C>>;

export class FakeApi implements StudioApi {
  readonly mode = 'browser' as const;
  readonly requests: Array<{ channel: RequestChannel; arg: unknown }> = [];
  readonly #answers = new Map<RequestChannel, Answer<RequestChannel>>();
  readonly #listeners = new Map<EventChannel, Set<(p: never) => void>>();

  answer<C extends RequestChannel>(channel: C, fn: Answer<C>): this {
    this.#answers.set(channel, fn as unknown as Answer<RequestChannel>);
    return this;
  }

  async request<C extends RequestChannel>(channel: C, arg: RequestArg<C>): Promise<RequestResult<C>> {
    this.requests.push({ channel, arg });
    const fn = this.#answers.get(channel);
    if (!fn) throw new Error(`no answer for ${channel}`);
    return (await fn(arg as never)) as RequestResult<C>;
  }

  /** The arguments of every request on a channel, in order. */
  sent<C extends RequestChannel>(channel: C): Array<RequestArg<C>> {
    return this.requests.filter((r) => r.channel === channel).map((r) => r.arg as RequestArg<C>);
  }

  on<C extends EventChannel>(channel: C, listener: (payload: Events[C]) => void): () => void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    set.add(listener as (p: never) => void);
    return () => set.delete(listener as (p: never) => void);
  }

  emit<C extends EventChannel>(channel: C, payload: Events[C]): void {
    for (const l of this.#listeners.get(channel) ?? []) l(payload as never);
  }
}

/**
 * A request refused by one of the host's checks, as the real clients deliver it: an Error whose
 * message is the sentence, with the code and facts (`field`: the control it is about) beside it.
 */
export function refusal(said: string, field?: string): Error {
  return requestError({
    error: said,
    code: 'bad-argument',
    facts: field === undefined ? { said } : { said, field },
  }) as Error;
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
