/**
 * Electron's side of the channel registry, kept free of `electron` imports so it can be tested in
 * plain Node: one ipcMain.handle per request channel, every call going through the router, and the
 * sender check that drops IPC from any webContents or frame other than the main window's own.
 */
import { REQUEST_CHANNELS } from '../channels.ts';
import type { Router } from '../host/router.ts';
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from './electron-api.ts';

/** True only for IPC from the main frame of the main window's webContents. */
export function isFromMainWindow(getWindow: () => BrowserWindow | null) {
  return (sender: unknown): boolean => {
    const win = getWindow();
    if (!win || win.isDestroyed() || typeof sender !== 'object' || sender === null) return false;
    const e = sender as Partial<IpcMainInvokeEvent>;
    return e.sender === win.webContents && e.senderFrame != null && e.senderFrame === win.webContents.mainFrame;
  };
}

/** Registers every request channel; the router answers `{ok, result | error}` (undefined when dropped). */
export function registerIpc(ipcMain: IpcMain, router: Router): void {
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event, arg) => router.handle(event, channel, arg));
  }
}

/** Only https links leave the app, and only to the system browser. */
export function isExternalLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}
