/**
 * A static Electron security review of main/ (the checklist from Electron's security guide), and the
 * packaging config at the repository root: what must be unpacked from the asar, and the targets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import config from '../../../electron.config.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MAIN = path.join(ROOT, 'main');

async function sources(dir: string): Promise<Array<{ file: string; text: string }>> {
  const out: Array<{ file: string; text: string }> = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'dist' && e.name !== 'node_modules') out.push(...(await sources(p)));
    else if (e.isFile() && /\.(ts|mts|cts|mjs|cjs|js|html)$/.test(e.name))
      out.push({ file: path.relative(ROOT, p), text: await fs.readFile(p, 'utf8') });
  }
  return out;
}

const read = (rel: string) => fs.readFile(path.join(ROOT, rel), 'utf8');

describe('Electron security review of main/', () => {
  test('no insecure webPreferences anywhere in main/', async () => {
    const banned = [
      /nodeIntegration\w*\s*:\s*true/,
      /contextIsolation\s*:\s*false/,
      /sandbox\s*:\s*false/,
      /webSecurity\s*:\s*false/,
      /allowRunningInsecureContent/,
      /enableRemoteModule/,
      /experimentalFeatures\s*:\s*true/,
      /webviewTag\s*:\s*true/,
      /enableBlinkFeatures/,
      /disable-web-security/,
    ];
    const files = await sources(MAIN);
    assert.ok(files.some((f) => f.file === path.join('main', 'electron', 'main.ts')));
    for (const { file, text } of files)
      for (const re of banned) assert.doesNotMatch(text, re, `${file} contains ${re}`);
  });

  test('the window is created with the locked-down webPreferences', async () => {
    const src = await read('main/electron/main.ts');
    const block = /const WEB_PREFERENCES: WebPreferences = \{([^}]*)\};/.exec(src)?.[1];
    assert.ok(block, 'main.ts declares WEB_PREFERENCES');
    const flags = Object.fromEntries(
      [...block.matchAll(/(\w+)\s*:\s*(true|false)/g)].map((m) => [m[1], m[2] === 'true']),
    );
    assert.deepEqual(
      {
        contextIsolation: flags.contextIsolation,
        sandbox: flags.sandbox,
        nodeIntegration: flags.nodeIntegration,
        webSecurity: flags.webSecurity,
      },
      { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
    );
    assert.match(block, /preload: PRELOAD/);
    assert.equal([...src.matchAll(/new Window\(/g)].length, 1, 'one BrowserWindow');
    assert.match(src, /webPreferences: WEB_PREFERENCES/);
    assert.match(src, /show: false/);
    assert.match(src, /once\('ready-to-show', \(\) => w\.show\(\)\)/);
    assert.match(src, /app\.enableSandbox\(\)/);
  });

  test('new windows are denied, navigation is blocked, only https goes out, permissions are refused', async () => {
    const src = await read('main/electron/main.ts');
    assert.match(src, /setWindowOpenHandler\(\(\{ url \}\) => \{[^}]*return \{ action: 'deny' \};/s);
    assert.match(src, /on\('will-navigate', block\)/);
    assert.match(src, /on\('will-attach-webview', \(event\) => event\.preventDefault\(\)\)/);
    assert.match(src, /const block = \(event[^=]*=> \{\s*event\.preventDefault\(\);/);
    for (const m of src.matchAll(/shell\.openExternal\(([^)]*)\)/g)) {
      const before = src.slice(Math.max(0, m.index - 80), m.index);
      assert.match(before, /isExternalLink\(url\)/, 'openExternal only after the https check');
    }
    assert.match(await read('main/electron/ipc.ts'), /protocol === 'https:'/);
    assert.match(src, /setPermissionRequestHandler\([^)]*\) => callback\(false\)\)/);
  });

  test('IPC goes through the router with the main-window sender check; the preload exposes only window.studio', async () => {
    const main = await read('main/electron/main.ts');
    assert.match(main, /createRouter\(host\.handlers, \{ isTrustedSender: isFromMainWindow\(\(\) => win\) \}\)/);
    assert.doesNotMatch(main, /ipcMain\.on\(/, 'no fire-and-forget channels');
    const preload = await read('main/electron/preload.ts');
    assert.deepEqual(
      [...preload.matchAll(/exposeInMainWorld\('(\w+)'/g)].map((m) => m[1]),
      ['studio'],
    );
    assert.doesNotMatch(
      await read('main/electron/studio-api.ts'),
      /return[^;]*\bipc\b\s*[,}]/,
      'ipcRenderer itself is never handed to the page',
    );
  });

  test('the page carries a CSP (renderer/index.html, when the renderer is there)', async (t) => {
    const html = await read('renderer/index.html').catch(() => undefined);
    if (html === undefined) return t.skip('renderer/index.html is not there yet');
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    assert.ok(csp, 'a CSP meta tag');
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
  });
});

describe('electron.config.ts', () => {
  test('native and wasm binaries are unpacked from the asar', () => {
    const unpack = config.asarUnpack as readonly string[];
    for (const pattern of [
      /sharp/,
      /@img/,
      /webgpu/,
      /onnxruntime-node/,
      /tfjs-backend-wasm.*\.wasm/,
      /tfjs-node-gpu/,
    ]) {
      assert.ok(
        unpack.some((u) => pattern.test(u)),
        `asarUnpack covers ${pattern}`,
      );
    }
  });

  test('targets: AppImage and deb, nsis, dmg', () => {
    assert.deepEqual([...config.linux.target].sort(), ['AppImage', 'deb']);
    assert.deepEqual([...config.win.target], ['nsis']);
    assert.deepEqual([...config.mac.target], ['dmg']);
  });

  test('the app files include what the packaged app runs', () => {
    const files = config.files as readonly string[];
    for (const f of ['main/**', 'ml/**', 'renderer/dist/**', 'assets/**', 'package.json'])
      assert.ok(files.includes(f), f);
  });
});
