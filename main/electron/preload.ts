/**
 * The preload (sandboxed, so bundled to CommonJS by build.ts): exposes `window.studio` and nothing
 * else. Node and Electron objects never reach the page.
 */
import type { ElectronRenderer } from './electron-api.ts';
import type { StudioApi } from '../api.ts';
import { createStudioApi, crossing } from './studio-api.ts';

const { contextBridge, ipcRenderer, webUtils } = require('electron') as ElectronRenderer;

const api = createStudioApi(ipcRenderer);
// A failure crosses as a plain object (contextBridge keeps only an Error's message), so the page
// still gets its code and facts.
const request: StudioApi['request'] = (channel, arg) =>
  api.request(channel, arg).catch((e: unknown) => Promise.reject(crossing(e)));
// Since Electron 32 a dropped File has no .path: webUtils gives the path of a file the user dropped.
contextBridge.exposeInMainWorld('studio', {
  ...api,
  request,
  getPathForFile: (file: File) => webUtils.getPathForFile(file),
});
