/**
 * Comparisons for the UI: `compare` (ml/jobs/compare.ts: activations trained alike, the report
 * files written) and `compare-models` (ml/jobs/compare-models.ts: a whole photo with two models,
 * into files for the side-by-side viewer).
 */
import { compareJob, runLabel } from '../../ml/jobs/compare.ts';
import { compareModelsJob } from '../../ml/jobs/compare-models.ts';
import { CompareClock } from '../../ml/train/compare-eta.ts';
import { imageData } from './images.ts';
import { basename, type JobContext } from './job.ts';
import type { CompareModelsSpec, CompareSpec } from './protocol.ts';
import { trainEventForwarder } from './train-job.ts';

export async function runCompare(spec: CompareSpec, ctx: JobContext): Promise<void> {
  const { emit } = ctx;
  const say = (message: string) => emit('job:progress', { fraction: 0, message });
  const forwarders = new Map<string, ReturnType<typeof trainEventForwarder>>();
  const clock = new CompareClock(spec.acts.length * spec.seeds);
  /** Each run's iterations, as the comparison's settings make them. */
  let iterations = 1;
  const {
    report: r,
    dir,
    sheet,
    models,
  } = await compareJob({ ...spec, backend: ctx.backend, threads: ctx.threads, control: ctx.control }, async (e) => {
    if (e.type === 'note' || e.type === 'data-warning') return say(e.message);
    if (e.type === 'start') {
      iterations = e.base.iterations;
      return say(`Comparing ${spec.acts.join(' and ')}${e.threads > 1 ? ` on ${e.threads} threads` : ''}…`);
    }
    const key = runLabel(e.act, e.seed);
    let forward = forwarders.get(key);
    if (!forward)
      forwarders.set(
        key,
        (forward = trainEventForwarder(
          ctx,
          iterations,
          { act: e.act, seed: e.seed },
          { start: e.index / e.total, width: 1 / e.total },
        )),
      );
    const ev = e.event;
    if (ev.type === 'started') clock.started();
    if (ev.type === 'end') clock.finished();
    // The time left is the whole comparison's, not this run's.
    await forward(ev.type === 'progress' ? { ...ev, etaMs: clock.etaMs(e.index, ev.etaMs) } : ev);
    // The run's error as the engine's, for the host to word for the app (the comparison goes on).
    if (e.event.type === 'failed')
      ctx.post({ type: 'run-error', jobId: ctx.jobId, run: key, fraction: e.index / e.total, error: e.event.error });
  });
  const [a, b] = spec.acts;
  const gap = r.paired
    ? ` ${b} − ${a}: ${r.paired.psnrY.mean >= 0 ? '+' : ''}${r.paired.psnrY.mean.toFixed(3)} dB PSNR-Y.`
    : '';
  emit('job:done', {
    summary: `${r.cancelled ? 'Comparison cancelled; partial report' : 'Comparison finished; report'} written to ${dir}.${gap}`,
    result: { kind: 'compare', ...r, dir, sheet: sheet ? await imageData(sheet) : null, models },
  });
}

export async function runCompareModels(spec: CompareModelsSpec, ctx: JobContext): Promise<void> {
  const { emit } = ctx;
  const r = await compareModelsJob(
    { ...spec, backend: ctx.backend.name, threads: ctx.inferenceThreads },
    (message, fraction) => emit('job:progress', { fraction, message }),
    ctx.signal,
  );
  emit('job:progress', { fraction: 1, message: 'Done' });
  const { width, height } = r.input;
  emit('job:done', {
    summary: spec.groundTruth
      ? `Reduced ${basename(spec.image)} to ${width}×${height} and enlarged it with both models.`
      : `Upscaled ${basename(spec.image)} (${width}×${height}) with both models.`,
    result: { kind: 'compare-models', ...r },
  });
}
