/**
 * The one entry for requests, shared by Electron's IPC and the browser mode's WebSocket: it drops
 * requests from senders that are not the app's own window (or an authenticated socket), refuses
 * unknown channels, runs the handler and turns any failure into one sentence for the UI.
 */
import { isUserError } from '../../ml/errors.ts';
import { isRequestChannel } from '../channels.ts';
import type { Handlers } from './context.ts';

export type Reply = { ok: true; result: unknown } | { ok: false; error: string };

export interface Router {
  /** undefined: the sender is not trusted and the request was dropped unanswered. */
  handle(sender: unknown, channel: unknown, arg: unknown): Promise<Reply | undefined>;
}

export interface RouterOptions {
  readonly isTrustedSender: (sender: unknown) => boolean;
  /** Where dropped requests and unexpected errors are logged (default: console.error). */
  readonly log?: ((message: string, error?: unknown) => void) | undefined;
}

/** A failure as the UI shows it: the message's first line, never a stack. */
export function errorMessage(e: unknown): string {
  const line = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  return line || 'Something went wrong.';
}

export function createRouter(handlers: Handlers, opts: RouterOptions): Router {
  const log = opts.log ?? ((m: string, e?: unknown) => console.error(m, ...(e ? [e] : [])));
  return {
    async handle(sender, channel, arg) {
      if (!opts.isTrustedSender(sender)) {
        log(`SR Studio: dropped a ${isRequestChannel(channel) ? channel : 'malformed'} request from an unknown sender.`);
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
        if (!isUserError(e) && !(e instanceof Error && e.constructor === Error)) log(`SR Studio: ${channel} failed:`, e);
        return { ok: false, error: errorMessage(e) };
      }
    },
  };
}
