/**
 * Benchmarks, every figure measured in this one run, on every available backend:
 *
 *   npm run bench [-- --backends cpu,wasm,webgpu] [--presets tiny,light,standard] [--budget 10]
 *       inference of one 256×256 image (--size) per preset, TanhExp and Swish, and their ratio;
 *       (`onnx` is ONNX Runtime on the same weights, exported in memory);
 *   npm run bench -- --mode cpu [--presets …] [--size 256]
 *       the CPU paths on the same weights (ReLU, Swish and TanhExp): our upscaling path as `upscale`
 *       runs it (auto's choice on this machine, with its tiling and layout conversion), ONNX
 *       Runtime's own session.run on a ready NCHW tensor, and tfjs-wasm; with the ratios;
 *   npm run bench -- --mode train [--batch 16] [--patch 48] [--threads N]
 *       one training step (the trainer's own: forward, backward, clipping, Adam; on CPU backends
 *       split across 1 + N threads, default one per core) per preset, TanhExp and Swish, with the
 *       effective GFLOP/s (6 × parameters × batch × LR pixels / step time) beside the rate of a
 *       forward 3×3 conv of the same activation size (batch × patch² × 64 → 64) on that backend.
 *
 * Each configuration gets one warm-up pass, then repeats until `budget` seconds or 5 runs; the
 * median is reported (a configuration slower than the budget reports its one warm-up run).
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import type { ActivationName } from '../ml/activations.ts';
import { initialWeights, Network, PRESET_NAMES, presetConfig, type PresetName } from '../ml/network.ts';
import { chooseBackend } from '../ml/backend-choice.ts';
import { initBackend, probeBackends } from '../ml/node/backends.ts';
import { OnnxUpscaler } from '../ml/node/onnx-runtime.ts';
import { openUpscaler } from '../ml/node/upscaler.ts';
import { exportOnnx } from '../ml/onnx/export.ts';
import { upscaleImage } from '../ml/tiling.ts';
import { defaultThreads, GradientWorkers } from '../ml/node/grad-workers.ts';
import { Adam } from '../ml/train/adam.ts';
import { makeTrainConfig } from '../ml/train/config.ts';
import { trainStep } from '../ml/train/trainer.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string' },
    presets: { type: 'string', default: PRESET_NAMES.join(',') },
    size: { type: 'string', default: '256' },
    budget: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'infer' },
    threads: { type: 'string' },
    batch: { type: 'string', default: '16' },
    patch: { type: 'string', default: '48' },
    json: { type: 'boolean' },
  },
});
const size = Number(values.size);
const mode = values.mode === 'train' || values.mode === 'cpu' ? values.mode : 'infer';
const batch = Number(values.batch);
const patch = Number(values.patch);
/** Helper threads for data-parallel training steps (default: one per extra core on CPU backends). */
const threads = (b: string) => (values.threads === undefined ? defaultThreads(b) : Number(values.threads));
const budgetMs = Number(values.budget) * 1000;
const presets = values.presets!.split(',') as PresetName[];
const acts: ActivationName[] = ['swish', 'tanhexp'];
const probes = await probeBackends();
const backends = values.backends ? values.backends.split(',') : probes.filter((p) => p.available).map((p) => p.name);

interface Row {
  backend: string;
  device: string;
  preset: string;
  act: string;
  ms: number;
  runs: number;
  params: number;
}

/** Times one full training step (forward, backward, clipping, Adam), the trainer's own, on random data. */
function trainStepTimer(net: Network, x: tf.Tensor4D, helpers: GradientWorkers | undefined) {
  const [n, h, w] = x.shape;
  const cfg = makeTrainConfig({ network: net.config, batch: n, patch: h, iterations: 100 });
  const lr = Float32Array.from({ length: n * h * w * 3 }, (_, i) => (Math.cos(i) + 1) / 2);
  const hr = Float32Array.from({ length: n * h * 2 * w * 2 * 3 }, (_, i) => (Math.sin(i) + 1) / 2);
  const adam = new Adam(net.params);
  return async () => {
    const t = performance.now();
    await trainStep(net, adam, { lr, hr, picks: [] }, cfg, 1e-4, helpers);
    return performance.now() - t;
  };
}

