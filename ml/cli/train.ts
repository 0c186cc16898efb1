import path from 'node:path';
import { ACTIVATION_NAMES } from '../activations.ts';
import { BACKEND_NAMES } from '../backend-choice.ts';
import { DEGRADE_NAMES } from '../degrade.ts';
import { errors } from '../errors.ts';
import { PRESET_NAMES } from '../network.ts';
import { initBackend } from '../node/backends.ts';
import { exists } from '../node/files.ts';
import { sharpJpeg } from '../node/jpeg.ts';
import { RunFolder } from '../node/run-folder.ts';
import { defaultThreads, GradientWorkers } from '../node/grad-workers.ts';
import { loadTrainingData } from '../node/training-data.ts';
import { makeTrainConfig, runName, type TrainConfig } from '../train/config.ts';
import { TrainControl, type TrainEvent } from '../train/events.ts';
import { train } from '../train/trainer.ts';
import { choiceOption, intOption, type Command } from './main.ts';
import { createReporter, pickMode, type Reporter } from './report.ts';

export const TRAIN_OPTIONS = {
  data: { type: 'string', short: 'd' },
  val: { type: 'string' },
  scale: { type: 'string', short: 's' },
  act: { type: 'string' },
  preset: { type: 'string' },
  iters: { type: 'string' },
  batch: { type: 'string' },
  patch: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string', short: 'b' },
  out: { type: 'string', short: 'o' },
  'val-every': { type: 'string' },
  'val-max-side': { type: 'string' },
  ema: { type: 'string' },
  loss: { type: 'string' },
  threads: { type: 'string' },
  degrade: { type: 'string' },
} as const;

/** The training settings the user gave (unset ones stay undefined, for defaults or a resumed run). */
export function trainSettings(values: Record<string, unknown>) {
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0 && lr < 1)) throw errors.badArgument(`--lr must be a number between 0 and 1, not "${String(values.lr)}".`);
  const ema = values.ema === undefined ? undefined : Number(values.ema);
  if (ema !== undefined && !(ema >= 0 && ema < 1)) throw errors.badArgument(`--ema must be a decay in [0, 1), e.g. 0.999, not "${String(values.ema)}".`);
  const scale = intOption(values, 'scale', 2, 4);
  return {
    scale,
    activation: choiceOption(values, 'act', ACTIVATION_NAMES),
    preset: choiceOption(values, 'preset', PRESET_NAMES),
    iterations: intOption(values, 'iters', 1, 10_000_000),
    batch: intOption(values, 'batch', 1, 1024),
    patch: intOption(values, 'patch', 8, 512),
    lr,
    seed: intOption(values, 'seed', 0, 2 ** 31 - 1),
    valEvery: intOption(values, 'val-every', 1, 10_000_000),
    valMaxSide: intOption(values, 'val-max-side', 0, 100_000),
    emaDecay: ema,
    loss: choiceOption(values, 'loss', ['l1', 'charbonnier'] as const),
    degrade: choiceOption(values, 'degrade', DEGRADE_NAMES),
  };
}

/** Starts the helper threads for data-parallel training (--threads, default: one per extra core on CPU backends). */
export async function startHelpers(values: Record<string, unknown>, backend: string, config: TrainConfig, report: Reporter): Promise<GradientWorkers | undefined> {
  const threads = intOption(values, 'threads', 0, 64) ?? defaultThreads(backend);
  if (!threads) return undefined;
  const helpers = await GradientWorkers.start(threads, backend, config);
  report.event('note', `Training on ${threads + 1} threads (each batch is split across them).`, { threads: threads + 1 });
  return helpers;
}

export function checkBackendName(name: string): void {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) throw errors.unknownBackend(name, BACKEND_NAMES);
}

export const runTrain: Command = {
  options: { ...TRAIN_OPTIONS, resume: { type: 'string', short: 'r' } },
  async run(values, positionals, json) {
    const report = createReporter(pickMode(json));
    if (positionals.length) throw errors.badArgument(`train takes no plain arguments ("${positionals[0]}"); use --data DIR.`);
    const backendName = (values.backend as string | undefined) ?? 'auto';
    checkBackendName(backendName);
    const s = trainSettings(values);
    let config: TrainConfig;
    let folder: RunFolder | undefined;
    let outDir = '';
    let resume;
    if (values.resume) {
      const opened = await RunFolder.open(values.resume as string);
      config = opened.config;
      folder = opened.folder;
      resume = opened.checkpoint;
      const n = config.network;
      const clash =
        (s.scale !== undefined && s.scale !== n.scale && `scale ${n.scale}`) ||
        (s.activation !== undefined && s.activation !== n.activation && `activation ${n.activation}`) ||
        (s.preset !== undefined && s.preset !== config.preset && `preset ${config.preset ?? 'custom'}`) ||
        (s.degrade !== undefined && s.degrade !== config.degrade && `--degrade ${config.degrade}`);
      if (clash) throw errors.badArgument(`The run in ${JSON.stringify(values.resume)} was trained with ${clash}; resume it without changing the architecture, or start a new run.`);
      if (s.iterations !== undefined) config = { ...config, iterations: s.iterations };
    } else {
      if (!values.data) throw errors.badArgument('train needs a folder of training photos: --data DIR.');
      config = makeTrainConfig(s);
      const out = (values.out as string | undefined) ?? path.join('runs', runName(config));
      if (await exists(path.join(out, 'config.json'))) {
        throw errors.badArgument(`${JSON.stringify(out)} already holds a training run; continue it with --resume ${out}, or choose another --out.`);
      }
      outDir = out;
    }
    const dataDir = (values.data as string | undefined) ?? undefined;
    if (!dataDir) throw errors.badArgument('--resume also needs the training folder: --data DIR (and --val DIR if the run used one).');
    const data = await loadTrainingData({
      data: dataDir,
      val: values.val as string | undefined,
      scale: config.network.scale,
      patch: config.patch,
      seed: config.seed,
      valMaxSide: config.valMaxSide,
      onWarning: (m) => report.event('warning', `warning: ${m}`, { message: m }),
    });
    for (const n of data.notes) report.event('note', n, { message: n });
    // The run folder is made only once the data is known to be usable.
    folder ??= await RunFolder.create(outDir, config.keepCheckpoints);
    const runFolder = folder;
    const selection = await initBackend(backendName, 'training');
    report.event('backend', `Backend: ${selection.why}`, { backend: selection.name, device: selection.device });

    const helpers = await startHelpers(values, selection.name, config, report);
    const control = new TrainControl();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      report.event('note', 'Stopping: saving a checkpoint (Ctrl-C again to quit at once)…');
      control.cancel();
    };
    process.on('SIGINT', onSigint);
    try {
      const events = train({
        config,
        data: data.train,
        val: data.val,
        store: runFolder,
        control,
        resume,
        helpers,
        jpeg: sharpJpeg,
        summary: { data: path.resolve(dataDir), backend: `${selection.name} (${selection.device})`, command: `sr-studio train ${process.argv.slice(3).join(' ')}` },
      });
      return await consume(events, report, runFolder, config);
    } finally {
      process.off('SIGINT', onSigint);
      await helpers?.close();
    }
  },
};

