/**
 * Image-quality metrics computed the way BasicSR reports them for super-resolution
 * (basicsr/metrics/psnr_ssim.py `calculate_psnr` / `calculate_ssim` with `test_y_channel=True`
 * and `crop_border = scale`), on our float RGB images (ml/image.ts, values in [0, 1]).
 *
 * What BasicSR does, and what we do:
 *
 * - 8-bit quantisation. BasicSR's validation turns both the network output and the ground truth
 *   into uint8 images with `tensor2img` before measuring: clamp to [0, 1], multiply by 255 in
 *   float32, round half to even (`np.round`), cast to uint8. Our inputs are floats, so by default
 *   (`quantize: true`) both images go through exactly that step first, making the numbers those
 *   BasicSR prints for the same pixels. `quantize: false` measures the raw floats instead (no clamp).
 * - Y channel. `bgr2ycbcr(y_only=True)`: Y = 16 + 65.481·R + 128.553·G + 24.966·B with R, G, B in
 *   [0, 1], i.e. Y in [16, 235] on the 0–255 scale (ITU-R BT.601 "studio swing"). We evaluate it in
 *   float64 as 24.966·B + 128.553·G + 65.481·R + 16 (np.dot's order). BasicSR's `to_y_channel`
 *   additionally passes the pixels and Y through float32 (`astype(np.float32) / 255.`, then Y / 255
 *   stored as float32 and multiplied back by 255), which perturbs each Y by up to ~1e-5; we keep
 *   float64 throughout, so black, white and the primaries land exactly on 16, 235, 16 + 65.481, ….
 *   On a real photo pair the two agree to ~1e-7 dB and ~1e-9 SSIM (test/ml/metrics.test.ts checks
 *   this against test/fixtures/basicsr_metrics.py, a numpy transcription that keeps the float32 steps).
 * - Crop. `crop` pixels are removed from every border (`img[c:-c, c:-c]`) before measuring, so
 *   edge effects of the upscaler do not count; BasicSR uses crop = scale.
 * - PSNR = 10·log10(255² / MSE) with the MSE of Y (0–255 scale) in float64; identical → Infinity.
 * - SSIM (`_ssim`): on Y in float64, C1 = (0.01·255)², C2 = (0.03·255)², Gaussian window
 *   w = g gᵀ with g = cv2.getGaussianKernel(11, 1.5), statistics by `cv2.filter2D` keeping only
 *   the positions where the window fits ('valid', `[5:-5, 5:-5]`):
 *     μx = Σw·x, σx² = Σw·x² − μx², σxy = Σw·x·y − μx·μy,
 *     SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
 *   averaged over the map. We filter separably (a horizontal 11-tap pass into a ring of 11 rows,
 *   then a vertical one), which is the same sum in another order; OpenCV itself uses a DFT for an
 *   11×11 float64 kernel, so neither is "the" rounding — they differ at the 1e-13 level.
 *
 * Beside these, two measures BasicSR does not have, on the same Y planes: the detail measure (the
 * output's mean gradient magnitude over the ground truth's, `detailOfPlanes`) and a no-reference
 * sharpness measure, the variance of the Laplacian (`laplacianVariance`), which needs no ground truth.
 *
 * Alpha is ignored (metrics are on the colour channels only). Pure TypeScript without platform
 * imports, so it runs in Node and in browser workers alike.
 */
import { assertImage, type RgbImage } from './image.ts';
import { resizeImage } from './resize.ts';

export interface MetricOptions {
  /**
   * Quantise both images to 8 bits the way BasicSR's `tensor2img` does (clamp, ×255 in float32,
   * round half to even) before measuring. Default true: matches BasicSR on 8-bit images.
   */
  readonly quantize?: boolean;
}

export interface QualityScores {
  /** PSNR of the Y channel in dB (Infinity for identical images). */
  readonly psnrY: number;
  /** Mean SSIM of the Y channel, at most 1. */
  readonly ssimY: number;
  /**
   * How much of the ground truth's fine detail the image has: the mean gradient magnitude of its Y
   * channel over the ground truth's (`detailOfPlanes`). 1 is as much edge and texture energy as the
   * ground truth; blur lowers it; ringing, noise or invented texture can raise it above 1.
   */
  readonly detail: number;
}

