/**
 * The preload (sandboxed, so bundled to CommonJS by build.ts): exposes `window.studio` and nothing
 * else. Node and Electron objects never reach the page.
 */
import type { ElectronRenderer } from './electron-api.ts';
import { createStudioApi } from './studio-api.ts';

const { contextBridge, ipcRenderer, webUtils } = require('electron') as ElectronRenderer;

// Since Electron 32 a dropped File has no .path: webUtils gives the path of a file the user dropped.
contextBridge.exposeInMainWorld('studio', { ...createStudioApi(ipcRenderer), getPathForFile: (file: File) => webUtils.getPathForFile(file) });
