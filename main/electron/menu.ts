/**
 * The app menu: File (Open images…, Open folder…, Quit), Edit, and View with one accelerator per
 * view. Menu actions reach the page as the `app:open` and `app:view` events.
 */
import type { Emit } from '../host/engine-host.ts';
import { VIEWS } from '../channels.ts';
import type { MenuItemOptions } from './electron-api.ts';

export interface MenuActions {
  readonly emit: Emit;
  readonly openImages: () => Promise<string[]>;
  readonly openFolder: () => Promise<string | null>;
  readonly isMac: boolean;
  readonly devTools: boolean;
}

export function menuTemplate(a: MenuActions): MenuItemOptions[] {
  const open = (pick: () => Promise<string[]>) => () =>
    void pick().then(
      (paths) => paths.length && a.emit('app:open', { paths }),
      (e: unknown) => console.error('SR Studio: the open dialog failed:', e),
    );
  const folder = async () => {
    const f = await a.openFolder();
    return f ? [f] : [];
  };
  const file: MenuItemOptions = {
    label: 'File',
    submenu: [
      { label: 'Open images…', accelerator: 'CmdOrCtrl+O', click: open(a.openImages) },
      { label: 'Open folder…', accelerator: 'CmdOrCtrl+Shift+O', click: open(folder) },
      { type: 'separator' },
      a.isMac ? { role: 'close' } : { role: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q' },
    ],
  };
  const view: MenuItemOptions = {
    label: 'View',
    submenu: [
      ...VIEWS.map(
        (v, i): MenuItemOptions => ({
          label: v.label,
          accelerator: `CmdOrCtrl+${i + 1}`,
          click: () => a.emit('app:view', { view: v.id }),
        }),
      ),
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      ...(a.devTools ? [{ role: 'toggleDevTools' }] : []),
    ],
  };
  return [...(a.isMac ? [{ role: 'appMenu' }] : []), file, { role: 'editMenu' }, view, { role: 'windowMenu' }];
}
