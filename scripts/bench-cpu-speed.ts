import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { Network, presetConfig, type PresetName } from '../ml/network.ts';
import { initBackend } from '../ml/node/backends.ts';
import { GradientWorkers } from '../ml/node/grad-workers.ts';
import { OnnxUpscaler, probeOnnxRuntime } from '../ml/node/onnx-runtime.ts';
import { makeTrainConfig } from '../ml/train/config.ts';
import { backendMatMul, nativeMatMul, wasmSimdPeak } from './bench-peak.ts';
import { timeAlternating, trainGflops, trainStepTimer } from './bench-timing.ts';

/**
 * `npm run bench -- --mode cpu-speed`: TanhExp against Swish on the CPU paths, every preset, in one
 * run: a training step on wasm (split across 1 + `threads` threads as training runs it), upscaling
 * one image on ONNX Runtime (the in-memory graph `upscale` runs) and on wasm; then the training
 * step's effective GFLOP/s beside this machine's peak measured in the same run (scripts/bench-peak.ts).
 * Swish and TanhExp alternate round by round, so drifts in the machine's speed hit both alike.
 */
export interface CpuSpeedOptions {
  readonly presets: readonly PresetName[];
  readonly batch: number;
  readonly patch: number;
  readonly size: number;
  readonly budgetMs: number;
  readonly threads: number;
  readonly json: boolean;
}

const ACTS = ['swish', 'tanhexp'] as const;
/** Medians, and the fastest run of each (the one least disturbed by other work on the machine). */
type Pair = { swish: number; tanhexp: number; bestSwish: number; bestTanhexp: number };

