/**
 * `window.studio` for Electron, derived from the channel maps: one generic `request` that only lets
 * through the channels in REQUEST_CHANNELS, and `on` for the channels in EVENT_CHANNELS (listeners
 * get the payload only, never Electron's event object). The preload exposes this via contextBridge.
 */
import type { StudioApi } from '../api.ts';
import { EVENT_CHANNELS, REQUEST_CHANNELS } from '../channels.ts';
import type { Reply } from '../host/router.ts';
import type { IpcRendererLike } from './electron-api.ts';

export function createStudioApi(ipc: IpcRendererLike): StudioApi {
  const requests: ReadonlySet<string> = new Set(REQUEST_CHANNELS);
  const events: ReadonlySet<string> = new Set(EVENT_CHANNELS);
  return Object.freeze({
    mode: 'electron' as const,
    async request(channel, arg) {
      if (!requests.has(channel)) throw new Error(`Unknown request channel ${JSON.stringify(String(channel))}.`);
      const reply = (await ipc.invoke(channel, arg)) as Reply | undefined;
      if (!reply) throw new Error('The request was not answered.');
      if (!reply.ok) throw new Error(reply.error);
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
