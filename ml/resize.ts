/**
 * Bicubic resampling, bit-for-bit the method of Pillow's `ImagingResample` on float ('F') images,
 * which is also what torch's `interpolate(mode='bicubic', antialias=True)` implements. The trainer
 * uses it to make the low-resolution inputs, so keep it exactly as documented here:
 *
 * - Kernel: Keys cubic convolution with a = -0.5,
 *   k(x) = (a+2)|x|³ − (a+3)|x|² + 1 for |x| < 1, a(|x|³ − 5|x|² + 8|x| − 4) for 1 ≤ |x| < 2, else 0.
 * - Separable: a horizontal pass (float64 sums, stored as float32) followed by a vertical pass,
 *   skipping a pass whose size does not change (that pass would be the identity).
 * - Half-pixel centres: output sample i of n (input size N, scale s = N/n) sits at input
 *   coordinate c = (i + 0.5)·s, where input pixel j covers [j, j+1).
 * - Antialias (default on): when downscaling (s > 1) the kernel is stretched by s, i.e. the weight
 *   of input pixel j is k((j + 0.5 − c)/s) and the support grows from 2 to 2s. Upscaling uses the
 *   plain kernel, so `antialias: false` and `true` give identical results when enlarging.
 * - Edges: the window [trunc(c − support + 0.5), trunc(c + support + 0.5)) is clamped to the
 *   image and the weights that remain are divided by their sum (every output pixel's weights sum
 *   to 1), so constant images stay constant and nothing outside the image is ever read.
 * - Values are neither rounded nor clamped (cubic overshoot is kept): `resizeImage` clamps.
 * - Other filters (`filter` option), for the training degradations (ml/degrade.ts), are Pillow's
 *   too, with the same windows, stretching and renormalisation: `bilinear` is the triangle
 *   k(x) = 1 − |x| for |x| < 1 (support 1), `box` is k(x) = 1 for −0.5 < x ≤ 0.5 (support 0.5),
 *   which at an integer factor s is the plain mean of each s×s block ("area" downscaling).
 *
 * Pure TypeScript with no platform imports, so it runs in Node and in browser workers alike.
 */
import { assertImage, type RgbImage } from './image.ts';

export type ResizeFilter = 'bicubic' | 'bilinear' | 'box';

export interface ResizeOptions {
  /** Widen the kernel by the scale factor when downscaling (default true, as Pillow does). */
  readonly antialias?: boolean;
  /** The kernel (default bicubic). */
  readonly filter?: ResizeFilter;
}

const A = -0.5;

/** The Keys cubic convolution kernel with a = -0.5 (Pillow's `bicubic_filter`). */
export function cubicKernel(x: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * A;
  return 0;
}

/** Pillow's `bilinear_filter` and `box_filter`. */
const triangleKernel = (x: number) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0);
const boxKernel = (x: number) => (x > -0.5 && x <= 0.5 ? 1 : 0);

const FILTERS: Readonly<Record<ResizeFilter, { kernel: (x: number) => number; support: number }>> = {
  bicubic: { kernel: cubicKernel, support: 2 },
  bilinear: { kernel: triangleKernel, support: 1 },
  box: { kernel: boxKernel, support: 0.5 },
};

interface Coefficients {
  /** Per output sample: the first input index it reads and how many it reads. */
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** outSize × taps weights, row i holding sample i's `count[i]` normalised weights. */
  readonly weights: Float64Array;
  readonly taps: number;
}

/**
 * Pillow's `precompute_coeffs` for a full-image box, for output samples [from, to) (row k holds
 * sample from + k): each sample's weights depend only on its own position, so a range of samples
 * gets exactly the weights the whole image would.
 */
function coefficients(
  inSize: number,
  outSize: number,
  antialias: boolean,
  filter: ResizeFilter,
  from = 0,
  to = outSize,
): Coefficients {
  const { kernel, support: base } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = antialias ? Math.max(scale, 1) : 1;
  const support = base * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(to - from);
  const count = new Int32Array(to - from);
  const weights = new Float64Array((to - from) * taps);
  const inv = 1 / filterScale;
  for (let k = 0; k < to - from; k++) {
    const i = from + k;
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const n = hi - lo;
    const row = k * taps;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = kernel((j + lo - centre + 0.5) * inv);
      weights[row + j] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = 0; j < n; j++) weights[row + j]! /= sum;
    first[k] = lo;
    count[k] = n;
  }
  return { first, count, weights, taps };
}

