/**
 * `npm start` and `npm run serve` as users run them: without Electron's binary, start prints one
 * line saying so and then browser mode's one line with the address; the address works; SIGTERM
 * stops it cleanly. Also the Electron binary lookup on fake installs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { findElectronBinary, staleInterface } from '../../main/start.ts';
import { tempDir } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const URL_LINE = /^SR Studio is running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43})$/;
let dir = '';

before(async () => {
  dir = await tempDir();
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Starts a script; resolves with the child once `lines` stdout lines have arrived. */
function launch(
  script: string,
  args: string[],
  lines: number,
): Promise<{ child: ChildProcess; out: () => string[]; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, SR_STUDIO_DATA: path.join(dir, 'data'), SR_STUDIO_MODELS: path.join(dir, 'models') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const out = () => stdout.split('\n').filter(Boolean);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`timed out; stdout:\n${stdout}\nstderr:\n${stderr}`))),
      60_000,
    );
    const check = () => {
      if (out().length >= lines) {
        clearTimeout(timer);
        resolve({ child, out, err: () => stderr, exit });
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), check()));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    void exit.then(
      (code) => (
        clearTimeout(timer),
        out().length >= lines || reject(new Error(`exited ${code} early; stdout:\n${stdout}\nstderr:\n${stderr}`))
      ),
    );
  });
}

describe('npm start / npm run serve', () => {
  test('start without Electron: one line about it, then the browser-mode address', async () => {
    const run = await launch('main/start.ts', ['--no-open', '--backend', 'cpu'], 2);
    try {
      const [first, second] = run.out();
      assert.match(first!, /^Electron's binary is missing \(.+\); starting SR Studio in browser mode instead\.$/);
      const url = URL_LINE.exec(second!)?.[1];
      assert.ok(url, String(second));
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.ok(res.headers.get('content-security-policy'));
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exit, 0);
    assert.equal(run.out().length, 2, 'nothing else on stdout');
  });

  test('serve prints exactly one line; bad options are one message and exit 2', async () => {
    const run = await launch('main/server/cli.ts', ['--no-open', '--port', '0', '--backend', 'cpu'], 1);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);
    assert.equal(run.out().length, 1);
    assert.match(run.out()[0]!, URL_LINE);

    const bad = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'main/server/cli.ts'), '--port', '99999'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((r) => bad.on('close', r));
    assert.equal(code, 2);
    assert.match(stderr, /^--port must be a whole number from 0 to 65535, not "99999"\.\nUsage: npm run serve/);
  });
});

describe('finding Electron’s binary without downloading it', () => {
  async function fakeRoot(name: string, withPathTxt: boolean, withBinary: boolean): Promise<string> {
    const root = path.join(dir, name);
    const pkg = path.join(root, 'node_modules', 'electron');
    await fs.mkdir(path.join(pkg, 'dist'), { recursive: true });
    await fs.writeFile(path.join(root, 'package.json'), '{"name":"sr-studio"}');
    await fs.writeFile(path.join(pkg, 'package.json'), '{"name":"electron","main":"index.js"}');
    await fs.writeFile(path.join(pkg, 'index.js'), 'throw new Error("must not be required: it would download")');
    if (withPathTxt) await fs.writeFile(path.join(pkg, 'path.txt'), 'electron');
    if (withBinary) await fs.writeFile(path.join(pkg, 'dist', 'electron'), '');
    return root;
  }

  test('installed with its binary', async () => {
    const root = await fakeRoot('full', true, true);
    assert.deepEqual(findElectronBinary(root, {}), {
      ok: true,
      binary: path.join(root, 'node_modules', 'electron', 'dist', 'electron'),
    });
  });

  test('installed without its binary, and not installed', async () => {
    for (const [name, txt] of [
      ['nobin', true],
      ['nopath', false],
    ] as const) {
      const r = findElectronBinary(await fakeRoot(name, txt, false), {});
      assert.ok(!r.ok && /npx install-electron/.test(r.why), JSON.stringify(r));
    }
    const bare = path.join(dir, 'bare');
    await fs.mkdir(bare);
    const r = findElectronBinary(bare, {});
    assert.ok(!r.ok && /not installed/.test(r.why));
  });
});

describe('the user interface is built again when its sources changed', () => {
  /** A source checkout's files that the bundle is built from, and the bundle, each with its own time. */
  async function checkout(times: Record<string, number>): Promise<string> {
    const root = await fs.mkdtemp(path.join(dir, 'checkout-'));
    for (const [file, seconds] of Object.entries(times)) {
      const p = path.join(root, file);
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, '');
      await fs.utimes(p, seconds, seconds);
    }
    return root;
  }
  const sources = { 'renderer/src/App.svelte': 1000, 'main/api.ts': 1000, 'ml/metrics.ts': 1000 };

  test('a bundle newer than every source is current', async () => {
    assert.equal(staleInterface(await checkout({ ...sources, 'renderer/dist/index.html': 2000 })), null);
  });

  test('a missing bundle, or a source edited after it, makes it stale', async () => {
    assert.equal(staleInterface(await checkout(sources)), 'it has not been built yet');
    for (const edited of ['renderer/src/views/Train.svelte', 'main/api.ts', 'ml/train/config.ts']) {
      const root = await checkout({ ...sources, 'renderer/dist/index.html': 2000, [edited]: 3000 });
      assert.equal(staleInterface(root), 'its sources changed since it was built', edited);
    }
  });

  test('Node-only engine code and installed apps never make it stale', async () => {
    const root = await checkout({ ...sources, 'renderer/dist/index.html': 2000, 'ml/node/upscaler.ts': 3000 });
    assert.equal(staleInterface(root), null, 'ml/node is not in the bundle');
    const installed = await checkout({ 'renderer/dist/index.html': 2000, 'main/api.ts': 3000 });
    assert.equal(staleInterface(installed), null, 'no renderer/src: an installed app');
  });
});