/** GFLOP/s of a forward 3×3 conv, batch × patch² × 64 → 64, on the active backend. */
async function convRate(): Promise<number> {
  const x = tf.randomUniform([batch, patch, patch, 64]) as tf.Tensor4D;
  const w = tf.randomUniform([3, 3, 64, 64]) as tf.Tensor4D;
  const once = async () => {
    const t = performance.now();
    const y = tf.conv2d(x, w, 1, 'same');
    await y.data();
    y.dispose();
    return performance.now() - t;
  };
  await once();
  const times = [await once(), await once(), await once()];
  tf.dispose([x, w]);
  return (2 * batch * patch * patch * 64 * 64 * 9) / (median(times) / 1000) / 1e9;
}
const convRates = new Map<string, number>();
const rows: Row[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Times `run` after one warm-up: until the budget or 5 runs, median (a slow one reports its warm-up). */
async function timeIt(run: () => Promise<unknown>): Promise<{ ms: number; runs: number }> {
  const once = async () => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  const warm = await once();
  if (warm > budgetMs) return { ms: warm, runs: 1 };
  const times: number[] = [];
  const start = performance.now();
  do times.push(await once());
  while (times.length < 5 && performance.now() - start < budgetMs);
  return { ms: median(times), runs: times.length };
}

/** Times several runs in turn (one warm-up each, then rounds until the budget or 25 rounds): medians. */
async function timeAlternating(runs: ReadonlyArray<() => Promise<unknown>>): Promise<Array<{ ms: number; runs: number }>> {
  const times: number[][] = runs.map(() => []);
  for (const run of runs) await run();
  const start = performance.now();
  do {
    for (const [i, run] of runs.entries()) {
      const t = performance.now();
      await run();
      times[i]!.push(performance.now() - t);
    }
  } while (times[0]!.length < 25 && performance.now() - start < budgetMs);
  return times.map((t) => ({ ms: median(t), runs: t.length }));
}

/**
 * The CPU paths on the same weights: ours (what `upscale` runs here: auto's pick, through the
 * tiling and layout conversion), ONNX Runtime's bare session.run, and the tfjs wasm network.
 */
async function cpuPaths(): Promise<void> {
  const ours = chooseBackend('auto', 'inference', probes);
  await initBackend('wasm', 'inference');
  const ort = await import('onnxruntime-node');
  const img = { width: size, height: size, rgb: Float32Array.from({ length: size * size * 3 }, (_, i) => (Math.sin(i * 0.01) + 1) / 2) };
  const chw = Float32Array.from({ length: size * size * 3 }, (_, i) => img.rgb[(i % (size * size)) * 3 + Math.floor(i / (size * size))]!);
  const out: Array<Record<string, string | number>> = [];
  if (!values.json) console.error(`our path: ${ours.why}`);
  for (const preset of presets) {
    for (const act of ['relu', 'swish', 'tanhexp'] as const) {
      const config = presetConfig(preset, 2, act);
      const weights = initialWeights(config, 1);
      const upscaler = await openUpscaler(ours.name, { config, weights });
      const session = await ort.InferenceSession.create(exportOnnx(config, weights), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
      // Ours and ONNX Runtime's own run alternate, so drifts in the machine's speed hit both alike.
      const [oursT, ortT] = (await timeAlternating([
        () => upscaleImage(upscaler, img),
        async () => {
          const input = new ort.Tensor('float32', chw, [1, 3, size, size]);
          const r = await session.run({ input });
          r.output!.dispose();
        },
      ])) as [{ ms: number; runs: number }, { ms: number; runs: number }];
      await upscaler.dispose();
      await session.release();
      const net = new Network(config, weights, false);
      const x = tf.tensor4d(img.rgb, [1, size, size, 3]);
      const wasmT = await timeIt(async () => {
        const y = net.forward(x);
        await y.data();
        y.dispose();
      });
      x.dispose();
      net.dispose();
      const row = { preset, act, ours: oursT.ms, onnxruntime: ortT.ms, wasm: wasmT.ms, oursOverOrt: oursT.ms / ortT.ms, wasmOverOrt: wasmT.ms / ortT.ms };
      out.push(row);
      if (!values.json) console.error(`${preset.padEnd(9)} ${act.padEnd(8)} ours ${oursT.ms.toFixed(1)} ms, onnxruntime ${ortT.ms.toFixed(1)} ms, wasm ${wasmT.ms.toFixed(1)} ms`);
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ mode, size, scale: 2, ours: ours.name, why: ours.why, rows: out }));
    return;
  }
  console.log(`\nUpscaling one ${size}×${size} image at x2 on the CPU, same weights (median ms), measured in this run:`);
  console.log(`our path: ${ours.why}\n`);
  console.log('preset     act        ours ms   onnxruntime ms   tfjs-wasm ms   ours/onnxruntime   wasm/onnxruntime');
  for (const r of out) {
    console.log(
      `${String(r.preset).padEnd(10)} ${String(r.act).padEnd(8)} ${(r.ours as number).toFixed(1).padStart(9)} ${(r.onnxruntime as number).toFixed(1).padStart(16)} ${(r.wasm as number).toFixed(1).padStart(14)} ${(r.oursOverOrt as number).toFixed(3).padStart(18)} ${(r.wasmOverOrt as number).toFixed(2).padStart(18)}`,
    );
  }
}

if (mode === 'cpu') {
  await cpuPaths();
  process.exit(0);
}