/**
 * The horizontal pass: for each of `rows` rows of `src` (`srcW` pixels of `ch` values each), the
 * output columns `coeffs` describes. `x0` is the input column of `src`'s first pixel (non-zero when
 * `src` holds only part of the input's width).
 */
function horizontal(src: Float32Array, srcW: number, rows: number, ch: number, coeffs: Coefficients, x0 = 0) {
  const { first, count, weights, taps } = coeffs;
  const outW = first.length;
  const out = new Float32Array(outW * rows * ch);
  for (let y = 0; y < rows; y++) {
    const inRow = y * srcW * ch;
    const outRow = y * outW * ch;
    for (let x = 0; x < outW; x++) {
      const lo = first[x]! - x0;
      const n = count[x]!;
      const k = x * taps;
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += src[inRow + (lo + j) * ch + c]! * weights[k + j]!;
        out[outRow + x * ch + c] = s;
      }
    }
  }
  return out;
}

/**
 * The vertical pass over rows of `stride` values: the output rows `coeffs` describes. `y0` is the
 * input row of `src`'s first row (non-zero when `src` holds only part of the input's height).
 */
function vertical(src: Float32Array, stride: number, coeffs: Coefficients, y0 = 0) {
  const { first, count, weights, taps } = coeffs;
  const outH = first.length;
  const out = new Float32Array(stride * outH);
  const acc = new Float64Array(stride);
  for (let y = 0; y < outH; y++) {
    const lo = first[y]! - y0;
    const n = count[y]!;
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      const wt = weights[y * taps + j]!;
      const inRow = (lo + j) * stride;
      for (let i = 0; i < stride; i++) acc[i]! += src[inRow + i]! * wt;
    }
    out.set(acc, y * stride);
  }
  return out;
}

const isSize = (n: number) => Number.isInteger(n) && n > 0;

/**
 * Resizes interleaved (HWC) float pixels with `channels` values per pixel from w×h to outW×outH
 * by the method documented at the top of this file (bicubic unless `opts.filter` says otherwise). Returns a new array; `src` is unchanged.
 */
export function resizeBicubic(
  src: Float32Array,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
  opts: ResizeOptions = {},
): Float32Array {
  if (![w, h, channels, outW, outH].every(isSize)) {
    throw new Error(`resizeBicubic: bad sizes ${w}×${h}×${channels} → ${outW}×${outH}`);
  }
  if (src.length !== w * h * channels) {
    throw new Error(`resizeBicubic: ${src.length} values for ${w}×${h}×${channels}`);
  }
  const aa = opts.antialias ?? true;
  const filter = opts.filter ?? 'bicubic';
  if (!Object.hasOwn(FILTERS, filter)) throw new Error(`resizeBicubic: unknown filter ${String(filter)}`);
  let out = src;
  let curW = w;
  if (outW !== w) {
    out = horizontal(out, w, h, channels, coefficients(w, outW, aa, filter));
    curW = outW;
  }
  if (outH !== h) out = vertical(out, curW * channels, coefficients(h, outH, aa, filter));
  return out === src ? src.slice() : out;
}

/** A rectangle of pixels: columns [x, x + width), rows [y, y + height). */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The input samples [lo, hi) that output samples [from, to) of an inSize → outSize pass read. */
function span(
  inSize: number,
  outSize: number,
  aa: boolean,
  filter: ResizeFilter,
  from: number,
  to: number,
): { lo: number; hi: number } {
  if (inSize === outSize) return { lo: from, hi: to };
  if (to <= from) return { lo: inSize, hi: 0 };
  // A sample's window only moves right as the sample does (its centre grows, trunc and the clamps
  // keep the order), so the first sample's window starts leftmost and the last's ends rightmost.
  const a = coefficients(inSize, outSize, aa, filter, from, from + 1);
  const b = coefficients(inSize, outSize, aa, filter, to - 1, to);
  return { lo: a.first[0]!, hi: b.first[0]! + b.count[0]! };
}

