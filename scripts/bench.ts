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
 *   npm run bench -- --mode cpu-speed [--presets …] [--batch 16] [--patch 48] [--size 256] [--threads N]
 *       TanhExp against Swish on the CPU paths, every preset: a training step on wasm (1 + N threads,
 *       default one per core), upscaling on ONNX Runtime and on wasm; the training step's effective
 *       GFLOP/s beside this machine's peak measured in the same run (a WebAssembly SIMD multiply-add
 *       loop on every thread at once, XNNPACK's and ONNX Runtime's matrix products);
 *   npm run bench -- --mode train [--backends …] [--presets standard] [--acts relu,swish,mish,tanhexp]
 *                                 [--batch 16] [--patch 48] [--threads N] [--infer-size 512]
 *       per backend, preset and activation: one training step (the trainer's own: forward, backward,
 *       clipping, Adam; on CPU backends split across 1 + N threads, default one per core) and the
 *       inference of one infer-size² image at x2 (output MP/s); the TanhExp/Swish ratio; the
 *       effective GFLOP/s (6 × parameters × batch × LR pixels / step time). On webgpu each figure is
 *       measured with the project's kernels and with tfjs's own, and their ratio printed;
 *       `--kernels project,tfjs` (default) picks the sets: `project` is the adapter's style (`tiled`
 *       on a GPU, `direct` on a software adapter), and `tiled`/`direct` name one.
 *       The defaults are the reference configuration (reference/: standard preset,
 *       batch 16 × 48², 512² inference); `--json` prints one JSON object for scripts.
 *       `--torch FILE` reads the JSON lines torch_ref.py printed in the same session on the same
 *       machine and adds the ratios to PyTorch (fp32 eager) per activation (scripts/gpu-bundle.ts
 *       packs both for a GPU machine without Node.js).
 *
 *   npm run bench -- --mode train-cpu [--presets tiny,light,standard] [--acts swish,tanhexp] [--batch 16]
 *                                     [--patch 48] [--budget 8] [--threads N] [--json]
 *       one training step on the CPU per preset and activation on ONNX Runtime's training engine,
 *       on tfjs-wasm and on PyTorch (scripts/torch-train-step.py, when a python3 has torch), every
 *       engine on 1 + N threads (default one per core), each configuration in its own child process:
 *       medians, the ratios between the engines, effective GFLOP/s, each one's peak RSS and the
 *       TanhExp/Swish ratio (scripts/bench-train-cpu.ts);
 *
 *   npm run bench -- --mode viewer [--rounds 3] [--photo FILE]
 *       the image viewer in Chromium on a 48-megapixel result: frame intervals while panning and
 *       zooming, the page's JS heap and the server's memory (scripts/bench-viewer.ts);
 *
 * Each configuration gets one warm-up pass, then repeats until `budget` seconds or 5 runs; the
 * median is reported (in the inference mode a configuration slower than the budget reports its one
 * warm-up run). The training mode alternates the activations round by round after one warm-up
 * each (which pays for shader compilation), at least one round, at most 5.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { ActivationName } from '../ml/activations.ts';
