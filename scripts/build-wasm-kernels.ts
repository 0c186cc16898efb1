/**
 * Assembles the project's WebAssembly kernels (ml/kernels/wasm/source.ts) with the `wabt` package and
 * writes their bytes into ml/kernels/wasm/bytes.ts (base64), which the engine loads: the engine never
 * needs wabt at run time. `npm run build:wasm`; test/ml/kernels/wasm-bytes.test.ts checks that the
 * committed bytes are what the source assembles to.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assembleKernels, bytesModule } from '../ml/kernels/wasm/assemble.ts';

const out = path.join(import.meta.dirname, '../ml/kernels/wasm/bytes.ts');
const bytes = await assembleKernels();
await writeFile(out, bytesModule(bytes));
console.log(`${path.relative(process.cwd(), out)}: ${bytes.length} bytes`);
