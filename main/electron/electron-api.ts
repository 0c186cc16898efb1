/**
 * The part of Electron's API this app uses, typed here because the `electron` package (an optional
 * dependency that needs Node 22) may be absent where the sources are type-checked. The names and
 * shapes are Electron's own; only what main.ts, menu.ts and preload.ts call is listed.
 */

export interface WebPreferences {
  readonly preload: string;
  readonly contextIsolation: true;
  readonly sandbox: true;
  readonly nodeIntegration: false;
  readonly nodeIntegrationInWorker: false;
  readonly nodeIntegrationInSubFrames: false;
  readonly webSecurity: true;
  readonly webviewTag: false;
  readonly spellcheck: boolean;
}

export interface WebFrameMain {
  readonly url: string;
}

export interface WebContents {
  readonly mainFrame: WebFrameMain;
  send(channel: string, payload: unknown): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(
    event: 'will-navigate' | 'will-redirect',
    listener: (event: { preventDefault(): void }, url: string) => void,
  ): void;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void;
  isDestroyed(): boolean;
}

export interface BrowserWindow {
  readonly webContents: WebContents;
  show(): void;
  destroy(): void;
  isDestroyed(): boolean;
  loadFile(file: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): void;
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): void;
  on(event: 'closed', listener: () => void): void;
}

export interface IpcMainInvokeEvent {
  readonly sender: WebContents;
  readonly senderFrame: WebFrameMain | null;
}

export interface IpcMain {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, arg: unknown) => Promise<unknown>): void;
}

export interface MenuItemOptions {
  readonly label?: string;
  readonly role?: string;
  readonly type?: 'separator' | 'normal';
  readonly accelerator?: string;
  readonly click?: () => void;
  readonly submenu?: readonly MenuItemOptions[];
}

export interface ElectronMain {
  readonly app: {
    readonly isPackaged: boolean;
    whenReady(): Promise<void>;
    getPath(name: 'userData'): string;
    getVersion(): string;
    quit(): void;
    exit(code?: number): void;
    enableSandbox(): void;
    requestSingleInstanceLock(): boolean;
    on(event: 'window-all-closed' | 'second-instance', listener: () => void): void;
    on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): void;
    on(event: 'web-contents-created', listener: (event: unknown, contents: WebContents) => void): void;
  };
  readonly BrowserWindow: new (options: {
    width: number;
    height: number;
    minWidth: number;
    minHeight: number;
    show: false;
    title: string;
    backgroundColor: string;
    webPreferences: WebPreferences;
  }) => BrowserWindow;
  readonly ipcMain: IpcMain;
  readonly dialog: {
    showOpenDialog(
      window: BrowserWindow,
      options: { title?: string; properties: string[]; filters?: Array<{ name: string; extensions: string[] }> },
    ): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
  readonly shell: {
    openExternal(url: string): Promise<void>;
    showItemInFolder(fullPath: string): void;
  };
  readonly Menu: {
    buildFromTemplate(template: readonly MenuItemOptions[]): unknown;
    setApplicationMenu(menu: unknown): void;
  };
  readonly session: {
    readonly defaultSession: {
      setPermissionRequestHandler(
        handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void,
      ): void;
    };
  };
}

export interface ElectronRenderer {
  readonly contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  readonly ipcRenderer: IpcRendererLike;
  readonly webUtils: { getPathForFile(file: File): string };
}

export interface IpcRendererLike {
  invoke(channel: string, arg: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}
