// A stand-in for Electron's main-process API, loaded with --require before the built main.cjs:
// it records what the app asks of Electron, drives one scenario (IPC, navigation, menu, quit) and
// prints a JSON report on its last stdout line. Only what main.ts uses is faked.
'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const report = {
  windows: [],
  shown: false,
  opened: [],
  sent: [],
  replies: {},
  navigation: {},
  menu: [],
  quit: false,
  permissions: null,
};
const appListeners = {};
const ipcHandlers = new Map();
let resolveReady;
const ready = new Promise((r) => (resolveReady = r));
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-studio-fake-electron-'));
fs.writeFileSync(path.join(userData, 'settings.json'), JSON.stringify({ backend: 'cpu' }));

class WebContents {
  constructor() {
    this.mainFrame = { url: 'file:///index.html' };
    this.listeners = {};
  }
  send(channel, payload) {
    report.sent.push({ channel, payload });
  }
  setWindowOpenHandler(h) {
    this.openHandler = h;
  }
  on(event, l) {
    this.listeners[event] = l;
  }
  isDestroyed() {
    return false;
  }
}

class BrowserWindow {
  constructor(options) {
    this.options = options;
    this.webContents = new WebContents();
    this.listeners = {};
    report.windows.push({ webPreferences: options.webPreferences, show: options.show });
    for (const l of appListeners['web-contents-created'] ?? []) l({}, this.webContents);
    setTimeout(() => void scenario(this), 0);
  }
  show() {
    report.shown = true;
  }
  destroy() {}
  isDestroyed() {
    return false;
  }
  async loadFile(file) {
    report.loaded = file;
  }
  once(event, l) {
    this.listeners[event] = l;
  }
  on(event, l) {
    this.listeners[event] = l;
  }
}

const electron = {
  app: {
    isPackaged: false,
    whenReady: () => (resolveReady(), ready),
    getPath: () => userData,
    getVersion: () => '0.0.0',
    quit() {
      report.quit = true;
      process.stdout.write(JSON.stringify(report) + '\n');
      fs.rmSync(userData, { recursive: true, force: true });
      process.exit(0);
    },
    exit(code) {
      process.exit(code);
    },
    enableSandbox() {
      report.enableSandbox = true;
    },
    requestSingleInstanceLock: () => true,
    on(event, l) {
      (appListeners[event] ??= []).push(l);
    },
  },
  BrowserWindow,
  ipcMain: { handle: (channel, l) => ipcHandlers.set(channel, l) },
  dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
  shell: { openExternal: async (url) => void report.opened.push(url), showItemInFolder() {} },
  Menu: { buildFromTemplate: (t) => t, setApplicationMenu: (m) => void (report.menu = m) },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h) => h(null, 'camera', (granted) => (report.permissions = granted)),
    },
  },
};

const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'electron' ? electron : load.call(this, request, ...rest);
};

async function scenario(win) {
  win.listeners['ready-to-show']?.();
  const own = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  const stranger = { sender: new WebContents(), senderFrame: { url: 'https://evil.example/' } };
  const call = (channel, event, arg) => ipcHandlers.get(channel)(event, arg);
  report.channels = [...ipcHandlers.keys()];
  report.replies.curves = await call('activations:curves', own, { names: ['relu'], xMin: -1, xMax: 1, points: 3 });
  report.replies.stranger =
    (await call('activations:curves', stranger, { names: ['relu'], xMin: -1, xMax: 1, points: 3 })) ?? null;
  report.replies.bad = await call('image:load', own, { path: 'relative.png' });
  report.replies.status = await call('app:status', own, undefined);
  const wc = win.webContents;
  report.navigation.httpsPopup = wc.openHandler({ url: 'https://example.com/' });
  report.navigation.filePopup = wc.openHandler({ url: 'file:///etc/passwd' });
  let prevented = 0;
  wc.listeners['will-navigate']({ preventDefault: () => prevented++ }, 'https://example.org/');
  wc.listeners['will-navigate']({ preventDefault: () => prevented++ }, 'file:///etc/passwd');
  wc.listeners['will-attach-webview']({ preventDefault: () => prevented++ });
  report.navigation.prevented = prevented;
  const view = report.menu.find((m) => m.label === 'View');
  view.submenu.find((i) => i.label === 'Train').click();
  report.menu = report.menu.map((m) => ({
    label: m.label ?? m.role,
    items: (m.submenu ?? []).map((i) => ({ label: i.label ?? i.role ?? i.type, accelerator: i.accelerator })),
  }));
  let quitPrevented = false;
  for (const l of appListeners['before-quit'] ?? []) l({ preventDefault: () => (quitPrevented = true) });
  report.quitPrevented = quitPrevented; // the engine is closed first, then app.quit() is called again
}
