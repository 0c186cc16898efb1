/**
 * Two models enlarge a whole image, each output written as a PNG into `outDir` for the viewer, on
 * the upscaling backend (ONNX Runtime on CPUs). With `groundTruth` the image is taken as the
 * original: the models enlarge its reduction, made as validation makes it (cropped to a multiple of
 * the scale, antialiased bicubic, 8 bits), and both outputs are scored (PSNR/SSIM-Y) against it
 * beside bicubic.
 */
import path from 'node:path';
import type { ActivationName } from '../activations.ts';
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors } from '../errors.ts';
import { compareImages } from '../metrics.ts';
import { ensureDir } from '../node/atomic.ts';
import { readImage, readImageSize, writeImage } from '../node/image-io.ts';
import { ImportedOnnx, isOnnxPath } from '../node/imported-model.ts';
import type { ImportedRuns, ImportedSettings } from '../node/imported-models.ts';
import { loadModelFile } from '../node/models.ts';
import { upscaleFile } from '../node/upscale-file.ts';
import { through, type Through, type ThroughMap } from '../node/through.ts';
import { openUpscaler, type UpscaleModel } from '../node/upscaler.ts';
import { prepareValImages, type ValImage } from '../train/validation.ts';

export interface CompareModelsJobSpec {
  readonly modelA: string;
  readonly modelB: string;
  readonly image: string;
  readonly groundTruth: boolean;
  /** Where the outputs (and the reduction and ground truth) go. */
  readonly outDir: string;
  readonly backend: ConcreteBackend;
  /** ONNX Runtime's threads (its default: one per core). */
  readonly threads?: number | undefined;
  /** The image, models and output folder a front end opened already: read and written only through them (through.ts). */
  readonly through?: ThroughMap | undefined;
  /** How imported ONNX models among the two run (range and tile margin, as chosen for them), by model path. */
  readonly imported?: ImportedRuns | undefined;
}

/** One output of a compare-models job: a PNG file the viewer shows through image:info/tile. */
export interface ModelOutput {
  readonly model: string;
  /** Null for an imported ONNX model. */
  readonly activation: ActivationName | null;
  readonly ms: number;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** Against the ground truth, when there is one. */
  readonly psnrY?: number | undefined;
  readonly ssimY?: number | undefined;
}

export interface CompareModelsJobResult {
  readonly a: ModelOutput;
  readonly b: ModelOutput;
  readonly scale: number;
  /** What the models enlarged: the image, or its reduction. */
  readonly input: { readonly file: string; readonly width: number; readonly height: number };
  readonly truth: { readonly file: string; readonly width: number; readonly height: number } | null;
  readonly bicubic: { readonly psnrY: number; readonly ssimY: number } | null;
}

export async function compareModelsJob(
  spec: CompareModelsJobSpec,
  say?: (message: string, fraction: number) => void,
  signal?: AbortSignal,
): Promise<CompareModelsJobResult> {
  const t = through(spec.through);
  try {
    return await compareModels(spec, t, say, signal);
  } catch (e) {
    throw t.named(e);
  }
}

/** The job, every file reached through `t` and named as given. */
async function compareModels(
  spec: CompareModelsJobSpec,
  t: Through,
  say?: (message: string, fraction: number) => void,
  signal?: AbortSignal,
): Promise<CompareModelsJobResult> {
  const [ma, mb] = [
    await loadCompared(spec.modelA, t, spec.imported?.[spec.modelA]),
    await loadCompared(spec.modelB, t, spec.imported?.[spec.modelB]),
  ];
  if (ma.scale !== mb.scale) {
    throw errors.badArgument(
      `The two models upscale by different factors (x${ma.scale} and x${mb.scale}); choose two models of the same scale.`,
    );
  }
  const s = ma.scale;
  await ensureDir(t.use(spec.outDir));
  const file = (name: string) => path.join(spec.outDir, name);
  let val: ValImage | undefined;
  let input = spec.image;
  if (spec.groundTruth) {
    say?.(`Reducing ${path.basename(spec.image)} by ${s}`, 0);
    const { image } = await readImage(t.use(spec.image));
    val = prepareValImages([{ name: path.basename(spec.image), image }], s)[0]!;
    await writeImage(t.use(file('truth.png')), val.hr, { format: 'png' });
    await writeImage(t.use((input = file('input.png'))), val.lr, { format: 'png' });
  }
  const outputs: ModelOutput[] = [];
  for (const [k, [model, m]] of (
    [
      [spec.modelA, ma],
      [spec.modelB, mb],
    ] as const
  ).entries()) {
    say?.(`Upscaling with ${path.basename(model)}`, k / 2);
    const upscaler = await openUpscaler(spec.backend, m.model, spec.threads);
    const output = file(k === 0 ? 'a.png' : 'b.png');
    try {
      const t0 = performance.now();
      const done = await upscaleFile({
        model: upscaler,
        input: t.use(input),
        output: t.use(output),
        format: 'png',
        overwrite: true,
        signal,
      });
      const size = { ...done, warning: done.warning && t.named(done.warning) };
      const ms = Math.round(performance.now() - t0);
      const scores = val ? compareImages((await readImage(t.use(output))).image, val.hr, s) : undefined;
      outputs.push({
        model,
        activation: m.activation,
        ms,
        file: output,
        ...size,
        ...(scores && { psnrY: scores.psnrY, ssimY: scores.ssimY }),
      });
    } finally {
      await upscaler.dispose();
    }
  }
  const { width, height } = await readImageSize(t.use(input));
  return {
    a: outputs[0]!,
    b: outputs[1]!,
    scale: s,
    input: { file: input, width, height },
    truth: val ? { file: file('truth.png'), width: val.hr.width, height: val.hr.height } : null,
    bicubic: val ? { psnrY: val.bicubic.psnrY, ssimY: val.bicubic.ssimY } : null,
  };
}

/** A model to compare: SR Studio's, or an imported ONNX model (opened once here to find its scale). */
async function loadCompared(
  given: string,
  t: Through,
  run?: ImportedSettings,
): Promise<{ model: UpscaleModel; scale: number; activation: ActivationName | null }> {
  if (!isOnnxPath(given)) {
    const m = await loadModelFile(t.use(given));
    return { model: m, scale: m.config.scale, activation: m.config.activation };
  }
  const opened = await ImportedOnnx.open(t.use(given), { shownAs: given, range: run?.range, overlap: run?.margin });
  await opened.dispose();
  return {
    model: { onnx: t.use(given), shownAs: given, known: opened.facts, overlap: run?.margin },
    scale: opened.scale,
    activation: null,
  };
}
