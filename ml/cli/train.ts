import path from 'node:path';
import { ACTIVATION_NAMES } from '../activations.ts';
import { BACKEND_NAMES, type BackendChoice, type BackendSelection } from '../backend-choice.ts';
import { DEGRADE_NAMES } from '../degrade.ts';
import { errors } from '../errors.ts';
import { duration } from '../format.ts';
import { trainJob, type TrainJobEvent, type TrainSettings } from '../jobs/train.ts';
import { PRESET_NAMES } from '../network.ts';
import { initBackend } from '../node/backends.ts';
import { MODEL_FILE, RunFolder } from '../node/run-folder.ts';
import { OBJECTIVES, SETTING_RANGES, type TrainConfig } from '../train/config.ts';
import { TrainControl } from '../train/events.ts';
import { trainingBackend } from '../train/objective.ts';
import { choiceOption, intOption, noPositionals, type Command } from './options.ts';
import { reportBackend, type Reporter } from './report.ts';

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
  objective: { type: 'string' },
  'adv-weight': { type: 'string' },
} as const;

/** The most helper threads --threads takes. */

function numberOption(
  values: Record<string, unknown>,
  name: string,
  [lo, hi]: readonly [number, number],
  what: string,
): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < lo || n > hi)
    throw errors.badArgument(`--${name} must be ${what} from ${lo} to ${hi}, not "${String(v)}".`);
  return n;
}

/** The training settings the user gave (unset ones stay undefined, for defaults or a continued run). */
export function trainSettings(values: Record<string, unknown>): TrainSettings {
  const r = SETTING_RANGES;
  return {
    scale: intOption(values, 'scale', 2, 4),
    activation: choiceOption(values, 'act', ACTIVATION_NAMES),
    preset: choiceOption(values, 'preset', PRESET_NAMES),
    iterations: intOption(values, 'iters', ...r.iterations),
    batch: intOption(values, 'batch', ...r.batch),
    patch: intOption(values, 'patch', ...r.patch),
    lr: numberOption(values, 'lr', r.lr, 'a learning rate'),
    seed: intOption(values, 'seed', ...r.seed),
    valEvery: intOption(values, 'val-every', ...r.valEvery),
    valMaxSide: intOption(values, 'val-max-side', ...r.valMaxSide),
    emaDecay: numberOption(values, 'ema', r.emaDecay, 'a decay'),
    loss: choiceOption(values, 'loss', ['l1', 'charbonnier'] as const),
    degrade: choiceOption(values, 'degrade', DEGRADE_NAMES),
    objective: choiceOption(values, 'objective', OBJECTIVES),
    advWeight: numberOption(values, 'adv-weight', r.advWeight, 'a weight'),
  };
}

/**
 * The settings every training command checks before it starts anything. `continued`: a run is
 * continued, whose own objective (perceptual or not) the job checks --adv-weight against.
 */
export function commonTrainOptions(values: Record<string, unknown>, continued = false) {
  const backend = (values.backend as string | undefined) ?? 'auto';
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) throw errors.unknownBackend(backend, BACKEND_NAMES);
  const settings = trainSettings(values);
  if (settings.advWeight !== undefined && settings.objective !== 'perceptual' && !continued)
    throw errors.badArgument(
      '--adv-weight weighs the adversarial loss of a perceptual run; add --objective perceptual.',
    );
  return {
    backend: backend as BackendChoice,
    threads: intOption(values, 'threads', ...SETTING_RANGES.threads) ?? null,
    settings,
  };
}

/**
 * The backend choice a training runs on (`trainingBackend`), for the objective given, or else for
 * the continued run's own as its config.json records it: auto continues a perceptual run on ONNX
 * Runtime. A folder without a readable config leaves the choice as it is; the job then says what
 * is wrong with the folder.
 */
