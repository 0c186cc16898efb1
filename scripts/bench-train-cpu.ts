import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { isActivationName, type ActivationName } from '../ml/activations.ts';
import { initialWeights, isPresetName, Network, parameterCount, presetConfig, type PresetName } from '../ml/network.ts';
import { initBackend } from '../ml/node/backends.ts';
import { GradientWorkers } from '../ml/node/grad-workers.ts';
import { onnxEngine } from '../ml/node/onnx-trainer.ts';
import { loadOrt } from '../ml/node/onnx-runtime.ts';
import { makeTrainConfig } from '../ml/train/config.ts';
import { isEntry } from '../main/is-entry.ts';
import { median, trainGflops, trainStepTimer } from './bench-timing.ts';

/**
 * `npm run bench -- --mode train-cpu`: one training step (forward, loss, backward, clipping, Adam)
 * on this machine's CPU, per preset and activation, on three engines measured in one run: ONNX
 * Runtime's training engine (ml/node/onnx-trainer.ts: the whole step as one graph on its own
 * threads), tfjs-wasm as the trainer runs it (1 + N helper threads), and PyTorch eager fp32
 * (scripts/torch-train-step.py) when a python3 has torch. Every engine gets 1 + N threads (default
 * one per core).
 *
 * Each engine × preset × activation is measured in its own child process (this file with `--one`,
 * or the Python script given one preset and one activation), so each peak RSS is that
 * configuration's alone. They run interleaved (per preset: onnx, wasm, then torch, each activation
 * in turn), so drifts in the machine's speed hit all engines alike. Each child takes one warm-up
 * step, then steps until the budget or 10 steps, at least 3, and reports the median (the Python
 * script warms up twice and stops at 50 steps).
 */
export interface TrainCpuOptions {
  readonly presets: readonly PresetName[];
  readonly acts: readonly ActivationName[];
  readonly batch: number;
  readonly patch: number;
  readonly budgetMs: number;
  /** Helper threads beside the main one: every engine runs on 1 + threads. */
  readonly threads: number;
  readonly json: boolean;
}

const ENGINES = ['onnx', 'wasm', 'torch'] as const;
type Engine = (typeof ENGINES)[number];
/** One child's figures: median step time, steps timed, its process's peak RSS. */
type Measure = { ms: number; steps: number; peakRssMb: number; loss?: number };
const MAX_STEPS = 10;
const MIN_STEPS = 3;

