/**
 * `window.studio` for Electron, derived from the channel maps: one generic `request` that only lets
 * through the channels in REQUEST_CHANNELS, and `on` for the channels in EVENT_CHANNELS (listeners
 * get the payload only, never Electron's event object). The preload exposes this via contextBridge.
 */
import type { RequestFailure, StudioApi } from '../api.ts';
import { EVENT_CHANNELS, REQUEST_CHANNELS } from '../channels.ts';
import type { Reply } from '../host/router.ts';
import type { IpcRendererLike } from './electron-api.ts';

/** A failed request as an Error: its sentence, and a user error's code and facts beside it. */
export function failure(f: RequestFailure): Error & Omit<RequestFailure, 'error'> {
  return Object.assign(new Error(f.error), f.code !== undefined ? { code: f.code, facts: f.facts } : {});
}

/**
 * The failure as it crosses contextBridge, which copies an Error's message and nothing else: a
 * plain RequestFailure, made an Error again in the page (renderer/src/api/request-error.ts).
 */
export function crossing(e: unknown): RequestFailure {
  const o = e as Error & Omit<RequestFailure, 'error'>;
  const error = String(o?.message ?? e);
  return o?.code !== undefined && o.facts !== undefined ? { error, code: o.code, facts: o.facts } : { error };
}

export function createStudioApi(ipc: IpcRendererLike): StudioApi {
  const requests: ReadonlySet<string> = new Set(REQUEST_CHANNELS);
  const events: ReadonlySet<string> = new Set(EVENT_CHANNELS);
  return Object.freeze({
    mode: 'electron' as const,
    async request(channel, arg) {
      if (!requests.has(channel)) throw new Error(`Unknown request channel ${JSON.stringify(String(channel))}.`);
      const reply = (await ipc.invoke(channel, arg)) as Reply | undefined;
      if (!reply) throw new Error('The request was not answered.');
      if (!reply.ok) throw failure(reply);
      return reply.result as never;
    },
    on(channel, listener) {
      if (!events.has(channel)) throw new Error(`Unknown event channel ${JSON.stringify(String(channel))}.`);
      const wrapped = (_event: unknown, payload: unknown) => listener(payload as never);
      ipc.on(channel, wrapped);
      return () => void ipc.removeListener(channel, wrapped);
    },
  } satisfies StudioApi);
}