export async function trainBackendChoice(
  choice: BackendChoice,
  objective: unknown,
  continued: string | undefined,
): Promise<BackendChoice> {
  const recorded =
    objective === undefined && continued !== undefined && choice === 'auto'
      ? (await RunFolder.readConfig(continued).catch(() => undefined))?.objective
      : undefined;
  return trainingBackend(choice, objective ?? recorded);
}

/**
 * The backend as the command line reports it: when `auto` was turned into ONNX Runtime for a
 * perceptual run (`trainingBackend`), it says why instead of "as requested".
 */
export function reportedSelection(
  selection: BackendSelection,
  chosen: BackendChoice,
  used: BackendChoice,
): BackendSelection {
  return chosen === 'auto' && used !== 'auto'
    ? {
        ...selection,
        why: selection.why.replace(/ \(as requested\)$/, ' (auto: perceptual training runs on ONNX Runtime)'),
      }
    : selection;
}

/** The job's start, where the CLIs say the same: helper threads and where validation runs. */
export function reportStart(report: Reporter, threads: number, evaluator: string | null): void {
  if (threads > 1)
    report.event('note', `Training on ${threads} threads (each batch is split across them).`, { threads });
  if (evaluator) report.event('note', `Validation and previews run on ${evaluator}.`, { evaluator });
}