export async function trainCpu(o: TrainCpuOptions): Promise<void> {
  for (const p of o.presets) if (!isPresetName(p)) throw new Error(`unknown preset ${p}`);
  for (const a of o.acts) if (!isActivationName(a)) throw new Error(`unknown activation ${a}`);
  const log = (s: string) => o.json || console.error(s);
  const threads = 1 + o.threads;
  const ort = await loadOrt();
  const torch = await findTorch();
  if (!torch)
    console.error(
      'PyTorch is missing (no python3 here imports torch; `apt-get install python3-torch` brings it): no ratios to it.',
    );
  const common = [
    '--batch',
    String(o.batch),
    '--patch',
    String(o.patch),
    '--budget',
    String(o.budgetMs / 1000),
    '--threads',
    String(o.threads),
  ];

  const rows: Array<{ preset: PresetName; act: ActivationName; params: number } & Partial<Record<Engine, Measure>>> =
    [];
  for (const preset of o.presets) {
    const mine = o.acts.map(
      (act) => ({ preset, act, params: parameterCount(presetConfig(preset, 2, act)) }) as (typeof rows)[number],
    );
    rows.push(...mine);
    for (const engine of ENGINES) {
      if (engine === 'torch' && !torch) continue;
      for (const row of mine) {
        const m =
          engine === 'torch'
            ? await runTorch(torch!.python, row.preset, row.act, o)
            : await runChild(process.execPath, [
                '--import',
                'tsx',
                import.meta.filename,
                '--one',
                engine,
                row.preset,
                row.act,
                ...common,
              ]);
        if ('error' in m) {
          console.error(`${engine} ${preset} ${row.act}: failed (${m.error})`);
          continue;
        }
        row[engine] = m;
        log(
          `${engine.padEnd(5)} ${preset.padEnd(8)} ${row.act.padEnd(8)} ${m.ms.toFixed(1).padStart(8)} ms (median of ${m.steps}), peak RSS ${m.peakRssMb.toFixed(0)} MB`,
        );
      }
    }
  }

  const ratio = (a: Measure | undefined, b: Measure | undefined) => (a && b ? a.ms / b.ms : undefined);
  const table = rows.map((r) => ({
    ...r,
    onnxOverTorch: ratio(r.onnx, r.torch),
    wasmOverTorch: ratio(r.wasm, r.torch),
    /** How many times faster ONNX Runtime's step is than wasm's. */
    onnxSpeedup: ratio(r.wasm, r.onnx),
    gflops: Object.fromEntries(
      ENGINES.map((e) => [e, r[e] && trainGflops(r.params, o.batch, o.patch, r[e].ms)]),
    ) as Record<Engine, number | undefined>,
  }));
  const find = (preset: string, act: string) => rows.find((r) => r.preset === preset && r.act === act);
  const tanhexpOverSwish = o.presets.map((preset) => ({
    preset,
    ...(Object.fromEntries(
      ENGINES.map((e) => [e, ratio(find(preset, 'tanhexp')?.[e], find(preset, 'swish')?.[e])]),
    ) as Record<Engine, number | undefined>),
  }));
  const machine = { cpu: cpuModel(), cores: os.availableParallelism() };
  const versions = { node: process.version, onnxruntime: ort.ok ? ort.version : null, torch: torch?.version ?? null };
  const ortLabel = ort.ok ? ort.version : `unavailable (${ort.reason})`;

  if (o.json) {
    console.log(
      JSON.stringify({
        mode: 'train-cpu',
        machine,
        ...versions,
        batch: o.batch,
        patch: o.patch,
        scale: 2,
        threads,
        rows: table,
        tanhexpOverSwish,
      }),
    );
    return;
  }
  const f = (v: number | undefined, d: number, w: number) => (v === undefined ? '—' : v.toFixed(d)).padStart(w);
  // Column groups: labels and widths shared by the header and the rows, so they line up.
  const W = 7;
  const three = (get: (e: Engine) => number | undefined, d: number) => ENGINES.map((e) => f(get(e), d, W)).join(' ');
  const names = ENGINES.map((e) => e.padStart(W)).join(' ');
  const ratioWidths = [10, 10, 8];
  const ratioNames = ['onnx/torch', 'wasm/torch', 'speed-up'].map((n, i) => n.padStart(ratioWidths[i]!)).join(' ');
  const line = (left: string, groups: string[]) => [left, ...groups].join('   ');
  console.log(
    `\nOne training step on the CPU, batch ${o.batch} × ${o.patch}² LR patches at x2, every engine on ${threads} thread(s), medians measured in this run`,
  );
  console.log(
    `${machine.cpu}, ${machine.cores} cores; Node ${versions.node}; ONNX Runtime ${ortLabel}; PyTorch ${versions.torch ?? 'missing'}\n`,
  );
  const groupLabels = ['step ms', 'step time ratio', 'GFLOP/s (effective)', 'peak RSS MB'];
  const groupWidths = [names.length, ratioNames.length, names.length, names.length];
  console.log(
    line(
      ''.padEnd(19),
      groupLabels.map((l, i) => l.padEnd(groupWidths[i]!)),
    ).trimEnd(),
  );
  console.log(line(`${'preset'.padEnd(10)} ${'act'.padEnd(8)}`, [names, ratioNames, names, names]));
  for (const r of table) {
    const ratios = [r.onnxOverTorch, r.wasmOverTorch, r.onnxSpeedup].map((v, i) => f(v, 2, ratioWidths[i]!)).join(' ');
    console.log(
      line(`${r.preset.padEnd(10)} ${r.act.padEnd(8)}`, [
        three((e) => r[e]?.ms, 1),
        ratios,
        three((e) => r.gflops[e], 1),
        three((e) => r[e]?.peakRssMb, 0),
      ]),
    );
  }
  console.log('\nspeed-up: wasm step time / onnx step time; GFLOP/s: 6 × parameters × batch × LR pixels per step');
  console.log('\nTanhExp/Swish step time:');
  console.log(`${'preset'.padEnd(10)} ${names}`);
  for (const t of tanhexpOverSwish) console.log(`${t.preset.padEnd(10)} ${three((e) => t[e], 3)}`);
}

/** The CPU's model name as /proc/cpuinfo gives it (os.cpus() elsewhere). */
function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() below.
  }
  return os.cpus()[0]?.model.trim() ?? 'CPU';
}

/** The first python3 that imports torch: the one on PATH, then Debian's (a pyenv python may shadow it). */
async function findTorch(): Promise<{ python: string; version: string } | undefined> {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = await run(python, ['-c', 'import torch; print(torch.__version__)'], 'ignore');
    if (r.code === 0 && r.stdout.trim()) return { python, version: r.stdout.trim() };
  }
  return undefined;
}

