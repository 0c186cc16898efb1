/**
 * `npm start`: the desktop app when Electron's binary is there (built first with build:electron),
 * otherwise one line saying so and browser mode instead (`npm run serve`, same options).
 *
 * Electron's binary is looked up as `require('electron')` would find it (node_modules/electron's
 * path.txt under dist/, or ELECTRON_OVERRIDE_DIST_PATH) without calling it: from Electron 40 on,
 * `require('electron')` downloads a missing binary on the spot, which this must never do.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  const electron = findElectronBinary(root);
  if (electron.ok) {
    process.exitCode = await launchElectron(root, electron.binary, argv);
    return;
  }
  console.log(`Electron's binary is missing (${electron.why}); starting SR Studio in browser mode instead.`);
  await serve(argv);
}

if (isEntry(import.meta.filename)) await start(process.argv.slice(2));
