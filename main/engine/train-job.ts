/**
 * Training for the UI: the training job (ml/jobs/train.ts), with each event forwarded as progress,
 * metrics and previews. Cancelling goes through TrainControl, so the trainer saves a checkpoint
 * before it stops.
 */
import type { ActivationName } from '../../ml/activations.ts';
import { runLabel } from '../../ml/jobs/compare.ts';
import { trainJob, type TrainJobEvent } from '../../ml/jobs/train.ts';
import type { TrainEvent } from '../../ml/train/events.ts';
import type { TrainResult } from '../api.ts';
import { imageData } from './images.ts';
import { Throttle, type JobContext } from './job.ts';
import type { TrainSpec } from './protocol.ts';

export async function runTrain(spec: TrainSpec, ctx: JobContext): Promise<void> {
  const { jobId, post, emit } = ctx;
  let forward: ((e: TrainEvent) => Promise<void>) | undefined;
  let perceptual = false;
  const say = (message: string) => emit('job:progress', { fraction: 0, message });
  const result = await trainJob(
    { ...spec, backend: ctx.backend, threads: ctx.threads, command: 'SR Studio app', control: ctx.control },
    async (e: TrainJobEvent) => {
      if (e.type === 'note' || e.type === 'data-warning') return say(e.message);
      if (e.type === 'run') {
        forward = trainEventForwarder(ctx, e.config.iterations);
        perceptual = e.config.objective === 'perceptual';
        const how = e.continued
          ? e.from
            ? `Continuing from iteration ${e.from}`
            : 'Starting the run again from the beginning (it had no checkpoint yet)'
          : `Starting a new ${perceptual ? 'perceptual ' : ''}run`;
        const where = perceptual ? ` (on ${ctx.backend.device})` : '';
        return say(`${how} in ${e.dir}${where}${e.threads > 1 ? ` on ${e.threads} threads` : ''}…`);
      }
      await forward!(e);
    },
  );
  if (result.reason === 'failed') {
    // Said as the engine's error, for the host to word for the app.
    post({ type: 'error', jobId, error: result.error ?? { code: 'internal', facts: { why: result.message ?? '' } } });
    return;
  }
  const b = result.best;
  const detail = b?.detail === undefined ? '' : `, detail ${b.detail.toFixed(3)}`;
  // A perceptual run keeps its latest validated weights (ml/train/best.ts), not its best PSNR.
  const best = !b
    ? 'no validation'
    : perceptual
      ? `the model is the latest validated weights: iteration ${b.iteration}, validation PSNR-Y ${b.psnrY.toFixed(2)} dB${detail}`
      : `best validation PSNR-Y ${b.psnrY.toFixed(2)} dB${detail} at iteration ${b.iteration}`;
  const what =
    result.reason === 'cancelled'
      ? `Stopped at iteration ${result.iteration} (checkpoint saved); continue it from the list of runs`
      : `Finished ${result.iteration} iterations`;
  const typed: TrainResult = {
    reason: result.reason,
    iteration: result.iteration,
    iterations: result.iterations,
    runDir: result.runDir,
    modelPath: result.modelPath,
    best: result.best,
  };
  emit('job:done', { summary: `${what}; ${best}.`, result: { kind: 'train', ...typed } });
}

/** One run of a comparison: its activation and seed. */
export interface ComparedRun {
  readonly act: ActivationName;
  readonly seed: number;
}

/**
 * Maps one run's TrainEvents onto the job's events. `run` is the run among several (compare): its
 * metrics carry its activation and seed, its messages name it, and its previews are not sent (the
 * Compare view shows curves, not previews). `span` places its progress within the whole job.
 */
export function trainEventForwarder(
  ctx: JobContext,
  iterations: number,
  run?: ComparedRun,
  span = { start: 0, width: 1 },
) {
  const { emit } = ctx;
  const progress = new Throttle(100);
  const tag = run ? `${runLabel(run.act, run.seed)}: ` : '';
  const which = run ? { act: run.act, seed: run.seed } : {};
  const fraction = (it: number) => span.start + (span.width * Math.min(it, iterations)) / iterations;
  return async (e: TrainEvent): Promise<void> => {
    switch (e.type) {
      case 'started':
        emit('job:progress', {
          fraction: fraction(e.iteration),
          message: `${tag}${e.continued ? `continuing from iteration ${e.iteration}` : 'training'} (${e.parameters.toLocaleString('en-US')} parameters) on ${e.trainImages} images`,
        });
        break;
      case 'progress':
        emit('job:metrics', {
          ...which,
          iteration: e.iteration,
          loss: e.loss,
          itPerSec: e.itPerSec,
          etaMs: Math.round(e.etaMs),
        });
        if (progress.ready(e.iteration === iterations)) {
          emit('job:progress', {
            fraction: fraction(e.iteration),
            message: `${tag}iteration ${e.iteration} of ${iterations}, loss ${e.loss.toFixed(4)}`,
          });
        }
        break;
      case 'validation':
        emit('job:metrics', {
          ...which,
          iteration: e.iteration,
          psnrY: e.psnrY,
          ssimY: e.ssimY,
          detail: e.detail,
          bicubicPsnrY: e.bicubicPsnrY,
        });
        break;
      case 'preview':
        if (run) break;
        emit('job:preview', {
          x: 0,
          y: 0,
          width: e.image.width,
          height: e.image.height,
          image: await imageData(e.image),
        });
        break;
      case 'warning':
        emit('job:progress', { fraction: fraction(e.iteration), message: `${tag}warning: ${e.message}` });
        break;
      case 'paused':
      case 'resumed':
        emit('job:state', {
          state: e.type === 'paused' ? 'paused' : 'running',
          message: `${tag}${e.type === 'paused' ? 'Paused' : 'Resumed'} at iteration ${e.iteration}`,
        });
        break;
      case 'checkpoint':
      case 'end':
      case 'failed':
        break;
    }
  };
}