/** SSIM constants on the 0–255 scale, as in BasicSR's `_ssim`. */
export const SSIM_C1 = (0.01 * 255) ** 2;
export const SSIM_C2 = (0.03 * 255) ** 2;
const WIN = 11;
const SIGMA = 1.5;

/**
 * `tensor2img`'s 8-bit level of a float in [0, 1]: clamp, multiply by 255 in float32, round half
 * to even (numpy's `round`). Returns an integer in 0..255.
 */
export function quantize8(v: number): number {
  const c = v > 0 ? (v < 1 ? v : 1) : 0; // NaN → 0, like a clamp followed by uint8 of 0
  const x = Math.fround(Math.fround(c) * 255);
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `cv2.getGaussianKernel(size, sigma)` for sigma > 0 (OpenCV 4's bit-exact variant, in doubles):
 * t_i = exp(x_i²·(−0.125/σ²)) with x_i = 2i − (size − 1), normalised by multiplying with 1/Σt.
 */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  if (!(Number.isInteger(size) && size > 0 && size % 2 === 1) || !(sigma > 0)) {
    throw new Error(`gaussianKernel: need an odd size and sigma > 0, got ${size}, ${sigma}`);
  }
  const half = (size - 1) / 2;
  const scale2X = -0.125 / (sigma * sigma);
  const values = new Float64Array(half);
  let sum = 0;
  for (let i = 0, x = 1 - size; i < half; i++, x += 2) {
    values[i] = Math.exp(x * x * scale2X);
    sum += values[i]!;
  }
  sum = sum * 2 + 1;
  const mul = 1 / sum;
  const k = new Float64Array(size);
  for (let i = 0; i < half; i++) k[i] = k[size - 1 - i] = values[i]! * mul;
  k[half] = mul;
  return k;
}

/**
 * The Y channel (0–255 scale, [16, 235] for inputs in [0, 1]) of an image, width × height values,
 * row-major. With `quantize` (default) each channel is first reduced to its 8-bit level.
 */
export function rgbToY(img: RgbImage, opts: MetricOptions = {}): Float64Array {
  assertImage(img);
  return yRegion(img, 0, 0, img.width, img.height, opts.quantize ?? true);
}

/** Y of the region [x0, x0 + w) × [y0, y0 + h). */
function yRegion(img: RgbImage, x0: number, y0: number, w: number, h: number, quantize: boolean) {
  const out = new Float64Array(w * h);
  const src = img.rgb;
  for (let y = 0; y < h; y++) {
    let s = ((y0 + y) * img.width + x0) * 3;
    const row = y * w;
    for (let x = 0; x < w; x++, s += 3) {
      let r = src[s]!;
      let g = src[s + 1]!;
      let b = src[s + 2]!;
      if (quantize) {
        r = quantize8(r) / 255;
        g = quantize8(g) / 255;
        b = quantize8(b) / 255;
      }
      out[row + x] = b * 24.966 + g * 128.553 + r * 65.481 + 16;
    }
  }
  return out;
}

function checkPair(a: RgbImage, b: RgbImage, crop: number, minSize: number, what: string) {
  assertImage(a);
  assertImage(b);
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${what}: image sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  }
  if (!(Number.isInteger(crop) && crop >= 0)) {
    throw new Error(`${what}: crop must be a non-negative integer, got ${crop}`);
  }
  const w = a.width - 2 * crop;
  const h = a.height - 2 * crop;
  if (w < minSize || h < minSize) {
    throw new Error(
      `${what}: cropping ${crop} px from each border of ${a.width}×${a.height} leaves ${Math.max(w, 0)}×${Math.max(h, 0)}` +
        `, need at least ${minSize}×${minSize}`,
    );
  }
  return { w, h };
}

/** The cropped Y planes of a checked pair. */
function yPlanes(a: RgbImage, b: RgbImage, crop: number, min: number, what: string, opts: MetricOptions) {
  const { w, h } = checkPair(a, b, crop, min, what);
  const q = opts.quantize ?? true;
  return { ya: yRegion(a, crop, crop, w, h, q), yb: yRegion(b, crop, crop, w, h, q), w, h };
}