import { initialWeights, Network, PRESET_NAMES, presetConfig, type PresetName } from '../ml/network.ts';
import { chooseBackend, type Purpose } from '../ml/backend-choice.ts';
import { initBackend, probeBackends } from '../ml/node/backends.ts';
import { OnnxUpscaler } from '../ml/node/onnx-runtime.ts';
import { openUpscaler } from '../ml/node/upscaler.ts';
import { exportOnnx } from '../ml/onnx/export.ts';
import { upscaleImage } from '../ml/tiling.ts';
import { defaultThreads, GradientWorkers } from '../ml/node/grad-workers.ts';
import { makeTrainConfig } from '../ml/train/config.ts';
import { projectKernels, useProjectKernels, type KernelStyle } from '../ml/kernels/webgpu/index.ts';
import { cpuSpeed } from './bench-cpu-speed.ts';
import {
  median,
  timeAlternating as timeAlternating_,
  timeIt as timeIt_,
  trainGflops,
  trainStepTimer,
} from './bench-timing.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string' },
    presets: { type: 'string' },
    size: { type: 'string', default: '256' },
    budget: { type: 'string' },
    mode: { type: 'string', default: 'infer' },
    threads: { type: 'string' },
    batch: { type: 'string', default: '16' },
    patch: { type: 'string', default: '48' },
    json: { type: 'boolean' },
    acts: { type: 'string' },
    'infer-size': { type: 'string', default: '512' },
    torch: { type: 'string' },
    kernels: { type: 'string' },
    rounds: { type: 'string' },
    side: { type: 'string' },
    photo: { type: 'string' },
  },
});
if (values.mode === 'viewer') {
  // Named at run time, so the GPU bundle (scripts/gpu-bundle.ts bundles this file) leaves the
  // viewer's benchmark, with its browser and image libraries, out.
  const viewer = './bench-viewer.ts';
  await ((await import(viewer)) as typeof import('./bench-viewer.ts')).benchViewer();
  process.exit(0);
}
if (values.mode === 'train-cpu') {
  // Named at run time, so the GPU bundle leaves it out: it runs scripts/bench-train-cpu.ts itself
  // through tsx as its child processes.
  const trainCpuFile = './bench-train-cpu.ts';
  await ((await import(trainCpuFile)) as typeof import('./bench-train-cpu.ts')).trainCpu({
    presets: (values.presets ?? 'tiny,light,standard').split(',') as PresetName[],
    acts: (values.acts ?? 'swish,tanhexp').split(',') as ActivationName[],
    batch: Number(values.batch),
    patch: Number(values.patch),
    budgetMs: Number(values.budget ?? '8') * 1000,
    threads: values.threads === undefined ? defaultThreads('wasm') : Number(values.threads),
    json: Boolean(values.json),
  });
  process.exit(0);
}
const size = Number(values.size);
const mode = values.mode === 'train' || values.mode === 'cpu' || values.mode === 'cpu-speed' ? values.mode : 'infer';
const batch = Number(values.batch);
const patch = Number(values.patch);
/** Helper threads for data-parallel training steps (default: one per extra core on CPU backends). */
const threads = (b: string) => (values.threads === undefined ? defaultThreads(b) : Number(values.threads));
const budgetMs = Number(values.budget ?? '10') * 1000;
const presets = (values.presets ?? (mode === 'train' ? 'standard' : PRESET_NAMES.join(','))).split(',') as PresetName[];
const acts = (values.acts ?? (mode === 'train' ? 'relu,swish,mish,tanhexp' : 'swish,tanhexp')).split(
  ',',
) as ActivationName[];
const inferSize = Number(values['infer-size']);
const kernelsOption = (values.kernels ?? 'project,tfjs').split(',');
for (const k of kernelsOption) {
  if (!['project', 'tiled', 'direct', 'tfjs'].includes(k))
    throw new Error(`--kernels takes project, tiled, direct and tfjs, not ${k}`);
}
if (mode === 'cpu-speed') {
  await cpuSpeed({
    presets: (values.presets ?? PRESET_NAMES.join(',')).split(',') as PresetName[],
    batch,
    patch,
    size,
    budgetMs,
    threads: values.threads === undefined ? defaultThreads('wasm') : Number(values.threads),
    json: Boolean(values.json),
  });
  process.exit(0);
}
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

const rows: Row[] = [];
const timeIt = (run: () => Promise<unknown>) => timeIt_(run, budgetMs);
const timeAlternating = (runs: ReadonlyArray<() => Promise<unknown>>, maxRounds = 25) =>
  timeAlternating_(runs, budgetMs, maxRounds);

/**
 * The CPU paths on the same weights: ours (what `upscale` runs here: auto's pick, through the
 * tiling and layout conversion), ONNX Runtime's bare session.run, and the tfjs wasm network.
 */
