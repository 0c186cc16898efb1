/**
 * Electron's main process (bundled by build.ts to main/electron/dist/main.cjs): one window, locked
 * down (context isolation, sandbox, no Node in the page, web security on, no new windows, no
 * navigation, https links to the system browser), the app menu, and the IPC wiring to the host.
 * Closing the window while a job runs cancels it first, so a training run saves its checkpoint.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import type { Emit } from '../host/engine-host.ts';
import { createHost, findAppRoot, type Host } from '../host/host.ts';
import { createRouter } from '../host/router.ts';
import type { BrowserWindow, ElectronMain, WebContents, WebPreferences } from './electron-api.ts';
import { isExternalLink, isFromMainWindow, registerIpc } from './ipc.ts';
import { menuTemplate } from './menu.ts';

const {
  app,
  BrowserWindow: Window,
  dialog,
  ipcMain,
  Menu,
  session,
  shell,
} = createRequire(import.meta.url)('electron') as ElectronMain;

const ROOT = findAppRoot(import.meta.dirname);
const RENDERER = path.join(ROOT, 'renderer', 'dist', 'index.html');
const PRELOAD = path.join(ROOT, 'main', 'electron', 'dist', 'preload.cjs');
const WORKER = pathToFileURL(path.join(ROOT, 'main', 'engine', 'worker-entry.mjs'));

const WEB_PREFERENCES: WebPreferences = {
  preload: PRELOAD,
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  webviewTag: false,
  spellcheck: false,
};

let win: BrowserWindow | null = null;
let host: Host | undefined;
let shutdown: Promise<void> | undefined;

const emit: Emit = (channel, payload) => {
  if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
};

async function openImages(): Promise<string[]> {
  if (!win) return [];
  const r = await dialog.showOpenDialog(win, {
    title: 'Open images',
    properties: ['openFile', 'multiSelections'],
    filters: [{ name: 'Images', extensions: [...IMAGE_EXTENSIONS] }],
  });
  return r.canceled ? [] : r.filePaths;
}

async function openFolder(title = 'Open folder'): Promise<string | null> {
  if (!win) return null;
  const r = await dialog.showOpenDialog(win, { title, properties: ['openDirectory', 'createDirectory'] });
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

/** Every webContents: no new windows (https links go to the browser), no navigation, no webviews. */
function lockDown(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  const block = (event: { preventDefault(): void }, url: string) => {
    event.preventDefault();
    if (isExternalLink(url)) void shell.openExternal(url);
  };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function createWindow(): BrowserWindow {
  const w = new Window({
    width: 1280,
    height: 840,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'SR Studio',
    backgroundColor: '#1e1e1e',
    webPreferences: WEB_PREFERENCES,
  });
  w.once('ready-to-show', () => w.show());
  w.on('close', (event) => {
    if (!host?.context.engine.busy || shutdown) return;
    // A job is running: cancel it (training saves a checkpoint), then close.
    event.preventDefault();
    void stopEngine().finally(() => w.destroy());
  });
  w.on('closed', () => {
    if (win === w) win = null;
  });
  void w.loadFile(RENDERER);
  return w;
}

function stopEngine(): Promise<void> {
  shutdown ??= host ? host.close() : Promise.resolve();
  return shutdown;
}

async function onReady(): Promise<void> {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  host = await createHost({
    dataDir: app.getPath('userData'),
    appRoot: ROOT,
    emit,
    workerUrl: WORKER,
    dialogs: { openImages, openFolder },
    shell: { reveal: async (p) => shell.showItemInFolder(p) },
  });
  registerIpc(ipcMain, createRouter(host.handlers, { isTrustedSender: isFromMainWindow(() => win) }));
  const template = menuTemplate({
    emit,
    openImages,
    openFolder: () => openFolder(),
    isMac: process.platform === 'darwin',
    devTools: !app.isPackaged,
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  win = createWindow();
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.enableSandbox();
  app.on('web-contents-created', (_event, contents) => lockDown(contents));
  app.on('second-instance', () => win?.show());
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (shutdown) return;
    event.preventDefault();
    void stopEngine().finally(() => app.quit());
  });
  app
    .whenReady()
    .then(onReady)
    .catch((e: unknown) => {
      console.error('SR Studio could not start:', e);
      app.exit(1);
    });
}