/** Ctrl-C once: stop at the next step with a checkpoint; twice: quit at once. */
export function onInterrupt(report: Reporter, control: TrainControl): () => void {
  let interrupts = 0;
  const handler = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    report.event('note', 'Stopping: saving a checkpoint (Ctrl-C again to quit at once)…');
    control.cancel();
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

export const trainCommand: Command = {
  options: {
    ...TRAIN_OPTIONS,
    resume: { type: 'string', short: 'r' },
    init: { type: 'string' },
  },
  async run(values, positionals, report) {
    noPositionals('train', positionals, 'use --data DIR');
    const data = values.data as string | undefined;
    // --resume RUN continues a stopped (or finished) run: the flag keeps its name; the idea is "continue".
    const continued = values.resume as string | undefined;
    const { threads, settings, ...chosen } = commonTrainOptions(values, continued !== undefined);
    // A continued run trains on the folders its run.json records, unless they are given.
    if (!data && !continued) throw errors.badArgument('train needs a folder of training photos: --data DIR.');
    if (continued && values.out) throw errors.badArgument('--resume continues the run where it is; leave out --out.');
    const init = values.init as string | undefined;
    if (init === '')
      throw errors.badArgument(
        "--init needs a model: a bundled model's name (e.g. tanhexp_photo_x2) or a .safetensors file.",
      );
    const backend = await trainBackendChoice(chosen.backend, settings.objective, continued);
    const selection = reportedSelection(await initBackend(backend, 'train'), chosen.backend, backend);
    reportBackend(report, selection);
    const control = new TrainControl();
    const release = onInterrupt(report, control);
    try {
      const result = await trainJob(
        {
          data,
          val: values.val as string | undefined,
          settings,
          init,
          run: continued
            ? { kind: 'continue', dir: continued }
            : { kind: 'new', dir: values.out as string | undefined, parent: 'runs' },
          backend: selection,
          threads,
          command: `sr-studio train ${process.argv.slice(3).join(' ')}`,
          control,
        },
        printer(report),
      );
      return result.reason === 'finished' ? 0 : result.reason === 'cancelled' ? 130 : 1;
    } finally {
      release();
    }
  },
};

/** Prints a training job's events. */
export function printer(report: Reporter): (e: TrainJobEvent) => void {
  let config: TrainConfig | undefined;
  let dir = '';
  let lastVal = '';
  return (je) => {
    if (je.type === 'note') return report.event('note', je.message, { message: je.message });
    if (je.type === 'data-warning') return report.event('warning', `warning: ${je.message}`, { message: je.message });
    if (je.type === 'run') {
      config = je.config;
      dir = je.dir;
      return reportStart(report, je.threads, je.evaluator);
    }
    const e = je;
    const c = config!;
    switch (e.type) {
      case 'started':
        report.event(
          'started',
          `${e.continued ? `Continuing from iteration ${e.iteration}:` : 'Training'} ${describe(c)} (${e.parameters.toLocaleString('en-US')} parameters) on ${e.trainImages} images, validating on ${e.valImages}; run folder ${dir}`,
          {
            dir: path.resolve(dir),
            config: e.config,
            iteration: e.iteration,
            parameters: e.parameters,
          },
        );
        break;
      case 'progress': {
        const p = e.parts;
        const parts = p
          ? ` (pixel ${p.pixel.toFixed(4)}, adv ${p.adversarial.toFixed(3)}, D ${p.discriminator.toFixed(3)})`
          : '';
        report.progress(
          `it ${e.iteration}/${c.iterations} loss ${e.loss.toFixed(4)}${parts} ${e.itPerSec.toFixed(2)} it/s ETA ${duration(e.etaMs)}${lastVal}`,
          e.iteration / c.iterations,
          {
            iteration: e.iteration,
            loss: e.loss,
            ...(p ? { parts: p } : {}),
            lr: e.lr,
            itPerSec: e.itPerSec,
            etaMs: Math.round(e.etaMs),
          },
        );
        break;
      }
      case 'validation': {
        const gain = e.psnrY - e.bicubicPsnrY;
        lastVal = ` | val ${e.psnrY.toFixed(2)} dB (bicubic ${e.bicubicPsnrY.toFixed(2)}, ${gain >= 0 ? '+' : ''}${gain.toFixed(2)}), detail ${e.detail.toFixed(3)}`;
        const { images, ...scores } = e;
        report.event(
          'validation',
          `it ${e.iteration}: val PSNR-Y ${e.psnrY.toFixed(2)} dB / SSIM-Y ${e.ssimY.toFixed(4)} / detail ${e.detail.toFixed(3)}; bicubic ${e.bicubicPsnrY.toFixed(2)} dB / ${e.bicubicSsimY.toFixed(4)} / ${e.bicubicDetail.toFixed(3)}`,
          { ...scores, images },
        );
        break;
      }
      case 'checkpoint':
        report.event('checkpoint', '', { iteration: e.iteration, path: e.path, best: e.best });
        break;
      case 'preview':
        report.event('preview', '', { iteration: e.iteration, path: e.path });
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
        break;
      case 'end': {
        const detail = e.best?.detail === undefined ? '' : `, detail ${e.best.detail.toFixed(3)}`;
        const best = !e.best
          ? 'no validation'
          : c.objective === 'perceptual'
            ? `the model is the latest validated weights: iteration ${e.best.iteration}, val PSNR-Y ${e.best.psnrY.toFixed(2)} dB${detail}`
            : `best val PSNR-Y ${e.best.psnrY.toFixed(2)} dB${detail} at iteration ${e.best.iteration}`;
        const model = path.join(dir, MODEL_FILE);
        const what =
          e.reason === 'cancelled'
            ? `Stopped at iteration ${e.iteration}; checkpoint saved, continue with --resume ${dir}`
            : `Finished ${e.iteration} iterations`;
        report.event(
          'end',
          `${what} in ${duration(e.elapsedMs)} (${e.msPerIteration.toFixed(0)} ms/iteration), ${best}. Model: ${model}`,
          {
            iteration: e.iteration,
            reason: e.reason,
            elapsedMs: Math.round(e.elapsedMs),
            msPerIteration: e.msPerIteration,
            best: e.best,
            model,
          },
        );
        break;
      }
    }
  };
}

export function describe(c: TrainConfig): string {
  const degrade = c.degrade === 'none' ? '' : `, ${c.degrade} degradations`;
  const objective = c.objective === 'perceptual' ? `, perceptual (adversarial weight ${c.advWeight})` : '';
  return `${c.preset ?? 'custom'} x${c.network.scale} ${c.network.activation}${objective}, ${c.iterations} iterations of batch ${c.batch} × ${c.patch}² LR patches${degrade}, lr ${c.lr}, seed ${c.seed}`;
}
