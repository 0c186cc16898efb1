// Module hooks that let Node import the renderer's `.svelte.ts` state classes in tests: the file's
// TypeScript is stripped with esbuild, then Svelte compiles its runes ($state, $derived) as the
// app's build does (client output; no DOM is touched until something mounts).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { compileModule } from 'svelte/compiler';

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !/\.svelte\.ts$/.test(new URL(url).pathname)) return next(url, context);
  const filename = fileURLToPath(url);
  const ts = await readFile(filename, 'utf8');
  const { code } = await transform(ts, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: filename });
  const js = compileModule(code, { filename, generate: 'client', dev: false });
  return { format: 'module', source: js.js.code, shortCircuit: true };
}