/** Prints the event stream; returns the exit code. */
export async function consume(events: AsyncIterable<TrainEvent>, report: Reporter, folder: RunFolder, config: TrainConfig): Promise<number> {
  let lastVal = '';
  for await (const e of events) {
    switch (e.type) {
      case 'started':
        report.event('started', `${e.resumed ? 'Resuming' : 'Training'} ${describe(config)} (${e.parameters.toLocaleString('en-US')} parameters) on ${e.trainImages} images, validating on ${e.valImages}; run folder ${folder.dir}`, {
          dir: path.resolve(folder.dir),
          config: e.config,
          iteration: e.iteration,
          parameters: e.parameters,
        });
        break;
      case 'progress':
        report.progress(
          `it ${e.iteration}/${config.iterations} loss ${e.loss.toFixed(4)} ${e.itPerSec.toFixed(2)} it/s ETA ${duration(e.etaMs)}${lastVal}`,
          e.iteration / config.iterations,
          { iteration: e.iteration, loss: e.loss, lr: e.lr, itPerSec: e.itPerSec, etaMs: Math.round(e.etaMs) },
        );
        break;
      case 'validation': {
        const gain = e.psnrY - e.bicubicPsnrY;
        lastVal = ` | val ${e.psnrY.toFixed(2)} dB (bicubic ${e.bicubicPsnrY.toFixed(2)}, ${gain >= 0 ? '+' : ''}${gain.toFixed(2)})`;
        const { images, ...scores } = e;
        report.event('validation', `it ${e.iteration}: val PSNR-Y ${e.psnrY.toFixed(2)} dB / SSIM-Y ${e.ssimY.toFixed(4)}; bicubic ${e.bicubicPsnrY.toFixed(2)} dB / ${e.bicubicSsimY.toFixed(4)}`, { ...scores, images });
        break;
      }
      case 'checkpoint':
        if (report.mode === 'json') report.event('checkpoint', '', { iteration: e.iteration, path: e.path, best: e.best });
        break;
      case 'preview':
        if (report.mode === 'json') report.event('preview', '', { iteration: e.iteration, path: e.path });
        break;
      case 'warning':
        report.event('warning', `warning: ${e.message}`, { iteration: e.iteration, message: e.message });
        break;
      case 'paused':
      case 'resumed':
        report.event(e.type, `${e.type} at iteration ${e.iteration}`, { iteration: e.iteration });
        break;
      case 'failed':
        report.error(e.message, { iteration: e.iteration });
        return 1;
      case 'finished': {
        const best = e.best ? `best val PSNR-Y ${e.best.psnrY.toFixed(2)} dB at iteration ${e.best.iteration}` : 'no validation';
        const what = e.reason === 'cancelled' ? `Stopped at iteration ${e.iteration}; checkpoint saved, continue with --resume ${folder.dir}` : `Finished ${e.iteration} iterations`;
        report.event('finished', `${what} in ${duration(e.elapsedMs)} (${e.msPerIteration.toFixed(0)} ms/iteration), ${best}. Model: ${folder.modelPath}`, {
          iteration: e.iteration,
          reason: e.reason,
          elapsedMs: Math.round(e.elapsedMs),
          msPerIteration: e.msPerIteration,
          best: e.best,
          model: folder.modelPath,
        });
        return e.reason === 'cancelled' ? 130 : 0;
      }
    }
  }
  return 0;
}

export function describe(c: TrainConfig): string {
  const degrade = c.degrade === 'none' ? '' : `, ${c.degrade} degradations`;
  return `${c.preset ?? 'custom'} x${c.network.scale} ${c.network.activation}, ${c.iterations} iterations of batch ${c.batch} × ${c.patch}² LR patches${degrade}, lr ${c.lr}, seed ${c.seed}`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
