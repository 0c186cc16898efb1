import { BrowserClient, connectBrowser } from './browser-client.ts';
import { requestError } from './request-error.ts';
import type { StudioApi } from './types.ts';

/**
 * What the Electron preload may add beside `StudioApi`: since Electron 32 a dropped File has no
 * `.path`, so a preload can expose `webUtils.getPathForFile`. Optional; without it, drops upload.
 */
export interface PreloadExtras {
  getPathForFile?(file: File): string;
}

declare global {
  interface Window {
    studio?: StudioApi & PreloadExtras;
  }
}

export function pickApi(): StudioApi & PreloadExtras {
  const studio = window.studio;
  if (!studio) return connectBrowser();
  // The preload's failures arrive as plain objects (see main/electron/preload.ts): Errors again here.
  const request: StudioApi['request'] = (channel, arg) =>
    studio.request(channel, arg).catch((e: unknown) => Promise.reject(requestError(e)));
  return { ...studio, request };
}

/** The local path of a dropped file when the app can know it (Electron), else null. */
export function localPathOf(api: StudioApi & PreloadExtras, file: File): string | null {
  if (api.mode !== 'electron') return null;
  try {
    const p = api.getPathForFile?.(file) ?? (file as File & { path?: string }).path;
    return p ? p : null;
  } catch {
    return null;
  }
}

/** A link that downloads a file the server wrote (browser mode only; the session cookie authenticates it). */
export function downloadUrl(path: string): string {
  return `/file?path=${encodeURIComponent(path)}&download=1`;
}

export { BrowserClient };
