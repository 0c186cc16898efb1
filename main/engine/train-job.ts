/**
 * A training run for the UI: the same engine calls as `sr-studio train` (an existing run in the
 * folder is resumed), with each TrainEvent forwarded as progress, metrics and previews. Cancelling
 * goes through TrainControl, so the trainer saves a checkpoint before it stops.
 */
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import { exists } from '../../ml/node/files.ts';
import { sharpJpeg } from '../../ml/node/jpeg.ts';
import { RunFolder } from '../../ml/node/run-folder.ts';
import { loadTrainingData } from '../../ml/node/training-data.ts';
import type { Checkpoint } from '../../ml/train/checkpoint.ts';
import { makeTrainConfig, type TrainConfig } from '../../ml/train/config.ts';
import type { TrainEvent } from '../../ml/train/events.ts';
import { train } from '../../ml/train/trainer.ts';
import { imageData } from './images.ts';
import { assertCanTrain, Throttle, type JobContext } from './job.ts';
import type { TrainSpec } from './protocol.ts';

export async function runTrain(spec: TrainSpec, ctx: JobContext): Promise<void> {
  const { id, post } = ctx;
  assertCanTrain(ctx.backend);
  let config: TrainConfig;
  let folder: RunFolder;
  let resume: Checkpoint | undefined;
  const degrade = spec.degrade ?? 'none';
  if (await exists(path.join(spec.outDir, 'config.json'))) {
    const opened = await RunFolder.open(spec.outDir);
    const n = opened.config.network;
    const clash =
      (n.scale !== spec.scale && `scale ${n.scale}`) ||
      (n.activation !== spec.activation && `activation ${n.activation}`) ||
      (opened.config.preset !== spec.preset && `preset ${opened.config.preset ?? 'custom'}`) ||
      (opened.config.degrade !== degrade && `the ${opened.config.degrade} training inputs`);
    if (clash) throw errors.badArgument(`The run in ${JSON.stringify(spec.outDir)} was trained with ${clash}; choose the same settings to continue it, or another output folder.`);
    config = { ...opened.config, iterations: spec.iterations };
    folder = opened.folder;
    resume = opened.checkpoint;
  } else {
    config = makeTrainConfig({ preset: spec.preset, scale: spec.scale, activation: spec.activation, iterations: spec.iterations, degrade, ...spec.tweaks });
    folder = await RunFolder.create(spec.outDir, config.keepCheckpoints);
  }
  const message = (m: string) => post({ type: 'progress', id, fraction: 0, message: m });
  message('Reading the training photos…');
  const data = await loadTrainingData({
    data: spec.data,
    val: spec.val ?? undefined,
    scale: config.network.scale,
    patch: config.patch,
    seed: config.seed,
    valMaxSide: config.valMaxSide,
    onWarning: message,
  });
  for (const n of data.notes) message(n);
  const events = train({
    config,
    data: data.train,
    val: data.val,
    store: folder,
    control: ctx.control,
    resume,
    jpeg: sharpJpeg,
    summary: { data: path.resolve(spec.data), backend: `${ctx.backend.name} (${ctx.backend.device})`, command: 'SR Studio app' },
  });
  const forward = trainEventForwarder(ctx, config.iterations);
  for await (const e of events) {
    await forward(e);
    if (e.type === 'failed') {
      post({ type: 'error', id, message: e.message });
      return;
    }
    if (e.type === 'finished') {
      const best = e.best ? `best validation PSNR-Y ${e.best.psnrY.toFixed(2)} dB at iteration ${e.best.iteration}` : 'no validation';
      const what = e.reason === 'cancelled' ? `Stopped at iteration ${e.iteration}; a checkpoint was saved, start it again to continue` : `Finished ${e.iteration} iterations`;
      post({
        type: 'done',
        id,
        summary: `${what}; ${best}.`,
        result: { reason: e.reason, iteration: e.iteration, runDir: path.resolve(folder.dir), modelPath: path.resolve(folder.modelPath), best: e.best },
      });
      return;
    }
  }
}

/**
 * Maps one run's TrainEvents onto worker events. `run` names the run among several (compare), and
 * `span` places its progress within the whole job.
 */
export function trainEventForwarder(ctx: JobContext, iterations: number, run?: string, span = { start: 0, width: 1 }) {
  const { id, post } = ctx;
  const progress = new Throttle(100);
  const tag = run ? `${run}: ` : '';
  const fraction = (it: number) => span.start + (span.width * Math.min(it, iterations)) / iterations;
  return async (e: TrainEvent): Promise<void> => {
    switch (e.type) {
      case 'started':
        post({ type: 'progress', id, fraction: fraction(e.iteration), message: `${tag}${e.resumed ? 'resuming' : 'training'} (${e.parameters.toLocaleString('en-US')} parameters) on ${e.trainImages} images` });
        break;
      case 'progress':
        post({ type: 'metrics', id, run, iteration: e.iteration, loss: e.loss, itPerSec: e.itPerSec, etaMs: Math.round(e.etaMs) });
        if (progress.ready(e.iteration === iterations)) {
          post({ type: 'progress', id, fraction: fraction(e.iteration), message: `${tag}iteration ${e.iteration} of ${iterations}, loss ${e.loss.toFixed(4)}` });
        }
        break;
      case 'validation':
        post({ type: 'metrics', id, run, iteration: e.iteration, psnrY: e.psnrY, ssimY: e.ssimY, bicubicPsnrY: e.bicubicPsnrY });
        break;
      case 'preview':
        // A compare run's preview names its run in `file`, so the UI can keep one strip per run.
        post({ type: 'preview', id, file: run, x: 0, y: 0, width: e.image.width, height: e.image.height, image: await imageData(e.image) });
        break;
      case 'warning':
        post({ type: 'progress', id, fraction: fraction(e.iteration), message: `${tag}warning: ${e.message}` });
        break;
      case 'paused':
      case 'resumed':
        post({ type: 'progress', id, fraction: fraction(e.iteration), message: `${tag}${e.type} at iteration ${e.iteration}` });
        break;
      case 'checkpoint':
      case 'finished':
      case 'failed':
        break;
    }
  };
}
