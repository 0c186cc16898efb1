/**
 * `npm run build:electron`: bundles the Electron main process and preload with esbuild into
 * main/electron/dist/ (git-ignored). Both are CommonJS: Electron loads a main script given by path
 * as CommonJS, and a sandboxed preload must be one CommonJS file. Packages stay external for main
 * (sharp and the rest load from node_modules); the engine worker runs the TypeScript sources via tsx.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { findAppRoot } from '../host/host.ts';
import { isEntry } from '../is-entry.ts';

export function electronOutDir(root: string): string {
  return path.join(root, 'main', 'electron', 'dist');
}

export async function buildElectron(
  root = findAppRoot(import.meta.dirname),
): Promise<{ main: string; preload: string }> {
  const src = path.join(root, 'main', 'electron');
  const out = electronOutDir(root);
  const main = path.join(out, 'main.cjs');
  const preload = path.join(out, 'preload.cjs');
  await Promise.all([
    build({
      entryPoints: [path.join(src, 'main.ts')],
      outfile: main,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      packages: 'external',
      // The sources are ESM: give them import.meta.url/dirname in the CommonJS bundle.
      define: { 'import.meta.url': '__importMetaUrl', 'import.meta.dirname': '__dirname' },
      banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
      sourcemap: 'linked',
      logLevel: 'warning',
    }),
    build({
      entryPoints: [path.join(src, 'preload.ts')],
      outfile: preload,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
      logLevel: 'warning',
    }),
  ]);
  return { main, preload };
}

if (isEntry(import.meta.filename)) {
  const { main, preload } = await buildElectron();
  console.log(`Built ${path.relative(process.cwd(), main)} and ${path.relative(process.cwd(), preload)}.`);
}