export async function cpuSpeed(o: CpuSpeedOptions): Promise<void> {
  const log = (s: string) => o.json || console.error(s);
  const device = (await initBackend('wasm', 'train')).device;
  const onnx = await probeOnnxRuntime();
  const img = Float32Array.from({ length: o.size * o.size * 3 }, (_, i) => (Math.sin(i * 0.01) + 1) / 2);
  const rows: Array<{ preset: PresetName; params: number; train: Pair; wasm: Pair; onnx?: Pair }> = [];
  for (const preset of o.presets) {
    const nets = ACTS.map((act) => Network.create(presetConfig(preset, 2, act), 1));
    const helpers = await Promise.all(
      nets.map((net) =>
        o.threads
          ? GradientWorkers.start(
              o.threads,
              'wasm',
              makeTrainConfig({ network: net.config, batch: o.batch, patch: o.patch }),
            )
          : undefined,
      ),
    );
    const x = tf.randomUniform([o.batch, o.patch, o.patch, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const steps = nets.map((net, i) => trainStepTimer(net, x, helpers[i]));
    const train = await timeAlternating(
      steps.map((s) => s.run),
      o.budgetMs,
      7,
      3,
    );
    for (const s of steps) s.dispose();
    await Promise.all(helpers.map((h) => h?.close()));
    x.dispose();
    log(
      `${preset}: training step ${ACTS.map((a, i) => `${a} ${train[i]!.ms.toFixed(1)} ms (${train[i]!.runs})`).join(', ')}`,
    );

    const z = tf.tensor4d(img, [1, o.size, o.size, 3]);
    const wasm = await timeAlternating(
      nets.map((net) => async () => {
        const y = net.forward(z);
        await y.data();
        y.dispose();
      }),
      o.budgetMs,
      7,
      3,
    );
    z.dispose();
    log(`${preset}: wasm upscaling ${ACTS.map((a, i) => `${a} ${wasm[i]!.ms.toFixed(1)} ms`).join(', ')}`);

    let ort: Array<{ ms: number; best: number }> | undefined;
    if (onnx.ok) {
      const ups = await Promise.all(nets.map(async (net) => OnnxUpscaler.create(net.config, await net.weights())));
      const all = { x: 0, y: 0, w: o.size, h: o.size };
      ort = await timeAlternating(
        ups.map((u) => () => u.run(img, o.size, o.size, all)),
        o.budgetMs,
        25,
        5,
      );
      await Promise.all(ups.map((u) => u.dispose()));
      log(`${preset}: onnx upscaling ${ACTS.map((a, i) => `${a} ${ort![i]!.ms.toFixed(1)} ms`).join(', ')}`);
    }
    const pair = (t: Array<{ ms: number; best: number }>): Pair => ({
      swish: t[0]!.ms,
      tanhexp: t[1]!.ms,
      bestSwish: t[0]!.best,
      bestTanhexp: t[1]!.best,
    });
    rows.push({
      preset,
      params: nets[0]!.parameterCount,
      train: pair(train),
      wasm: pair(wasm),
      ...(ort ? { onnx: pair(ort) } : {}),
    });
    for (const net of nets) net.dispose();
  }

  const threads = 1 + o.threads;
  log(`peaks on ${threads} thread(s)…`);
  const simd = await wasmSimdPeak(threads);
  const xnn = await backendMatMul();
  const native = onnx.ok ? await nativeMatMul(threads) : undefined;
  const peak = {
    wasmSimd: simd.reduce((a, b) => a + b, 0),
    wasmSimdPerThread: simd,
    xnnpackMatMul1Thread: xnn,
    nativeMatMul: native,
  };
  const gflops = rows.map((r) => ({
    preset: r.preset,
    swish: trainGflops(r.params, o.batch, o.patch, r.train.swish),
    tanhexp: trainGflops(r.params, o.batch, o.patch, r.train.tanhexp),
    bestSwish: trainGflops(r.params, o.batch, o.patch, r.train.bestSwish),
    bestTanhexp: trainGflops(r.params, o.batch, o.patch, r.train.bestTanhexp),
  }));

  if (o.json) {
    console.log(
      JSON.stringify({
        mode: 'cpu-speed',
        batch: o.batch,
        patch: o.patch,
        size: o.size,
        threads,
        device,
        rows,
        gflops,
        peak,
      }),
    );
    return;
  }
  const f = (v: number | undefined, d: number, w: number) => (v === undefined ? '—' : v.toFixed(d)).padStart(w);
  const cell = (p: Pair | undefined) =>
    `${f(p?.swish, 1, 9)} ${f(p?.tanhexp, 1, 9)} ${f(p ? p.tanhexp / p.swish : undefined, 3, 6)} ${f(p ? p.bestTanhexp / p.bestSwish : undefined, 3, 6)}`;
  console.log(
    `\nTanhExp against Swish on the CPU paths, medians (ms) measured in this run (${os.cpus()[0]?.model.trim() ?? 'CPU'}, ${os.availableParallelism()} cores):`,
  );
  console.log(
    `training on wasm: one step of batch ${o.batch} × ${o.patch}² LR patches at x2 on ${threads} thread(s); upscaling: one ${o.size}² image at x2;`,
  );
  console.log('ratio: TanhExp/Swish of the medians; best: of the fastest runs\n');
  console.log(
    `           ${'training on wasm'.padEnd(34)} ${'upscaling on ONNX Runtime'.padEnd(34)} upscaling on wasm`,
  );
  console.log(`preset     ${'    swish   tanhexp  ratio  best  '.repeat(3)}`);
  for (const r of rows) console.log(`${r.preset.padEnd(10)} ${cell(r.train)}   ${cell(r.onnx)}   ${cell(r.wasm)}`);
  console.log(
    '\nTraining step, effective GFLOP/s (6 × parameters × batch × LR pixels per step), median (fastest step):',
  );
  for (const g of gflops)
    console.log(
      `  ${g.preset.padEnd(9)} swish ${f(g.swish, 1, 6)} (${g.bestSwish.toFixed(1)})   tanhexp ${f(g.tanhexp, 1, 6)} (${g.bestTanhexp.toFixed(1)})`,
    );
  const std = gflops.find((g) => g.preset === 'standard') ?? gflops.at(-1)!;
  const share = (peakValue: number | undefined) =>
    peakValue
      ? `; TanhExp training (${std.preset}) at ${((100 * std.tanhexp) / peakValue).toFixed(0)}% of it (fastest step: ${((100 * std.bestTanhexp) / peakValue).toFixed(0)}%)`
      : '';
  console.log(`\nThis machine's peak, measured in this run on ${threads} thread(s) at once:`);
  console.log(
    `  WebAssembly SIMD multiply-add loop ${f(peak.wasmSimd, 1, 7)} GFLOP/s (${simd.map((v) => v.toFixed(1)).join(' + ')}): the most any wasm code can do${share(peak.wasmSimd)}`,
  );
  console.log(
    `  native matrix product (ONNX Runtime) ${f(native, 1, 5)} GFLOP/s (fused multiply-add, full vector width)${share(native)}`,
  );
  console.log(`  XNNPACK's matrix product on wasm, one thread: ${xnn.toFixed(1)} GFLOP/s`);
  console.log(`\nDevice: wasm: ${device}; ONNX Runtime: ${onnx.ok ? onnx.device : `unavailable (${onnx.reason})`}`);
}
