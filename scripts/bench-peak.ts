import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from '../ml/kernels/wasm/bytes.ts';
import { ProtoWriter } from '../ml/onnx/protobuf.ts';

/**
 * This machine's floating-point peak, measured in the benchmark's own run (scripts/bench.ts):
 * - the WebAssembly SIMD multiply-add loop of the project's kernels (`peak` in ml/kernels/wasm/source.ts)
 *   on several threads at once: the ceiling of any code in WebAssembly (4 lanes, no fused multiply-add),
 *   XNNPACK's included;
 * - XNNPACK's own matrix product on the wasm backend, one thread;
 * - native single-precision matrix products: ONNX Runtime's MatMul (its MLAS kernels use AVX2 or
 *   AVX-512 with fused multiply-add), on the same threads.
 */

/** Float operations per round of the `peak` loop: 12 chains × 4 lanes × (multiply + add). */
const FLOPS_PER_ROUND = 96;

/**
 * Each thread instantiates the kernels, runs the loop until V8's optimising compiler has taken over
 * (wasm starts in a baseline compiler), then, on a common signal, for `ms` milliseconds.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const k = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }).exports;
const ROUNDS = 100000;
const warm = performance.now();
while (performance.now() - warm < 400) k.peak(ROUNDS);
parentPort.postMessage('ready');
parentPort.once('message', () => {
  let rounds = 0;
  const t = performance.now();
  while (performance.now() - t < workerData.ms) { k.peak(ROUNDS); rounds += ROUNDS; }
  parentPort.postMessage(${FLOPS_PER_ROUND} * rounds / ((performance.now() - t) / 1000) / 1e9);
});
`;

/** GFLOP/s of the wasm SIMD multiply-add loop on each of `threads` threads running at once. */
export async function wasmSimdPeak(threads: number, ms = 1000): Promise<number[]> {
  const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes, ms } }));
  try {
    const next = (w: Worker) =>
      new Promise<unknown>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
    await Promise.all(workers.map(next));
    const results = workers.map(next);
    for (const w of workers) w.postMessage('go');
    return (await Promise.all(results)) as number[];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** GFLOP/s of XNNPACK's matrix product (1024³) on the active tfjs backend, best of 5. */
export async function backendMatMul(n = 1024): Promise<number> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    if (i > 0) best = Math.min(best, performance.now() - t);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

/** An ONNX model of one [n, n] × [n, n] MatMul with the second operand constant. */
function matMulModel(n: number): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8).string(2, 'sr-studio bench');
  w.message(7, (g) => {
    g.message(1, (node) => node.string(1, 'a').string(1, 'b').string(2, 'c').string(3, 'matmul').string(4, 'MatMul'));
    g.string(2, 'matmul');
    const data = new Float32Array(n * n).map((_, i) => Math.sin(i) * 0.01);
    g.message(5, (t) => t.int(1, n).int(1, n).int(2, 1).string(8, 'b').bytes(9, new Uint8Array(data.buffer)));
    const info = (field: number, name: string) =>
      g.message(field, (v) =>
        v
          .string(1, name)
          .message(2, (ty) =>
            ty.message(1, (tt) =>
              tt.int(1, 1).message(2, (s) => s.message(1, (d) => d.int(1, n)).message(1, (d) => d.int(1, n))),
            ),
          ),
      );
    info(11, 'a');
    info(12, 'c');
  });
  w.message(8, (o) => o.string(1, '').int(2, 17));
  return w.finish();
}

/** GFLOP/s of ONNX Runtime's native MatMul (2048³) on `threads` threads, best of 5; undefined without it. */
export async function nativeMatMul(threads: number, n = 2048): Promise<number | undefined> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    return undefined;
  }
  const session = await ort.InferenceSession.create(matMulModel(n), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
  const a = new ort.Tensor(
    'float32',
    new Float32Array(n * n).map((_, i) => Math.cos(i)),
    [n, n],
  );
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const out = await session.run({ a });
    if (i > 0) best = Math.min(best, performance.now() - t);
    out.c!.dispose();
  }
  await session.release();
  return (2 * n ** 3) / (best / 1000) / 1e9;
}
