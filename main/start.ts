/**
 * `npm start`: the desktop app when Electron's binary is there (built first with build:electron),
 * otherwise one line saying so and browser mode instead (`npm run serve`, same options).
 *
 * Electron's binary is looked up as `require('electron')` would find it (node_modules/electron's
 * path.txt under dist/, or ELECTRON_OVERRIDE_DIST_PATH) without calling it: from Electron 40 on,
 * `require('electron')` downloads a missing binary on the spot, which this must never do.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildElectron } from './electron/build.ts';
import { findAppRoot } from './host/host.ts';
import { serve } from './server/cli.ts';
import { isEntry } from './is-entry.ts';

export type ElectronLookup = { ok: true; binary: string } | { ok: false; why: string };

export function findElectronBinary(root: string, env: NodeJS.ProcessEnv = process.env): ElectronLookup {
  let dir: string;
  try {
    dir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('electron/package.json'));
  } catch {
    return {
      ok: false,
      why: 'the electron package is not installed: it needs Node.js 22.12 or later, then "npm install"',
    };
  }
  const pathFile = path.join(dir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH
    ? path.join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron')
    : rel
      ? path.join(dir, 'dist', rel)
      : '';
  if (!binary || !existsSync(binary))
    return { ok: false, why: 'download it with "npx install-electron", which needs access to github.com' };
  return { ok: true, binary };
}

/** Where the user interface's bundle comes from: its own sources, the API's types and the platform-free engine. */
const UI_SOURCES = ['renderer/src', 'renderer/index.html', 'main/api.ts', 'ml'];

/** The newest modification time (ms) of the files under `p` (a file or a folder), leaving out `skip` folders' names. */
function newest(p: string, skip: ReadonlySet<string>): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) if (!skip.has(e)) t = Math.max(t, newest(path.join(p, e), skip));
  return t;
}

/**
 * Why the user interface must be built before it is served, or null when its bundle is current:
 * in a source checkout (renderer/src is there), renderer/dist/index.html is missing or older than a
 * file it is built from (after a `git pull` without `npm install`, or an edit). An installed app
 * has no sources and is never rebuilt.
 */
export function staleInterface(root: string): string | null {
  if (!existsSync(path.join(root, 'renderer', 'src'))) return null;
  const built = newest(path.join(root, 'renderer', 'dist', 'index.html'), new Set());
  if (!built) return 'it has not been built yet';
  const skip = new Set(['node', 'generated', 'node_modules', 'dist']);
  const changed = Math.max(...UI_SOURCES.map((s) => newest(path.join(root, s), skip)));
  return changed > built ? 'its sources changed since it was built' : null;
}

/** Builds the user interface when `staleInterface` says so, saying why in one line; false when the build failed. */
function buildInterfaceIfStale(root: string): boolean {
  const why = staleInterface(root);
  if (!why) return true;
  console.log(`Building the user interface first (${why})…`);
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status === 0) return true;
  console.error('The user interface could not be built: run "npm install", then "npm start" again.');
  return false;
}

async function launchElectron(root: string, binary: string, argv: string[]): Promise<number> {
  const { main } = await buildElectron(root);
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(binary, [main, ...argv], { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve) => {
    child.on('error', (e) => {
      console.error(`Electron could not be started (${e.message}).`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function start(argv: string[]): Promise<void> {
  const root = findAppRoot(import.meta.dirname);
  if (!buildInterfaceIfStale(root)) {
    process.exitCode = 1;
    return;
  }
  const electron = findElectronBinary(root);
  if (electron.ok) {
    process.exitCode = await launchElectron(root, electron.binary, argv);
    return;
  }
  console.log(`Electron's binary is missing (${electron.why}); starting SR Studio in browser mode instead.`);
  await serve(argv);
}

if (isEntry(import.meta.filename)) await start(process.argv.slice(2));