/** PSNR (dB, peak 255) of two equally long Y planes; Infinity when they are identical. */
export function psnrOfPlanes(x: Float64Array, y: Float64Array): number {
  if (x.length !== y.length || x.length === 0) throw new Error(`psnr: planes of ${x.length} and ${y.length} values`);
  let sse = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    sse += d * d;
  }
  const mse = sse / x.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * BasicSR's `_ssim` of two w×h planes (0–255 scale): the mean of the SSIM map over the
 * (w − 10) × (h − 10) positions where the 11×11 Gaussian window fits.
 */
export function ssimOfPlanes(x: Float64Array, y: Float64Array, w: number, h: number): number {
  if (x.length !== w * h || y.length !== w * h) throw new Error(`ssim: planes do not hold ${w}×${h} values`);
  if (w < WIN || h < WIN) throw new Error(`ssim: ${w}×${h} is smaller than the ${WIN}×${WIN} window`);
  const g = gaussianKernel(WIN, SIGMA);
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  // Ring of WIN horizontally filtered rows; per row 5 planes: Σx, Σy, Σx², Σy², Σxy.
  const plane = ow;
  const rowSize = 5 * plane;
  const ring = new Float64Array(WIN * rowSize);
  const horizontal = (srcRow: number, slot: number) => {
    const base = srcRow * w;
    const o = slot * rowSize;
    for (let ox = 0; ox < ow; ox++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let k = 0; k < WIN; k++) {
        const wk = g[k]!;
        const a = x[base + ox + k]!;
        const b = y[base + ox + k]!;
        sx += wk * a;
        sy += wk * b;
        sxx += wk * (a * a);
        syy += wk * (b * b);
        sxy += wk * (a * b);
      }
      ring[o + ox] = sx;
      ring[o + plane + ox] = sy;
      ring[o + 2 * plane + ox] = sxx;
      ring[o + 3 * plane + ox] = syy;
      ring[o + 4 * plane + ox] = sxy;
    }
  };
  for (let r = 0; r < WIN; r++) horizontal(r, r);
  let total = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let mx = 0;
      let my = 0;
      let exx = 0;
      let eyy = 0;
      let exy = 0;
      for (let k = 0; k < WIN; k++) {
        const wk = g[k]!;
        const o = ((oy + k) % WIN) * rowSize + ox;
        mx += wk * ring[o]!;
        my += wk * ring[o + plane]!;
        exx += wk * ring[o + 2 * plane]!;
        eyy += wk * ring[o + 3 * plane]!;
        exy += wk * ring[o + 4 * plane]!;
      }
      const mxx = mx * mx;
      const myy = my * my;
      const mxy = mx * my;
      const num = (2 * mxy + SSIM_C1) * (2 * (exy - mxy) + SSIM_C2);
      const den = (mxx + myy + SSIM_C1) * (exx - mxx + (eyy - myy) + SSIM_C2);
      total += num / den;
    }
    // Row oy leaves the window; row oy + WIN enters it in the same slot.
    if (oy + WIN < h) horizontal(oy + WIN, oy % WIN);
  }
  return total / (ow * oh);
}

/** PSNR of the Y channel after removing `crop` pixels from each border (BasicSR `calculate_psnr`). */
export function psnrY(a: RgbImage, b: RgbImage, crop = 0, opts: MetricOptions = {}): number {
  const { ya, yb } = yPlanes(a, b, crop, 1, 'psnrY', opts);
  return psnrOfPlanes(ya, yb);
}

/** Mean SSIM of the Y channel after removing `crop` pixels from each border (BasicSR `calculate_ssim`). */
export function ssimY(a: RgbImage, b: RgbImage, crop = 0, opts: MetricOptions = {}): number {
  const { ya, yb, w, h } = yPlanes(a, b, crop, WIN, 'ssimY', opts);
  return ssimOfPlanes(ya, yb, w, h);
}

