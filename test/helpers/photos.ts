import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../ml/image.ts';
import { initialWeights, presetConfig, type PresetName, type Scale } from '../../ml/network.ts';
import type { ActivationName } from '../../ml/activations.ts';

export const DATA = path.resolve(import.meta.dirname, '../../photos');

/** A crop of a real photo from photos/ as an RgbImage (floats in [0, 1]). */
export async function photo(file: string, w: number, h: number, left = 10, top = 8): Promise<RgbImage> {
  const buf = await sharp(path.join(DATA, file))
    .removeAlpha()
    .extract({ left, top, width: w, height: h })
    .raw()
    .toBuffer();
  return { width: w, height: h, rgb: Float32Array.from(buf, (v) => v / 255) };
}

/**
 * Weights whose residual branches matter: the default init keeps them near zero (the output is
 * almost the bilinear skip), which would let a wrong graph pass a comparison.
 */
export function busyWeights(preset: PresetName, scale: Scale, act: ActivationName, seed: number, gain = 4) {
  const config = presetConfig(preset, scale, act);
  const weights = initialWeights(config, seed);
  for (const [k, v] of weights) {
    if (k.endsWith('.weight') && k !== 'head.weight') v.forEach((x, i) => (v[i] = x * gain));
    if (k.endsWith('.bias')) v.forEach((_, i) => (v[i] = 0.02 * Math.sin(i + seed)));
  }
  return { config, weights };
}

/** Sum of squared differences between neighbours along x or y: the high-frequency energy. */
export function energy(a: ArrayLike<number>, w: number, h: number, dir: 'x' | 'y'): number {
  let e = 0;
  const step = dir === 'x' ? 3 : w * 3;
  for (let y = 0; y < h - (dir === 'y' ? 1 : 0); y++) {
    for (let x = 0; x < w - (dir === 'x' ? 1 : 0); x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 3 + c;
        e += (a[i + step]! - a[i]!) ** 2;
      }
    }
  }
  return e;
}

export const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

/** The largest absolute difference between two arrays of the same length (asserted). */
export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
