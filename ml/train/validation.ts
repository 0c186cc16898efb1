import * as tf from '@tensorflow/tfjs-core';
import { makeLr } from '../dataset.ts';
import { jpegFloats, type JpegRoundTrip } from '../degrade.ts';
import { grid, type RgbImage } from '../image.ts';
import { bicubicBaseline, compareImages, type QualityScores } from '../metrics.ts';
import type { Network, NetworkConfig } from '../network.ts';
import { upscaleImage, type TileModel } from '../tiling.ts';
import type { ValidationScores } from './events.ts';

/**
 * Validation as BasicSR does it: each HR image (cropped to a multiple of the scale) is downscaled
 * by the training's own LR method, upscaled by the network, and scored with PSNR/SSIM on Y with a
 * border crop of `scale`, beside the bicubic upscale of the same LR image; and with the detail
 * measure (how much of the ground truth's edge and texture energy the output has).
 */
export interface ValImage {
  readonly name: string;
  readonly hr: RgbImage;
  readonly lr: RgbImage;
  readonly bicubic: QualityScores;
}

/** `maxSide` > 0 centre-crops each HR image to at most that many pixels a side (a multiple of scale). */
export function prepareValImages(
  images: ReadonlyArray<{ name: string; image: RgbImage }>,
  scale: number,
  maxSide = 0,
): ValImage[] {
  return images.map(({ name, image }) => {
    const limit = maxSide > 0 ? maxSide : Infinity;
    const w = Math.floor(Math.min(image.width, limit) / scale) * scale;
    const h = Math.floor(Math.min(image.height, limit) / scale) * scale;
    const x0 = Math.floor((image.width - w) / 2 / scale) * scale;
    const y0 = Math.floor((image.height - h) / 2 / scale) * scale;
    const rgb = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++)
      rgb.set(image.rgb.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + w) * 3), y * w * 3);
    const hr: RgbImage = { width: w, height: h, rgb };
    const lr: RgbImage = { width: w / scale, height: h / scale, rgb: makeLr(rgb, w, h, scale) };
    return { name, hr, lr, bicubic: compareImages(bicubicBaseline(lr, w, h), hr, scale) };
  });
}

/** The JPEG qualities of the quality table's and the model cards' JPEG columns (scripts/quality.ts, scripts/model-card.ts). */
export const JPEG_QUALITIES = [90, 75] as const;

/**
 * The same pairs with each LR image saved as JPEG at `quality` and decoded again (what people
 * upscale most often), and bicubic scored on that input; for the JPEG columns of the quality
 * table and the model cards. Training validation keeps the clean LR.
 */
export async function withJpegLr(vals: readonly ValImage[], quality: number, jpeg: JpegRoundTrip): Promise<ValImage[]> {
  const out: ValImage[] = [];
  for (const v of vals) {
    const { width, height } = v.lr;
    const lr: RgbImage = { width, height, rgb: await jpegFloats(v.lr.rgb, width, height, quality, jpeg) };
    out.push({
      name: v.name,
      hr: v.hr,
      lr,
      bicubic: compareImages(bicubicBaseline(lr, v.hr.width, v.hr.height), v.hr, v.hr.width / width),
    });
  }
  return out;
}

/**
 * What validation and previews run the network's current weights on, when not the training
 * network itself: the machine's fastest inference path (ONNX Runtime on CPUs), which scores the
 * same weights up to float rounding, several times faster than the tfjs CPU backends.
 */
export interface Evaluator {
  /** For messages: "ONNX Runtime 1.30.0 (CPU)". */
  readonly name: string;
  open(
    config: NetworkConfig,
    weights: ReadonlyMap<string, Float32Array>,
  ): Promise<TileModel & { dispose(): void | Promise<void> }>;
}

export async function validate(net: Network | TileModel, vals: readonly ValImage[]): Promise<ValidationScores> {
  const s = 'config' in net ? net.config.scale : net.scale;
  const images: Array<ValidationScores['images'][number]> = [];
  for (const v of vals) {
    const sr = await upscaleImage(net, v.lr);
    const q = compareImages(sr, v.hr, s);
    images.push({ name: v.name, psnrY: q.psnrY, ssimY: q.ssimY, detail: q.detail, bicubicPsnrY: v.bicubic.psnrY });
  }
  const mean = (f: (i: number) => number) => vals.reduce((a, _, i) => a + f(i), 0) / Math.max(1, vals.length);
  return {
    psnrY: mean((i) => images[i]!.psnrY),
    ssimY: mean((i) => images[i]!.ssimY),
    detail: mean((i) => images[i]!.detail),
    bicubicPsnrY: mean((i) => vals[i]!.bicubic.psnrY),
    bicubicSsimY: mean((i) => vals[i]!.bicubic.ssimY),
    bicubicDetail: mean((i) => vals[i]!.bicubic.detail),
    images,
  };
}

/** The fixed preview crop: up to `side` LR pixels from the centre of a validation image. */
export function previewCrop(v: ValImage, scale: number, side = 48): ValImage {
  const [name, image] = [v.name, v.hr];
  const hrSide = Math.min(side * scale, Math.floor(Math.min(image.width, image.height) / scale) * scale);
  return prepareValImages([{ name, image }], scale, hrSide)[0]!;
}

/** [bicubic-upscaled LR | network output | ground truth], side by side, for the live preview. */
export async function previewStrip(net: Network | TileModel, crop: ValImage): Promise<RgbImage> {
  const { width: w, height: h } = crop.hr;
  const sr = await upscaleImage(net, crop.lr);
  return grid([[bicubicBaseline(crop.lr, w, h), sr, crop.hr]], 4);
}

/**
 * Sum of squares of every gradient, as one scalar tensor. Added pairwise rather than with addN,
 * whose webgpu kernel binds every input at once and exceeds small adapters' binding limits.
 */
export function gradSquaredNorm(grads: Readonly<Record<string, tf.Tensor>>): tf.Scalar {
  return tf.tidy(
    () =>
      Object.values(grads)
        .map((g) => tf.sum(tf.square(g)))
        .reduce((a, b) => tf.add(a, b)) as tf.Scalar,
  );
}