/** Mean gradient magnitude √(gx² + gy²) of a Y plane, with forward differences over its (w − 1) × (h − 1) pixels. */
export function meanGradient(y: Float64Array, w: number, h: number): number {
  if (w < 2 || h < 2 || y.length !== w * h) throw new Error(`meanGradient: a ${w}×${h} plane of ${y.length} values`);
  let sum = 0;
  for (let r = 0; r < h - 1; r++) {
    const row = r * w;
    for (let c = 0; c < w - 1; c++) {
      const i = row + c;
      const gx = y[i + 1]! - y[i]!;
      const gy = y[i + w]! - y[i]!;
      sum += Math.sqrt(gx * gx + gy * gy);
    }
  }
  return sum / ((w - 1) * (h - 1));
}

/**
 * The detail measure: the mean gradient magnitude of `x`'s Y plane over that of the ground truth
 * `ref` (1 when `ref` is flat and `x` too, Infinity when only `ref` is flat).
 */
export function detailOfPlanes(x: Float64Array, ref: Float64Array, w: number, h: number): number {
  const a = meanGradient(x, w, h);
  const b = meanGradient(ref, w, h);
  return b === 0 ? (a === 0 ? 1 : Infinity) : a / b;
}

/** The detail measure of `a` against its ground truth `ref` on Y, `crop` pixels removed from each border. */
export function detailY(a: RgbImage, ref: RgbImage, crop = 0, opts: MetricOptions = {}): number {
  const { ya, yb, w, h } = yPlanes(a, ref, crop, 2, 'detailY', opts);
  return detailOfPlanes(ya, yb, w, h);
}

/**
 * The variance of the Laplacian of a Y plane, a no-reference sharpness measure (Pech-Pacheco et
 * al., 2000, "Diatom autofocusing in brightfield microscopy"; OpenCV's `Laplacian(y).var()`
 * without its border): L = Y(x−1, y) + Y(x+1, y) + Y(x, y−1) + Y(x, y+1) − 4·Y(x, y) at the
 * (w − 2) × (h − 2) pixels that have all four neighbours, and the population variance of L
 * (0–255 scale, so in levels²). It measures how much energy an image has at the finest scale,
 * with nothing to compare against: blur lowers it, and so does smoothing away noise; noise, JPEG
 * block edges, ringing and over-sharpening raise it. It is not a score of quality on its own.
 */
export function laplacianVariance(y: Float64Array, w: number, h: number): number {
  if (w < 3 || h < 3 || y.length !== w * h)
    throw new Error(`laplacianVariance: a ${w}×${h} plane of ${y.length} values`);
  const n = (w - 2) * (h - 2);
  const lap = new Float64Array(n);
  let sum = 0;
  for (let r = 1, k = 0; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++, k++) {
      const i = r * w + c;
      const v = y[i - 1]! + y[i + 1]! + y[i - w]! + y[i + w]! - 4 * y[i]!;
      lap[k] = v;
      sum += v;
    }
  }
  const mean = sum / n;
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (lap[k]! - mean) ** 2;
  return ss / n;
}

/** `laplacianVariance` of an image's Y channel, `crop` pixels removed from each border. */
export function laplacianVarianceY(img: RgbImage, crop = 0, opts: MetricOptions = {}): number {
  const { w, h } = checkPair(img, img, crop, 3, 'laplacianVarianceY');
  return laplacianVariance(yRegion(img, crop, crop, w, h, opts.quantize ?? true), w, h);
}

/**
 * PSNR-Y, SSIM-Y and the detail measure of a super-resolved image against its ground truth, with
 * crop = scale as BasicSR reports them. The Y planes are computed once for all three.
 */
export function compareImages(sr: RgbImage, hr: RgbImage, scale: number, opts: MetricOptions = {}): QualityScores {
  const { ya, yb, w, h } = yPlanes(sr, hr, scale, WIN, 'compareImages', opts);
  return { psnrY: psnrOfPlanes(ya, yb), ssimY: ssimOfPlanes(ya, yb, w, h), detail: detailOfPlanes(ya, yb, w, h) };
}

/**
 * The bicubic baseline shown beside the model: the LR image enlarged to the HR size with
 * `resizeImage` (Pillow-exact antialiased bicubic, clamped to [0, 1]).
 */
export function bicubicBaseline(lr: RgbImage, hrWidth: number, hrHeight: number): RgbImage {
  return resizeImage(lr, hrWidth, hrHeight);
}
