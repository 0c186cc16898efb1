/**
 * The upscale job (ml/jobs/upscale.ts) for the UI: its events become progress, tile previews
 * (throttled), each file's result or its error, and a typed result.
 */
import { upscaleJob } from '../../ml/jobs/upscale.ts';
import { isOnnxPath } from '../../ml/node/imported-model.ts';
import { readSidecar } from '../../ml/node/imported-models.ts';
import { loadModelFile } from '../../ml/node/models.ts';
import { through, withFileAt } from '../../ml/node/through.ts';
import type { TileDone } from '../../ml/tiling.ts';
import type { UpscaleResult } from '../api.ts';
import { fileImageData, rgbImageData } from './images.ts';
import { basename, errorOf, Throttle, type JobContext } from './job.ts';
import type { UpscaleSpec } from './protocol.ts';

/**
 * The result image sent with file-done is scaled to fit this: a preview the viewer shows until the
 * output's own tiles arrive (image:info / image:tile).
 */
export const RESULT_MAX_SIDE = 512;

export async function runUpscale(spec: UpscaleSpec, ctx: JobContext): Promise<void> {
  const { jobId, post, emit } = ctx;
  const t = through(spec.through);
  // An imported model is opened by the job; its record is read only where files are read by name (the desktop app),
  // and its range and margin (as chosen) come with the spec.
  const run = spec.imported?.[spec.model];
  const model = isOnnxPath(spec.model)
    ? {
        onnx: t.use(spec.model),
        shownAs: spec.model,
        known: spec.through ? undefined : await readSidecar(spec.model),
        range: run?.range,
        overlap: run?.margin,
      }
    : await loadModelFile(t.use(spec.model)).catch((e: unknown) => {
        throw t.named(e);
      });
  const progress = new Throttle(50);
  let previews: TilePreviews | undefined;
  const result = await upscaleJob(
    { ...spec, model, backend: ctx.backend.name, threads: ctx.inferenceThreads },
    async (e) => {
      switch (e.type) {
        case 'problem':
          post({ type: 'file-error', jobId, file: e.error.file ?? '', error: errorOf(e.error) });
          break;
        case 'file':
          previews = undefined;
          emit('job:progress', {
            fraction: e.index / e.total,
            message: `Upscaling ${basename(e.input)} (${e.index + 1} of ${e.total})`,
            file: e.input,
            fileFraction: 0,
          });
          break;
        case 'progress':
          previews ??= new TilePreviews(ctx, e.input, e.width, e.height);
          previews.offer(e.tile);
          if (progress.ready(e.fraction === 1)) {
            emit('job:progress', {
              fraction: (e.index + e.fraction) / e.total,
              message: `Upscaling ${basename(e.input)} (${e.index + 1} of ${e.total})`,
              file: e.input,
              fileFraction: e.fraction,
            });
          }
          break;
        case 'file-done':
          // Previews of a file always come before its file-done.
          await previews?.flush();
          emit('job:file-done', {
            file: e.input,
            output: e.output,
            width: e.width,
            height: e.height,
            result: await withFileAt(t.use(e.output), (f) => fileImageData(f, RESULT_MAX_SIDE)),
            ...(e.warning ? { warning: e.warning } : {}),
          });
          break;
        case 'file-error':
          await previews?.flush().catch(() => undefined);
          post({ type: 'file-error', jobId, file: e.input, error: errorOf(e.error) });
          break;
      }
    },
    ctx.signal,
  );
  await previews?.flush().catch(() => undefined);
  const n = result.upscaled;
  const summary = result.cancelled
    ? `Cancelled: ${n} of ${result.files} images upscaled before stopping; the unfinished one was not written.`
    : result.failed
      ? `${n} upscaled, ${result.failed} failed.`
      : `${n} upscaled.`;
  if (!result.cancelled) emit('job:progress', { fraction: 1, message: summary });
  const typed: UpscaleResult = {
    upscaled: n,
    failed: result.failed,
    cancelled: result.cancelled,
    outputs: result.outputs,
  };
  emit('job:done', { summary, result: { kind: 'upscale', ...typed } });
}

/**
 * Sends finished tiles as PNG previews, at most one per `previewIntervalMs` (plus always the last
 * tile). Encoding runs in the background in order; `flush` waits for it.
 */
class TilePreviews {
  #chain: Promise<void> = Promise.resolve();
  readonly #throttle: Throttle;
  constructor(
    private readonly ctx: JobContext,
    private readonly file: string,
    private readonly fullWidth: number,
    private readonly fullHeight: number,
  ) {
    this.#throttle = new Throttle(ctx.previewIntervalMs);
  }

  offer(t: TileDone): void {
    if (!this.#throttle.ready(t.index === t.total - 1)) return;
    const { out, rgb } = t;
    this.#chain = this.#chain.then(async () => {
      const image = await rgbImageData(rgb, out.w, out.h);
      this.ctx.emit('job:preview', {
        file: this.file,
        x: out.x,
        y: out.y,
        width: out.w,
        height: out.h,
        image,
        fullWidth: this.fullWidth,
        fullHeight: this.fullHeight,
      });
    });
  }

  flush(): Promise<void> {
    return this.#chain;
  }
}