async function cpuPaths(): Promise<void> {
  const ours = chooseBackend('auto', 'upscale', probes);
  await initBackend('wasm', 'upscale');
  const ort = await import('onnxruntime-node');
  const img = {
    width: size,
    height: size,
    rgb: Float32Array.from({ length: size * size * 3 }, (_, i) => (Math.sin(i * 0.01) + 1) / 2),
  };
  const chw = Float32Array.from(
    { length: size * size * 3 },
    (_, i) => img.rgb[(i % (size * size)) * 3 + Math.floor(i / (size * size))]!,
  );
  const out: Array<Record<string, string | number>> = [];
  if (!values.json) console.error(`our path: ${ours.why}`);
  for (const preset of presets) {
    for (const act of ['relu', 'swish', 'tanhexp'] as const) {
      const config = presetConfig(preset, 2, act);
      const weights = initialWeights(config, 1);
      const upscaler = await openUpscaler(ours.name, { config, weights });
      const session = await ort.InferenceSession.create(exportOnnx(config, weights), {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
      });
      // Ours and ONNX Runtime's own run alternate, so drifts in the machine's speed hit both alike.
      const [oursT, ortT] = (await timeAlternating([
        () => upscaleImage(upscaler, img),
        async () => {
          const input = new ort.Tensor('float32', chw, [1, 3, size, size]);
          const r = await session.run({ input });
          r.output!.dispose();
        },
      ])) as [{ ms: number; runs: number }, { ms: number; runs: number }, ...unknown[]];
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
      const row = {
        preset,
        act,
        ours: oursT.ms,
        onnxruntime: ortT.ms,
        wasm: wasmT.ms,
        oursOverOrt: oursT.ms / ortT.ms,
        wasmOverOrt: wasmT.ms / ortT.ms,
      };
      out.push(row);
      if (!values.json)
        console.error(
          `${preset.padEnd(9)} ${act.padEnd(8)} ours ${oursT.ms.toFixed(1)} ms, onnxruntime ${ortT.ms.toFixed(1)} ms, wasm ${wasmT.ms.toFixed(1)} ms`,
        );
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ mode, size, scale: 2, ours: ours.name, why: ours.why, rows: out }));
    return;
  }
  console.log(
    `\nUpscaling one ${size}×${size} image at x2 on the CPU, same weights (median ms), measured in this run:`,
  );
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

/** Switches to backend `b` and returns its device, or says why it is skipped and returns undefined. */
async function start(b: string, purpose: Purpose): Promise<string | undefined> {
  try {
    return (await initBackend(b, purpose)).device;
  } catch (e) {
    console.error(`${b}: skipped (${(e as Error).message})`);
    return undefined;
  }
}

/**
 * Training mode: step and inference per backend × kernel set × preset × activation, all measured in
 * this run. The same seed, data and weights everywhere, so only the kernels differ.
 */
