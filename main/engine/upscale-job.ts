/**
 * An upscale batch, as the CLI runs it (collectImages, outputPathFor, checkOutputPath, upscaleFile),
 * reporting to the UI: progress, each finished tile as a live preview (throttled), each file's
 * result or its one-sentence error, and a summary. A bad file never stops the batch; cancelling
 * stops at the next tile and leaves no partial file.
 */
import { isUserError } from '../../ml/errors.ts';
import { checkOutputPath, collectImages, outputPathFor } from '../../ml/node/files.ts';
import { readImageSize } from '../../ml/node/image-io.ts';
import { loadModelFile } from '../../ml/node/models.ts';
import { upscaleFile } from '../../ml/node/upscale-file.ts';
import { openUpscaler } from '../../ml/node/upscaler.ts';
import type { TileDone } from '../../ml/tiling.ts';
import { fileImageData, rgbImageData } from './images.ts';
import { basename, messageOf, Throttle, type JobContext } from './job.ts';
import type { UpscaleSpec } from './protocol.ts';

/**
 * The result image sent with file-done is scaled to fit this: a preview the viewer shows until the
 * output's own tiles arrive (image:info / image:tile).
 */
export const RESULT_MAX_SIDE = 512;

export async function runUpscale(spec: UpscaleSpec, ctx: JobContext): Promise<void> {
  const { id, post } = ctx;
  const model = await loadModelFile(spec.modelPath);
  const scale = model.config.scale;
  const { files, problems } = await collectImages(spec.files);
  for (const p of problems) post({ type: 'file-error', id, file: p.file ?? '', message: p.message });
  const inputs = new Set(files.map((f) => f.path));
  const outputs: string[] = [];
  let failed = problems.length;
  let cancelled = false;
  const upscaler = await openUpscaler(ctx.backend.name, model);
  try {
    for (const [i, f] of files.entries()) {
      const label = `${basename(f.path)} (${i + 1} of ${files.length})`;
      post({ type: 'progress', id, fraction: i / files.length, message: `Upscaling ${label}`, file: f.path, fileFraction: 0 });
      const out = outputPathFor(f, { outDir: spec.outputDir ?? undefined, scale, format: spec.format });
      let previews: TilePreviews | undefined;
      try {
        const size = await readImageSize(f.path);
        await checkOutputPath(out, inputs, spec.overwrite);
        const tiles = (previews = new TilePreviews(ctx, f.path, size.width * scale, size.height * scale));
        const progress = new Throttle(50);
        const r = await upscaleFile({
          model: upscaler,
          input: f.path,
          output: out,
          format: spec.format,
          tile: spec.tile,
          signal: ctx.signal,
          onProgress: (fraction, tile) => {
            if (progress.ready(fraction === 1)) {
              post({ type: 'progress', id, fraction: (i + fraction) / files.length, message: `Upscaling ${label}`, file: f.path, fileFraction: fraction });
            }
            tiles.offer(tile);
          },
        });
        await tiles.flush();
        outputs.push(out);
        post({ type: 'file-done', id, file: f.path, output: out, width: r.width, height: r.height, result: await fileImageData(out, RESULT_MAX_SIDE) });
      } catch (e) {
        await previews?.flush().catch(() => undefined);
        if (isUserError(e) && e.code === 'cancelled') {
          cancelled = true;
          break;
        }
        failed++;
        post({ type: 'file-error', id, file: f.path, message: messageOf(e) });
      }
    }
  } finally {
    await upscaler.dispose();
  }
  const n = outputs.length;
  const summary = cancelled
    ? `Cancelled: ${n} of ${files.length} images upscaled before stopping; the unfinished one was not written.`
    : failed
      ? `${n} upscaled, ${failed} failed.`
      : `${n} upscaled.`;
  if (!cancelled) post({ type: 'progress', id, fraction: 1, message: summary });
  post({ type: 'done', id, summary, result: { upscaled: n, failed, cancelled, outputs } });
}

/**
 * Sends finished tiles as PNG previews, at most one per `previewIntervalMs` (plus always the last
 * tile). Encoding runs in the background in order; `flush` waits for it so previews of a file always
 * come before its file-done.
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
      this.ctx.post({ type: 'preview', id: this.ctx.id, file: this.file, x: out.x, y: out.y, width: out.w, height: out.h, image, fullWidth: this.fullWidth, fullHeight: this.fullHeight });
    });
  }

  flush(): Promise<void> {
    return this.#chain;
  }
}
