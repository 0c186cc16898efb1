/**
 * Degradations for training: how the LR input of a training pair is made from its HR patch when a
 * run's `degrade` setting is not `none`, so that the network learns from inputs that look like the
 * photos people upscale (slightly soft, noisy, JPEG-compressed) rather than from clean bicubic
 * downscales only. After Real-ESRGAN's "practical degradation model" (Wang et al., 2021), milder.
 *
 * Pure TypeScript with no platform imports. The JPEG step needs an encoder, passed in as a
 * `JpegRoundTrip` (ml/node/jpeg.ts: sharp's, with the standard libjpeg quantisation tables that
 * cameras and most software use).
 *
 * `degradePatch` makes one sample. The steps, their order, the order of the random draws (which
 * makes a seed fix every LR patch and a checkpoint resume the stream exactly) and the presets are
 * specified once, in docs/training.md ("Degradations"); `DEGRADE_PRESETS` below holds the numbers.
 */
import type { Degrader } from './dataset.ts';
import { quantise8 } from './dataset.ts';
import { blurImage, type GaussianKernel } from './blur.ts';
import type { Rng } from './random.ts';
import { resizeBicubic, type ResizeFilter } from './resize.ts';

export const DEGRADE_NAMES = ['none', 'photo', 'photo-heavy'] as const;
export type DegradeName = (typeof DEGRADE_NAMES)[number];
export const isDegradeName = (v: unknown): v is DegradeName => (DEGRADE_NAMES as readonly unknown[]).includes(v);

/** JPEG-compresses 8-bit interleaved RGB at a quality (1–100) and decodes it again. */
export type JpegRoundTrip = (rgb: Uint8Array, width: number, height: number, quality: number) => Promise<Uint8Array>;

/**
 * Float RGB (width×height×3 values in [0, 1]) through `codec` at `quality`: rounded to 8 bits,
 * JPEG-compressed and decoded, and back to floats (v / 255). A new array; `rgb` is unchanged.
 */
export async function jpegFloats(
  rgb: Float32Array,
  width: number,
  height: number,
  quality: number,
  codec: JpegRoundTrip,
): Promise<Float32Array> {
  const bytes = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) bytes[i] = Math.round(rgb[i]! * 255);
  const back = await codec(bytes, width, height, quality);
  if (back.length !== rgb.length) throw new Error(`JPEG round trip returned ${back.length} values, not ${rgb.length}`);
  return Float32Array.from(back, (v) => v / 255);
}

export type Range = readonly [number, number];

export interface BlurStep {
  readonly p: number;
  /** Standard deviation along each axis, in LR pixels. */
  readonly sigma: Range;
  /** Share of the blurs that are anisotropic. */
  readonly anisotropic: number;
}

export interface NoiseStep {
  readonly p: number;
  /** Share of the noise that is Gaussian; the rest is Poisson-like. */
  readonly gaussian: number;
  /** Gaussian σ, in 8-bit levels. */
  readonly sigma: Range;
  /** Poisson-like σ at white (σ(v) = σ₁·√v), in 8-bit levels. */
  readonly poisson: Range;
  /** Share of luma (grey) noise; the rest is colour noise. */
  readonly luma: number;
}

export interface JpegStep {
  readonly p: number;
  /** Whole qualities, both ends included. */
  readonly quality: Range;
}

export type DownscaleKernel = 'bicubic' | 'bilinear' | 'area';
export const DOWNSCALE_KERNELS: readonly DownscaleKernel[] = ['bicubic', 'bilinear', 'area'];
const FILTER_OF: Readonly<Record<DownscaleKernel, ResizeFilter>> = {
  bicubic: 'bicubic',
  bilinear: 'bilinear',
  area: 'box',
};

export interface DegradeSpec {
  readonly blur: BlurStep;
  /** Relative weights of the downscaling kernels. */
  readonly downscale: Readonly<Record<DownscaleKernel, number>>;
  readonly noise: NoiseStep;
  readonly jpeg: JpegStep;
  readonly second: { readonly p: number; readonly blur: BlurStep; readonly noise: NoiseStep; readonly jpeg: JpegStep };
}

const NO_SECOND: DegradeSpec['second'] = {
  p: 0,
  blur: { p: 0, sigma: [0, 0], anisotropic: 0 },
  noise: { p: 0, gaussian: 1, sigma: [0, 0], poisson: [0, 0], luma: 0 },
  jpeg: { p: 0, quality: [95, 95] },
};