/** Runs a command to its end: exit code and stdout (its stderr goes to ours, or nowhere). */
function run(
  cmd: string,
  args: readonly string[],
  stderr: 'inherit' | 'ignore' = 'inherit',
): Promise<{ code: number; stdout: string; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', stderr] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (e) => resolve({ code: -1, stdout, error: e.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
  });
}

/** A child's last JSON line, or why there is none. */
async function runChild(cmd: string, args: readonly string[]): Promise<Measure | { error: string }> {
  const r = await run(cmd, args);
  const line = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (r.code !== 0 || !line) return { error: r.error ?? `exit code ${r.code}` };
  return JSON.parse(line) as Measure;
}

async function runTorch(
  python: string,
  preset: PresetName,
  act: ActivationName,
  o: TrainCpuOptions,
): Promise<Measure | { error: string }> {
  const script = path.join(import.meta.dirname, 'torch-train-step.py');
  const args = [
    '--presets',
    preset,
    '--acts',
    act,
    '--batch',
    String(o.batch),
    '--patch',
    String(o.patch),
    '--budget',
    String(o.budgetMs / 1000),
    '--threads',
    String(1 + o.threads),
  ];
  const m = await runChild(python, [script, ...args]);
  if ('error' in m) return m;
  const t = m as unknown as { step_ms: number; steps: number; peak_rss_mb: number };
  return { ms: t.step_ms, steps: t.steps, peakRssMb: t.peak_rss_mb };
}

/**
 * The child's side: times one engine's step for one preset and activation and prints one JSON line
 * (median ms, steps, this process's peak RSS in MB).
 */
async function one(
  engine: Engine,
  preset: PresetName,
  act: ActivationName,
  batch: number,
  patch: number,
  budgetMs: number,
  threads: number,
): Promise<Measure> {
  const config = makeTrainConfig({ network: presetConfig(preset, 2, act), batch, patch, iterations: 1000, warmup: 10 });
  let step: () => Promise<number>;
  let dispose: () => Promise<void>;
  if (engine === 'onnx') {
    const e = await onnxEngine({ threads: 1 + threads })({
      config,
      weights: initialWeights(config.network, 0),
      ema: undefined,
      adam: null,
    });
    // The same fixed patches as the wasm step (scripts/bench-timing.ts), values in [0, 1].
    const lr = Float32Array.from({ length: batch * patch * patch * 3 }, (_, i) => (Math.cos(i) + 1) / 2);
    const hr = Float32Array.from({ length: batch * 4 * patch * patch * 3 }, (_, i) => (Math.sin(i) + 1) / 2);
    step = async () => (await e.step({ lr, hr, picks: [] }, 1e-4, Infinity)).loss;
    dispose = async () => e.dispose();
  } else if (engine === 'wasm') {
    await initBackend('wasm', 'train');
    const net = new Network(config.network, initialWeights(config.network, 0));
    const x = tf.zeros([batch, patch, patch, 3]) as tf.Tensor4D;
    const helpers = threads ? await GradientWorkers.start(threads, 'wasm', config) : undefined;
    const t = trainStepTimer(net, x, helpers);
    step = async () => {
      await t.run();
      return t.lastLoss();
    };
    dispose = async () => {
      t.dispose();
      await helpers?.close();
      x.dispose();
      net.dispose();
    };
  } else {
    throw new Error(`--one takes onnx or wasm, not ${engine}`);
  }
  let loss = await step();
  const time = async () => {
    const start = performance.now();
    loss = await step();
    return performance.now() - start;
  };
  const times: number[] = [];
  const start = performance.now();
  while (times.length < MIN_STEPS || (times.length < MAX_STEPS && performance.now() - start < budgetMs))
    times.push(await time());
  await dispose();
  return { ms: median(times), steps: times.length, peakRssMb: process.resourceUsage().maxRSS / 1024, loss };
}

if (isEntry(import.meta.filename)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      one: { type: 'boolean' },
      batch: { type: 'string', default: '16' },
      patch: { type: 'string', default: '48' },
      budget: { type: 'string', default: '8' },
      threads: { type: 'string', default: '0' },
    },
  });
  const [engine, preset, act] = positionals;
  if (!values.one || !isPresetName(preset) || !isActivationName(act)) {
    throw new Error(
      'usage: bench-train-cpu.ts --one onnx|wasm PRESET ACT [--batch 16] [--patch 48] [--budget 8] [--threads N]',
    );
  }
  const m = await one(
    engine as Engine,
    preset,
    act,
    Number(values.batch),
    Number(values.patch),
    Number(values.budget) * 1000,
    Number(values.threads),
  );
  process.stdout.write(`${JSON.stringify(m)}\n`, () => process.exit(0));
}