async function trainMode(): Promise<void> {
  const out: Array<{
    backend: string;
    kernels: string;
    device: string;
    preset: string;
    act: string;
    params: number;
    stepMs: number;
    stepRuns: number;
    inferMs?: number;
    loss: number;
  }> = [];
  for (const b of backends) {
    const device = await start(b, 'train');
    if (device === undefined) continue;
    // webgpu: the project's kernels in the adapter's style (or those named), then tfjs's own.
    const adapterStyle = projectKernels().style;
    const kernelSets = b === 'webgpu' ? kernelsOption.map((k) => (k === 'project' ? adapterStyle : k)) : ['default'];
    for (const kernels of kernelSets) {
      if (b === 'webgpu')
        useProjectKernels(kernels !== 'tfjs', kernels === 'tfjs' ? adapterStyle : (kernels as KernelStyle));
      for (const preset of presets) {
        // The activations' steps (then their inferences) alternate round by round, so drifts in
        // the machine's speed hit them alike and their ratio holds.
        const items = [];
        for (const act of acts) {
          const net = Network.create(presetConfig(preset, 2, act), 1);
          const x = tf.randomUniform([batch, patch, patch, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
          const helpers = threads(b)
            ? await GradientWorkers.start(threads(b), b, makeTrainConfig({ network: net.config, batch, patch }))
            : undefined;
          items.push({ act, net, x, helpers, step: trainStepTimer(net, x, helpers) });
        }
        const steps = await timeAlternating(
          items.map((i) => i.step.run),
          5,
        );
        const z =
          inferSize > 0
            ? (tf.randomUniform([1, inferSize, inferSize, 3], 0, 1, 'float32', 9) as tf.Tensor4D)
            : undefined;
        const infers = z
          ? await timeAlternating(
              items.map((i) => async () => {
                const y = i.net.forward(z);
                await y.data();
                y.dispose();
              }),
              5,
            )
          : [];
        z?.dispose();
        for (const [k, i] of items.entries()) {
          const st = steps[k]!;
          const inferMs = infers[k]?.ms;
          out.push({
            backend: b,
            kernels,
            device,
            preset,
            act: i.act,
            params: i.net.parameterCount,
            stepMs: st.ms,
            stepRuns: st.runs,
            inferMs,
            loss: i.step.lastLoss(),
          });
          if (!values.json) {
            console.error(
              `${b} ${kernels} ${preset} ${i.act}: step ${st.ms.toFixed(1)} ms (median of ${st.runs})${inferMs === undefined ? '' : `, infer ${inferSize}² ${inferMs.toFixed(1)} ms`}`,
            );
          }
          await i.helpers?.close();
          i.x.dispose();
          i.net.dispose();
          i.step.dispose();
        }
      }
    }
  }
  const find = (r: (typeof out)[number], o: Partial<(typeof out)[number]>) =>
    out.find(
      (q) =>
        q.backend === r.backend &&
        q.preset === r.preset &&
        (o.kernels ?? r.kernels) === q.kernels &&
        (o.act ?? r.act) === q.act,
    );
  const table = out.map((r) => {
    const swish = find(r, { act: 'swish' });
    const theirs = r.backend === 'webgpu' && r.kernels !== 'tfjs' ? find(r, { kernels: 'tfjs' }) : undefined;
    return {
      ...r,
      gflops: trainGflops(r.params, batch, patch, r.stepMs),
      inferMps: r.inferMs === undefined ? undefined : (inferSize * 2) ** 2 / 1e6 / (r.inferMs / 1000),
      overSwish: swish ? r.stepMs / swish.stepMs : undefined,
      tfjsOverProject: theirs ? theirs.stepMs / r.stepMs : undefined,
      tfjsOverProjectInfer: theirs?.inferMs && r.inferMs ? theirs.inferMs / r.inferMs : undefined,
    };
  });
  const torch = values.torch ? againstTorch(table, await readFile(values.torch, 'utf8')) : undefined;
  if (values.json) {
    console.log(JSON.stringify({ mode, batch, patch, inferSize, scale: 2, rows: table, torch }));
    return;
  }
  const f = (v: number | undefined, d: number, w: number) => (v === undefined ? '—' : v.toFixed(d)).padStart(w);
  console.log(
    `\nOne training step (batch ${batch} × ${patch}² LR patches, x2) and the inference of one ${inferSize}² image, medians, measured in this run:\n`,
  );
  console.log(
    'backend  kernels  preset     act        step ms   step/swish   GFLOP/s   infer ms   infer MP/s   tfjs kernels / ours (step, infer)',
  );
  for (const r of table) {
    console.log(
      `${r.backend.padEnd(8)} ${r.kernels.padEnd(8)} ${r.preset.padEnd(10)} ${r.act.padEnd(8)} ${f(r.stepMs, 1, 9)} ${f(r.overSwish, 3, 12)} ${f(r.gflops, 2, 9)} ${f(r.inferMs, 1, 10)} ${f(r.inferMps, 3, 12)}   ${r.tfjsOverProject === undefined ? '' : `${r.tfjsOverProject.toFixed(2)}×, ${r.tfjsOverProjectInfer?.toFixed(2) ?? '—'}×`}`,
    );
  }
  const devices = [...new Set(out.map((r) => `${r.backend}: ${r.device}`))];
  console.log(`\nDevices: ${devices.join('; ')}`);
  if (torch) {
    console.log(
      `\nAgainst PyTorch ${torch.torch} eager fp32 on ${torch.gpu ?? 'the CPU'} (its own run of torch_ref.py, this session):\n`,
    );
    console.log('backend  kernels  act        step ms   torch ms   step/torch   infer ms   torch ms   infer/torch');
    for (const r of torch.rows) {
      console.log(
        `${r.backend.padEnd(8)} ${r.kernels.padEnd(8)} ${r.act.padEnd(8)} ${f(r.stepMs, 1, 9)} ${f(r.torchStepMs, 1, 10)} ${f(r.stepOverTorch, 2, 12)} ${f(r.inferMs, 1, 10)} ${f(r.torchInferMs, 1, 10)} ${f(r.inferOverTorch, 2, 13)}`,
      );
    }
    console.log(
      `\nTanhExp/Swish step: ours ${torch.oursTanhexpOverSwish?.toFixed(3) ?? '—'}, PyTorch ${torch.torchTanhexpOverSwish?.toFixed(3) ?? '—'}`,
    );
  }
}

/**
 * Our rows beside torch_ref.py's fp32 eager figures (one JSON object per line: a header with `torch`
 * and `gpu`, then one per configuration). Only the reference configuration compares like with like.
 */
function againstTorch(
  rows: ReadonlyArray<{
    backend: string;
    kernels: string;
    preset: string;
    act: string;
    stepMs: number;
    inferMs?: number;
  }>,
  jsonl: string,
) {
  const lines = jsonl
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const header = lines.find((l) => 'torch' in l) ?? {};
  const fp32 = lines.filter((l) => typeof l.act === 'string' && l.tf32 === false && l.amp === false);
  const ref = (act: string) => fp32.find((l) => l.act === act) as { step_ms: number; infer_512_ms: number } | undefined;
  if (batch !== 16 || patch !== 48 || inferSize !== 512 || rows.some((r) => r.preset !== 'standard')) {
    console.error(
      'warning: torch_ref.py times the standard preset, batch 16 × 48² and 512² inference; these rows differ, so the ratios compare unlike things',
    );
  }
  const out = rows.map((r) => {
    const t = ref(r.act);
    return {
      backend: r.backend,
      kernels: r.kernels,
      act: r.act,
      stepMs: r.stepMs,
      inferMs: r.inferMs,
      torchStepMs: t?.step_ms,
      torchInferMs: t?.infer_512_ms,
      stepOverTorch: t ? r.stepMs / t.step_ms : undefined,
      inferOverTorch: t && r.inferMs !== undefined ? r.inferMs / t.infer_512_ms : undefined,
    };
  });
  const ours = (act: string) => rows.find((r) => r.act === act && r.kernels !== 'tfjs');
  const tanh = ours('tanhexp');
  const swish = ours('swish');
  const tt = ref('tanhexp');
  const ts = ref('swish');
  return {
    torch: String(header.torch ?? 'unknown'),
    gpu: (header.gpu as string | null | undefined) ?? undefined,
    rows: out,
    oursTanhexpOverSwish: tanh && swish ? tanh.stepMs / swish.stepMs : undefined,
    torchTanhexpOverSwish: tt && ts ? tt.step_ms / ts.step_ms : undefined,
  };
}

if (mode === 'train') {
  await trainMode();
  process.exit(0);
}

for (const b of backends) {
  const device = await start(b, 'upscale');
  if (device === undefined) continue;
  for (const preset of presets) {
    for (const act of acts) {
      const net = Network.create(presetConfig(preset, 2, act), 1);
      const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const onnx = b === 'onnx' ? await OnnxUpscaler.create(net.config, await net.weights()) : undefined;
      const pixels = onnx ? ((await x.data()) as Float32Array) : undefined;
      const all = { x: 0, y: 0, w: size, h: size };
      const run = onnx
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
      await onnx?.dispose();
      x.dispose();
      const params = net.parameterCount;
      net.dispose();
      const row = { backend: b, device, preset, act, ms: median(times), runs: times.length, params };
      rows.push(row);
      if (!values.json)
        console.error(
          `${b.padEnd(7)} ${preset.padEnd(9)} ${act.padEnd(8)} ${row.ms.toFixed(1).padStart(9)} ms  (median of ${row.runs})`,
        );
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
  console.log(JSON.stringify({ mode, size, scale: 2, rows, ratios }));
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