/** The presets, and why each is as it is: docs/training.md ("Degradations"). */
export const DEGRADE_PRESETS: Readonly<Record<Exclude<DegradeName, 'none'>, DegradeSpec>> = {
  photo: {
    blur: { p: 0.2, sigma: [0.1, 0.4], anisotropic: 0.5 },
    downscale: { bicubic: 0.6, bilinear: 0.2, area: 0.2 },
    noise: { p: 0.2, gaussian: 0.6, sigma: [1, 5], poisson: [2, 6], luma: 0.4 },
    jpeg: { p: 0.6, quality: [30, 95] },
    second: NO_SECOND,
  },
  'photo-heavy': {
    blur: { p: 0.8, sigma: [0.1, 1.2], anisotropic: 0.5 },
    downscale: { bicubic: 1 / 3, bilinear: 1 / 3, area: 1 / 3 },
    noise: { p: 0.8, gaussian: 0.6, sigma: [1, 20], poisson: [2, 20], luma: 0.4 },
    jpeg: { p: 1, quality: [30, 95] },
    second: {
      p: 0.5,
      blur: { p: 0.8, sigma: [0.1, 0.6], anisotropic: 0.5 },
      noise: { p: 0.8, gaussian: 0.6, sigma: [1, 12], poisson: [2, 12], luma: 0.4 },
      jpeg: { p: 1, quality: [30, 95] },
    },
  },
};

/** What was drawn for one sample (for tests and for looking at a pipeline). */
export interface DegradeRecord {
  blur: BlurDraw | null;
  kernel: DownscaleKernel;
  noise: NoiseDraw | null;
  jpeg: number | null;
  second: { blur: BlurDraw | null; noise: NoiseDraw | null; jpeg: number | null } | null;
}

/** Deviations along the kernel's axes (LR pixels) and its angle (radians). */
export type BlurDraw = GaussianKernel;

export interface NoiseDraw {
  readonly kind: 'gaussian' | 'poisson';
  /** σ in 8-bit levels (Poisson-like: at white). */
  readonly sigma: number;
  readonly luma: boolean;
}

const uniform = (r: Range, rng: Rng) => r[0] + (r[1] - r[0]) * rng.next();

function drawBlur(step: BlurStep, rng: Rng): BlurDraw | null {
  if (!(rng.next() < step.p)) return null;
  if (rng.next() < step.anisotropic) {
    const sigmaX = uniform(step.sigma, rng);
    const sigmaY = uniform(step.sigma, rng);
    return { sigmaX, sigmaY, theta: Math.PI * rng.next() };
  }
  const sigma = uniform(step.sigma, rng);
  return { sigmaX: sigma, sigmaY: sigma, theta: 0 };
}

function drawKernel(weights: DegradeSpec['downscale'], rng: Rng): DownscaleKernel {
  const total = DOWNSCALE_KERNELS.reduce((a, k) => a + weights[k], 0);
  let u = rng.next() * total;
  for (const k of DOWNSCALE_KERNELS) {
    u -= weights[k];
    if (u < 0 && weights[k] > 0) return k;
  }
  // Rounding can leave u a hair above 0 after the last kernel: take the last one with weight.
  return [...DOWNSCALE_KERNELS].reverse().find((k) => weights[k] > 0)!;
}

function drawNoiseKind(step: NoiseStep, rng: Rng): NoiseDraw | null {
  if (!(rng.next() < step.p)) return null;
  const kind = rng.next() < step.gaussian ? 'gaussian' : 'poisson';
  const sigma = uniform(kind === 'gaussian' ? step.sigma : step.poisson, rng);
  return { kind, sigma, luma: rng.next() < step.luma };
}

const drawQuality = (step: JpegStep, rng: Rng): number | null =>
  rng.next() < step.p ? step.quality[0] + rng.int(step.quality[1] - step.quality[0] + 1) : null;

/** Adds the noise `d` to interleaved RGB in place, drawing its normals from `rng` (see the top). */
export function addNoise(lr: Float32Array, d: NoiseDraw, rng: Rng): void {
  const unit = d.sigma / 255;
  const pixels = lr.length / 3;
  for (let p = 0; p < pixels; p++) {
    const o = p * 3;
    if (d.luma) {
      const y = 0.299 * lr[o]! + 0.587 * lr[o + 1]! + 0.114 * lr[o + 2]!;
      const n = rng.normal() * (d.kind === 'gaussian' ? unit : unit * Math.sqrt(Math.max(y, 0)));
      lr[o]! += n;
      lr[o + 1]! += n;
      lr[o + 2]! += n;
    } else {
      for (let c = 0; c < 3; c++) {
        const v = lr[o + c]!;
        lr[o + c] = v + rng.normal() * (d.kind === 'gaussian' ? unit : unit * Math.sqrt(Math.max(v, 0)));
      }
    }
  }
}

/**
 * The LR patch of an HR patch (side×side×3 values in [0, 1], side a multiple of `scale`; not
 * modified) under `spec`, with what was drawn. The result is quantised to 8 bits.
 */
