/**
 * Two models on the same centre crop of one photo, beside bicubic, on the upscaling backend (ONNX
 * Runtime on CPUs), for a side-by-side view.
 */
import type { ActivationName } from '../activations.ts';
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors } from '../errors.ts';
import { centreCrop, type RgbImage } from '../image.ts';
import { bicubicBaseline } from '../metrics.ts';
import { readImage } from '../node/image-io.ts';
import { loadModelFile } from '../node/models.ts';
import { openUpscaler } from '../node/upscaler.ts';
import { upscaleImage } from '../tiling.ts';

export interface CompareModelsJobSpec {
  readonly modelA: string;
  readonly modelB: string;
  readonly image: string;
  /** The centre crop, in input pixels a side. */
  readonly maxSide: number;
  readonly backend: ConcreteBackend;
}

export interface ModelOutput {
  readonly model: string;
  readonly activation: ActivationName;
  readonly ms: number;
  readonly image: RgbImage;
}

export interface CompareModelsJobResult {
  readonly a: ModelOutput;
  readonly b: ModelOutput;
  readonly bicubic: RgbImage;
  readonly crop: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

export async function compareModelsJob(spec: CompareModelsJobSpec, onModel?: (index: number, file: string) => void, signal?: AbortSignal): Promise<CompareModelsJobResult> {
  const [ma, mb] = [await loadModelFile(spec.modelA), await loadModelFile(spec.modelB)];
  if (ma.config.scale !== mb.config.scale) {
    throw errors.badArgument(`The two models upscale by different factors (x${ma.config.scale} and x${mb.config.scale}); choose two models of the same scale.`);
  }
  const { image } = await readImage(spec.image);
  const crop = centreCrop(image, spec.maxSide);
  const s = ma.config.scale;
  const outputs: ModelOutput[] = [];
  for (const [k, [file, m]] of ([[spec.modelA, ma], [spec.modelB, mb]] as const).entries()) {
    onModel?.(k, file);
    const upscaler = await openUpscaler(spec.backend, m);
    try {
      const t0 = performance.now();
      const sr = await upscaleImage(upscaler, crop.image, { signal });
      outputs.push({ model: file, activation: m.config.activation, ms: Math.round(performance.now() - t0), image: sr });
    } finally {
      await upscaler.dispose();
    }
  }
  return {
    a: outputs[0]!,
    b: outputs[1]!,
    bicubic: bicubicBaseline(crop.image, crop.image.width * s, crop.image.height * s),
    crop: { x: crop.x, y: crop.y, width: crop.image.width, height: crop.image.height },
  };
}
