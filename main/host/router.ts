/**
 * The one entry for requests, shared by Electron's IPC and the browser mode's WebSocket: it drops
 * requests from senders that are not the app's own window (or an authenticated socket), refuses
 * unknown channels, runs the handler and turns any failure into one sentence for the UI, with the
 * error's code and facts beside it (the UI places an error by them, never by its words).
 */
import { firstLine, isUserError } from '../../ml/errors.ts';
import type { RequestFailure } from '../api.ts';
import { isRequestChannel } from '../channels.ts';
import type { Handlers } from './context.ts';
import { forPage, type DisplayName } from './wording.ts';

export type FailedReply = { ok: false } & RequestFailure;
export type Reply = { ok: true; result: unknown } | FailedReply;

export interface Router {
  /** undefined: the sender is not trusted and the request was dropped unanswered. */
  handle(sender: unknown, channel: unknown, arg: unknown): Promise<Reply | undefined>;
}

export interface RouterOptions {
  readonly isTrustedSender: (sender: unknown) => boolean;
  /** Where dropped requests and unexpected errors are logged (default: console.error). */
  readonly log?: ((message: string, error?: unknown) => void) | undefined;
  /** Shows a path as the user knows it, in an error's sentence and facts (default: as it is). */
  readonly name?: DisplayName | undefined;
}

/** A failure as the UI shows it: the message's first line, never a stack. */
export function errorMessage(e: unknown): string {
  return firstLine(e) || 'Something went wrong.';
}

/**
 * A failure as the reply carries it: one sentence, and a user error's code and facts, paths shown
 * by `name`. A check's own refusal that names no field is its sentence alone: its facts say no more.
 */
export function failedReply(e: unknown, name: DisplayName = (p) => p): FailedReply {
  if (!isUserError(e)) return { ok: false, error: errorMessage(e) };
  const { message, ...data } = forPage(e.data, name);
  return { ok: false, error: message, ...data };
}

export function createRouter(handlers: Handlers, opts: RouterOptions): Router {
  const log = opts.log ?? ((m: string, e?: unknown) => console.error(m, ...(e ? [e] : [])));
  return {
    async handle(sender, channel, arg) {
      if (!opts.isTrustedSender(sender)) {
        log(
          `SR Studio: dropped a ${isRequestChannel(channel) ? channel : 'malformed'} request from an unknown sender.`,
        );
        return undefined;
      }
      if (!isRequestChannel(channel)) {
        return { ok: false, error: `Unknown request channel ${JSON.stringify(String(channel).slice(0, 100))}.` };
      }
      try {
        const handler = handlers[channel] as (arg: unknown) => Promise<unknown>;
        const result = await handler(arg);
        return { ok: true, result: result ?? null };
      } catch (e) {
        // Our own checks throw one-sentence errors; anything else is a bug worth a stack in the log.
        if (!isUserError(e) && !(e instanceof Error && e.constructor === Error))
          log(`SR Studio: ${channel} failed:`, e);
        return failedReply(e, opts.name);
      }
    },
  };
}