export async function degradePatch(
  hr: Float32Array,
  side: number,
  scale: number,
  spec: DegradeSpec,
  rng: Rng,
  jpeg: JpegRoundTrip | undefined,
): Promise<{ lr: Float32Array; record: DegradeRecord }> {
  const lrSide = side / scale;
  if (!Number.isInteger(lrSide) || hr.length !== side * side * 3)
    throw new Error(`degradePatch: a ${side}×${side} patch at scale ${scale} with ${hr.length} values`);
  const needJpeg = () => {
    if (!jpeg) throw new Error('degradePatch: this degradation needs a JPEG encoder (JpegRoundTrip)');
    return jpeg;
  };
  const blur = drawBlur(spec.blur, rng);
  const src = blur
    ? blurImage(hr, side, side, { ...blur, sigmaX: blur.sigmaX * scale, sigmaY: blur.sigmaY * scale })
    : hr;
  const kernel = drawKernel(spec.downscale, rng);
  let lr = resizeBicubic(src, side, side, 3, lrSide, lrSide, { filter: FILTER_OF[kernel] });
  const noise = drawNoiseKind(spec.noise, rng);
  if (noise) addNoise(lr, noise, rng);
  quantise8(lr);
  const q = drawQuality(spec.jpeg, rng);
  if (q !== null) lr = await jpegFloats(lr, lrSide, lrSide, q, needJpeg());
  let second: DegradeRecord['second'] = null;
  if (rng.next() < spec.second.p) {
    const b2 = drawBlur(spec.second.blur, rng);
    if (b2) lr = blurImage(lr, lrSide, lrSide, b2);
    const n2 = drawNoiseKind(spec.second.noise, rng);
    if (n2) addNoise(lr, n2, rng);
    quantise8(lr);
    const q2 = drawQuality(spec.second.jpeg, rng);
    if (q2 !== null) lr = await jpegFloats(lr, lrSide, lrSide, q2, needJpeg());
    second = { blur: b2, noise: n2, jpeg: q2 };
  }
  return { lr, record: { blur, kernel, noise, jpeg: q, second } };
}

/** True when a spec can draw a JPEG step. */
const usesJpeg = (s: DegradeSpec) => s.jpeg.p > 0 || (s.second.p > 0 && s.second.jpeg.p > 0);

/**
 * The sampler's LR maker for a run's `degrade` setting; undefined for `none` (the clean protocol,
 * drawing nothing). Throws if the preset needs a JPEG encoder and none is given.
 */
export function degraderFor(name: DegradeName, jpeg: JpegRoundTrip | undefined): Degrader | undefined {
  if (name === 'none') return undefined;
  const spec = DEGRADE_PRESETS[name];
  if (!spec) throw new Error(`Unknown degradation ${JSON.stringify(name)}`);
  if (usesJpeg(spec) && !jpeg)
    throw new Error(`The ${name} degradations need a JPEG encoder; pass one to the trainer (ml/node/jpeg.ts).`);
  return async (hr, side, scale, rng) => (await degradePatch(hr, side, scale, spec, rng, jpeg)).lr;
}

const pct = (p: number) => `${Math.round(p * 100)}%`;
const range = (r: Range, unit = '') => (r[0] === r[1] ? `${r[0]}${unit}` : `${r[0]}–${r[1]}${unit}`);

function describePass(blur: BlurStep, noise: NoiseStep, jpeg: JpegStep): string[] {
  return [
    blur.p > 0
      ? `blur ${pct(blur.p)} (Gaussian σ ${range(blur.sigma)} LR px, ${pct(blur.anisotropic)} anisotropic)`
      : '',
    noise.p > 0
      ? `noise ${pct(noise.p)} (Gaussian σ ${range(noise.sigma)}/255 or Poisson-like σ ${range(noise.poisson)}/255 at white, ${pct(noise.gaussian)} Gaussian, ${pct(noise.luma)} luma)`
      : '',
    jpeg.p > 0 ? `JPEG ${pct(jpeg.p)} (quality ${range(jpeg.quality)})` : '',
  ].filter(Boolean);
}

/** One line for logs, model cards and the README, e.g. "photo: blur 40% (…), downscale …". */
export function describeDegrade(name: DegradeName): string {
  if (name === 'none') return 'none: antialiased bicubic downscaling only (the clean protocol)';
  const s = DEGRADE_PRESETS[name];
  const kernels = DOWNSCALE_KERNELS.filter((k) => s.downscale[k] > 0)
    .map((k) => `${k} ${pct(s.downscale[k] / DOWNSCALE_KERNELS.reduce((a, x) => a + s.downscale[x], 0))}`)
    .join(' / ');
  const first = describePass(s.blur, s.noise, s.jpeg);
  first.splice(s.blur.p > 0 ? 1 : 0, 0, `downscale ${kernels}`);
  const second =
    s.second.p > 0
      ? `; second pass ${pct(s.second.p)}: ${describePass(s.second.blur, s.second.noise, s.second.jpeg).join(', ')}`
      : '';
  return `${name}: ${first.join(', ')}${second}`;
}