/** The rectangle of the w×h input that `resizeBicubicRegion` needs for `region` of the outW×outH output. */
export function bicubicInputRegion(
  w: number,
  h: number,
  outW: number,
  outH: number,
  region: Region,
  opts: ResizeOptions = {},
): Region {
  const aa = opts.antialias ?? true;
  const filter = opts.filter ?? 'bicubic';
  const cols = span(w, outW, aa, filter, region.x, region.x + region.width);
  const rows = span(h, outH, aa, filter, region.y, region.y + region.height);
  return { x: cols.lo, y: rows.lo, width: cols.hi - cols.lo, height: rows.hi - rows.lo };
}

/**
 * `region` of `resizeBicubic(whole, w, h, channels, outW, outH, opts)`, the same values bit for
 * bit, computed from only the input pixels it needs: `src` holds the input rectangle `from`
 * (`bicubicInputRegion`'s answer, interleaved). So a large enlargement can be made a tile at a time.
 */
export function resizeBicubicRegion(
  src: Float32Array,
  from: Region,
  w: number,
  h: number,
  channels: number,
  outW: number,
  outH: number,
  region: Region,
  opts: ResizeOptions = {},
): Float32Array {
  const aa = opts.antialias ?? true;
  const filter = opts.filter ?? 'bicubic';
  const { x, y, width: rw, height: rh } = region;
  if (![w, h, channels, outW, outH, rw, rh].every(isSize) || x < 0 || y < 0 || x + rw > outW || y + rh > outH) {
    throw new Error(`resizeBicubicRegion: bad region ${rw}×${rh}+${x}+${y} of ${outW}×${outH}`);
  }
  if (src.length !== from.width * from.height * channels) {
    throw new Error(`resizeBicubicRegion: ${src.length} values for ${from.width}×${from.height}×${channels}`);
  }
  const ch = channels;
  // Horizontal pass over the input rows the region needs: rw columns each.
  let rowsData: Float32Array;
  if (outW !== w) {
    rowsData = horizontal(src, from.width, from.height, ch, coefficients(w, outW, aa, filter, x, x + rw), from.x);
  } else {
    rowsData = new Float32Array(rw * from.height * ch);
    for (let r = 0; r < from.height; r++)
      rowsData.set(
        src.subarray((r * from.width + x - from.x) * ch, (r * from.width + x - from.x + rw) * ch),
        r * rw * ch,
      );
  }
  const stride = rw * ch;
  if (outH === h) return rowsData.slice((y - from.y) * stride, (y - from.y + rh) * stride);
  return vertical(rowsData, stride, coefficients(h, outH, aa, filter, y, y + rh), from.y);
}

const clamp01 = (a: Float32Array) => {
  for (let i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i]!, 0), 1);
  return a;
};

/**
 * Resizes an image with `resizeBicubic` (antialiased) and clamps the result to [0, 1]. With alpha,
 * colours are resized premultiplied by alpha and divided back afterwards (as Pillow does for RGBA),
 * so fully transparent pixels do not bleed their colour into their neighbours.
 */
export function resizeImage(img: RgbImage, outW: number, outH: number): RgbImage {
  assertImage(img);
  const { width: w, height: h, alpha } = img;
  if (!alpha) {
    return { width: outW, height: outH, rgb: clamp01(resizeBicubic(img.rgb, w, h, 3, outW, outH)) };
  }
  const pre = new Float32Array(img.rgb.length);
  for (let p = 0; p < alpha.length; p++) {
    for (let c = 0; c < 3; c++) pre[p * 3 + c] = img.rgb[p * 3 + c]! * alpha[p]!;
  }
  const rgb = resizeBicubic(pre, w, h, 3, outW, outH);
  const a = clamp01(resizeBicubic(alpha, w, h, 1, outW, outH));
  for (let p = 0; p < a.length; p++) {
    const ap = a[p]!;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = ap > 0 ? rgb[p * 3 + c]! / ap : 0;
  }
  return { width: outW, height: outH, rgb: clamp01(rgb), alpha: a };
}
