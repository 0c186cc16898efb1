// tfjs-core's Node entry registers no gradients and its ESM sources cannot be imported by Node
// directly, so bundle its gradient registrations once into a CommonJS module next to the engine.
// They register into tfjs's global registry, shared with the @tensorflow/tfjs-core instance in use.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
await build({
  entryPoints: [path.join(root, 'dist/register_all_gradients.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  outfile: path.join(import.meta.dirname, '../ml/node/generated/tfjs-gradients.cjs'),
  logLevel: 'warning',
});
