/**
 * The Electron build for real: build:electron's bundles, then the main bundle run in plain Node
 * against a fake `electron` module (Electron's binary cannot be downloaded here). It must create one
 * locked-down window, register every channel, answer its own window and drop others, keep
 * navigation in, switch views from the menu, and close the engine before quitting.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { REQUEST_CHANNELS } from '../../../main/channels.ts';
import { buildElectron } from '../../../main/electron/build.ts';
import { tempDir } from '../helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
let built: { main: string; preload: string };

before(async () => {
  built = await buildElectron(ROOT);
});

async function runMain(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const models = await tempDir();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--require', path.join(import.meta.dirname, 'fake-electron.cjs'), built.main],
      {
        env: { ...process.env, SR_STUDIO_MODELS: models },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      void fs.rm(models, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Electron main bundle', () => {
  test('build:electron writes CommonJS main and preload bundles', async () => {
    const preload = await fs.readFile(built.preload, 'utf8');
    assert.match(preload, /require\("electron"\)/);
    assert.match(preload, /exposeInMainWorld\("studio"/);
    assert.doesNotMatch(preload, /^import /m, 'a sandboxed preload must be CommonJS');
    const main = await fs.readFile(built.main, 'utf8');
    assert.doesNotMatch(main, /import\.meta/);
    assert.ok(built.main.startsWith(path.join(ROOT, 'main', 'electron', 'dist')));
  });

  test('runs against a fake Electron: one locked-down window, IPC, navigation, menu, quit', async () => {
    const r = await runMain();
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
    const report = JSON.parse(last);
    assert.equal(report.windows.length, 1);
    const prefs = report.windows[0].webPreferences;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.webSecurity, true);
    assert.equal(prefs.preload, built.preload);
    assert.equal(report.windows[0].show, false, 'shown on ready-to-show, not before');
    assert.equal(report.shown, true);
    assert.equal(report.enableSandbox, true);
    assert.equal(report.permissions, false, 'permission requests are denied');
    assert.equal(report.loaded, path.join(ROOT, 'renderer', 'dist', 'index.html'));

    assert.deepEqual([...report.channels].sort(), [...REQUEST_CHANNELS].sort());
    assert.deepEqual(report.replies.curves.result.relu.f, [0, 0, 1]);
    assert.equal(report.replies.stranger, null, 'IPC from another webContents is dropped');
    const said = 'path must be an absolute path, not "relative.png".';
    // The sentence, with the refusal's code and facts beside it (the field it is about).
    assert.deepEqual(report.replies.bad, {
      ok: false,
      error: said,
      code: 'bad-argument',
      facts: { said, field: 'path' },
    });
    assert.equal(report.replies.status.ok, true, JSON.stringify(report.replies.status));
    assert.equal(report.replies.status.result.backend.upscale.name, 'cpu');
    assert.equal(report.replies.status.result.backend.train.name, 'cpu');

    assert.deepEqual(report.navigation.httpsPopup, { action: 'deny' });
    assert.deepEqual(report.navigation.filePopup, { action: 'deny' });
    assert.equal(report.navigation.prevented, 3);
    assert.deepEqual(
      report.opened,
      ['https://example.com/', 'https://example.org/'],
      'only https links go to the browser',
    );

    const file = report.menu.find((m: { label: string }) => m.label === 'File');
    assert.deepEqual(
      file.items.map((i: { label: string }) => i.label),
      ['Open images…', 'Open folder…', 'separator', 'Quit'],
    );
    const view = report.menu.find((m: { label: string }) => m.label === 'View');
    assert.deepEqual(
      view.items.slice(0, 5).map((i: { accelerator: string }) => i.accelerator),
      ['CmdOrCtrl+1', 'CmdOrCtrl+2', 'CmdOrCtrl+3', 'CmdOrCtrl+4', 'CmdOrCtrl+5'],
    );
    assert.deepEqual(
      report.sent.filter((s: { channel: string }) => s.channel === 'app:view'),
      [{ channel: 'app:view', payload: { view: 'train' } }],
    );
    assert.equal(report.quitPrevented, true, 'quitting waits for the engine to stop');
    assert.equal(report.quit, true);
  });
});
