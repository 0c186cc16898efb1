/**
 * The upscale job, the same for `sr-studio upscale` and the app: expand the inputs (files and
 * folders), name every output (collisions inside the batch get distinct names), refuse to replace
 * inputs or existing outputs without `overwrite`, and upscale file by file on an opened upscaler.
 * A bad file is an event and the batch goes on, whatever its failure; cancelling stops at the next
 * tile and leaves no partial file. Front ends print or post the events; the result is typed.
 */
import path from 'node:path';
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors, firstLine, isUserError, type UserError } from '../errors.ts';
import { removeStaleTemps } from '../node/atomic.ts';
import { checkOutputPath, collectImages, outputPathsFor } from '../node/files.ts';
import type { OutputFormat } from '../node/image-io.ts';
import type { ImportedRuns } from '../node/imported-models.ts';
import { through, type ThroughMap } from '../node/through.ts';
import { upscaleFile } from '../node/upscale-file.ts';
import { openUpscaler, type UpscaleModel } from '../node/upscaler.ts';
import type { TileDone } from '../tiling.ts';

/**
 * An upscale, the one definition every layer uses: the app's request (main/api.ts UpscaleJob) and
 * the engine worker's (main/engine/protocol.ts) are this with fewer fields. `Model` is how the layer
 * names the model: the app by a models:list id, the worker by its file, this job by the opened model.
 */
export interface UpscaleJobSpec<Model = UpscaleModel> {
  /** Image files, and folders of them (recursively). */
  readonly files: readonly string[];
  /** An SR Studio model, or an imported ONNX model (whose scale is known once it is opened). */
  readonly model: Model;
  readonly format: OutputFormat;
  /** Where the results go (mirroring sub-folders of a named folder); next to each input without (null). */
  readonly outputDir?: string | null | undefined;
  readonly overwrite: boolean;
  /** Input pixels per tile (the engine's default when absent). */
  readonly tile?: number | undefined;
  readonly overlap?: number | undefined;
  /** The backend that computes the tiles (already started). */
  readonly backend: ConcreteBackend;
  /** ONNX Runtime's threads (its default: one per core). */
  readonly threads?: number | undefined;
  /** The inputs and output folders a front end opened already: read and written only through them (through.ts). */
  readonly through?: ThroughMap | undefined;
  /** How an imported ONNX model runs (its range and tile margin, as chosen for it), by model file. */
  readonly imported?: ImportedRuns | undefined;
}

export type UpscaleJobEvent =
  /** An input that names nothing usable (missing, a folder without images). */
  | { readonly type: 'problem'; readonly error: UserError }
  | {
      readonly type: 'file';
      readonly index: number;
      readonly total: number;
      readonly input: string;
      readonly output: string;
    }
  | {
      readonly type: 'progress';
      readonly index: number;
      readonly total: number;
      readonly input: string;
      /** Of this file. */
      readonly fraction: number;
      readonly tile: TileDone;
      readonly width: number;
      readonly height: number;
    }
  | {
      readonly type: 'file-done';
      readonly index: number;
      readonly total: number;
      readonly input: string;
      readonly output: string;
      readonly width: number;
      readonly height: number;
      readonly seconds: number;
      /** What the user should know of this file's result (only the first frame of an animation was upscaled). */
      readonly warning?: string | undefined;
    }
  | {
      readonly type: 'file-error';
      readonly index: number;
      readonly total: number;
      readonly input: string;
      readonly error: UserError;
    };

export interface UpscaleJobResult {
  readonly upscaled: number;
  readonly failed: number;
  readonly cancelled: boolean;
  /** The files written, in order. */
  readonly outputs: string[];
  /** Every input that could not be upscaled (problems first), with its one-sentence reason. */
  readonly failures: ReadonlyArray<{ readonly file: string; readonly error: UserError }>;
  /** Inputs found (after expanding folders). */
  readonly files: number;
  /** Files upscaled with a warning (see file-done). */
  readonly warnings: ReadonlyArray<{ readonly file: string; readonly message: string }>;
}

/**
 * `emit` may return a promise, which is awaited (a front end that encodes a preview before going
 * on keeps its events in order), except for progress, which comes from inside the tile loop.
 */
export async function upscaleJob(
  spec: UpscaleJobSpec,
  emit: (e: UpscaleJobEvent) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<UpscaleJobResult> {
  const t = through(spec.through);
  const { files, problems } = await collectImages(spec.files, t);
  const failures: Array<{ file: string; error: UserError }> = problems.map((error) => ({
    file: error.file ?? '',
    error,
  }));
  for (const error of problems) await emit({ type: 'problem', error });
  const outputs: string[] = [];
  const warnings: Array<{ file: string; message: string }> = [];
  let cancelled = false;
  if (!files.length) return { upscaled: 0, failed: failures.length, cancelled, outputs, failures, files: 0, warnings };
  const upscaler = await openUpscaler(spec.backend, spec.model, spec.threads);
  try {
    const targets = outputPathsFor(files, {
      outDir: spec.outputDir ?? undefined,
      scale: upscaler.scale,
      format: spec.format,
    });
    // Temp files left by writes that were killed before (their process is gone) are cleared first.
    for (const dir of new Set(targets.map((p) => path.dirname(p)))) await removeStaleTemps(t.use(dir)).catch(() => 0);
    const inputs = new Set(files.map((f) => f.path));
    for (const [index, f] of files.entries()) {
      const total = files.length;
      const output = targets[index]!;
      await emit({ type: 'file', index, total, input: f.path, output });
      try {
        await checkOutputPath(output, inputs, spec.overwrite, t.use(output));
        const t0 = performance.now();
        let width = 0;
        let height = 0;
        const r = await upscaleFile({
          model: upscaler,
          input: t.use(f.path),
          output: t.use(output),
          format: spec.format,
          overwrite: spec.overwrite,
          tile: spec.tile,
          overlap: spec.overlap,
          signal,
          onStart: (w, h) => ((width = w), (height = h)),
          onProgress: (fraction, tile) =>
            void emit({ type: 'progress', index, total, input: f.path, fraction, tile, width, height }),
        });
        outputs.push(output);
        const warning = r.warning && t.named(r.warning);
        if (warning) warnings.push({ file: f.path, message: warning });
        const seconds = (performance.now() - t0) / 1000;
        await emit({
          type: 'file-done',
          index,
          total,
          input: f.path,
          output,
          width: r.width,
          height: r.height,
          seconds,
          ...(warning ? { warning } : {}),
        });
      } catch (e) {
        if (isUserError(e) && e.code === 'cancelled') {
          cancelled = true;
          break;
        }
        // One file's failure, even one not foreseen, never stops the batch.
        const error = isUserError(e) ? t.named(e) : errors.fileFailed(f.path, firstLine(t.named(e)));
        failures.push({ file: f.path, error });
        await emit({ type: 'file-error', index, total, input: f.path, error });
      }
    }
  } finally {
    await upscaler.dispose();
  }
  return {
    upscaled: outputs.length,
    failed: failures.length,
    cancelled,
    outputs,
    failures,
    files: files.length,
    warnings,
  };
}