for (const b of backends) {
  let device: string;
  try {
    device = (await initBackend(b, mode === 'train' ? 'training' : 'inference')).device;
  } catch (e) {
    console.error(`${b}: skipped (${(e as Error).message})`);
    continue;
  }
  if (mode === 'train') convRates.set(b, await convRate());
  for (const preset of presets) {
    for (const act of acts) {
      const net = Network.create(presetConfig(preset, 2, act), 1);
      const x = (mode === 'train' ? tf.randomUniform([batch, patch, patch, 3], 0, 1, 'float32', 7) : tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7)) as tf.Tensor4D;
      const helpers = mode === 'train' && threads(b) ? await GradientWorkers.start(threads(b), b, makeTrainConfig({ network: net.config, batch, patch })) : undefined;
      const onnx = b === 'onnx' ? await OnnxUpscaler.create(net.config, await net.weights()) : undefined;
      const pixels = onnx ? ((await x.data()) as Float32Array) : undefined;
      const all = { x: 0, y: 0, w: size, h: size };
      const run =
        mode === 'train'
          ? trainStepTimer(net, x, helpers)
          : onnx
            ? async () => {
                const t = performance.now();
                await onnx.run(pixels!, size, size, all);
                return performance.now() - t;
              }
            : async () => {
                const t = performance.now();
                const y = net.forward(x);
                await y.data();
                y.dispose();
                return performance.now() - t;
              };
      const warm = await run();
      const times: number[] = [];
      const start = performance.now();
      // A configuration slower than the whole budget is reported from its first (warm-up) run.
      if (warm > budgetMs) times.push(warm);
      else
        do times.push(await run());
        while (times.length < 5 && performance.now() - start < budgetMs);
      await helpers?.close();
      await onnx?.dispose();
      x.dispose();
      const params = net.parameterCount;
      net.dispose();
      const row = { backend: b, device, preset, act, ms: median(times), runs: times.length, params };
      rows.push(row);
      if (!values.json) console.error(`${b.padEnd(7)} ${preset.padEnd(9)} ${act.padEnd(8)} ${row.ms.toFixed(1).padStart(9)} ms  (median of ${row.runs})`);
    }
  }
}

const ratios = rows
  .filter((r) => r.act === 'tanhexp')
  .map((t) => {
    const s = rows.find((r) => r.backend === t.backend && r.preset === t.preset && r.act === 'swish')!;
    return { backend: t.backend, preset: t.preset, tanhexpMs: t.ms, swishMs: s.ms, ratio: t.ms / s.ms };
  });

if (values.json) {
  console.log(JSON.stringify({ mode, size, batch, patch, scale: 2, rows, ratios, convGflops: Object.fromEntries(convRates) }));
} else if (mode === 'train') {
  console.log(`\nOne training step, batch ${batch} × ${patch}² LR patches at x2 (median ms), measured in this run:\n`);
  console.log('backend  threads preset     swish ms   tanhexp ms   tanhexp/swish   effective GFLOP/s (tanhexp)   forward conv GFLOP/s (1 thread)');
  for (const r of ratios) {
    const params = rows.find((x) => x.backend === r.backend && x.preset === r.preset)!.params;
    const eff = (6 * params * batch * patch * patch) / (r.tanhexpMs / 1000) / 1e9;
    console.log(
      `${r.backend.padEnd(8)} ${String(1 + threads(r.backend)).padStart(7)} ${r.preset.padEnd(9)} ${r.swishMs.toFixed(1).padStart(9)} ${r.tanhexpMs.toFixed(1).padStart(12)} ${r.ratio.toFixed(3).padStart(15)} ${eff.toFixed(2).padStart(29)} ${convRates.get(r.backend)!.toFixed(2).padStart(22)}`,
    );
  }
  const devices = [...new Set(rows.map((r) => `${r.backend}: ${r.device}`))];
  console.log(`\nDevices: ${devices.join('; ')}`);
} else {
  console.log(`\nInference of one ${size}×${size} image at x2 (median ms), measured in this run:\n`);
  console.log('backend  preset     swish ms   tanhexp ms   tanhexp/swish   output MP/s (tanhexp)');
  for (const r of ratios) {
    const mps = (size * size * 4) / 1e6 / (r.tanhexpMs / 1000);
    console.log(
      `${r.backend.padEnd(8)} ${r.preset.padEnd(9)} ${r.swishMs.toFixed(1).padStart(9)} ${r.tanhexpMs.toFixed(1).padStart(12)} ${r.ratio.toFixed(3).padStart(15)} ${mps.toFixed(3).padStart(22)}`,
    );
  }
  const devices = [...new Set(rows.map((r) => `${r.backend}: ${r.device}`))];
  console.log(`\nDevices: ${devices.join('; ')}`);
}
