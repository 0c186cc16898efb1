/**
 * Gaussian blurs of interleaved RGB float images, for the training degradations (ml/degrade.ts).
 * Weights that fall outside the image are dropped and the rest renormalised, so nothing outside is
 * read and a constant image stays constant (as `resizeBicubic` treats its borders).
 */

/** A 2-D Gaussian: standard deviations along its two axes (pixels) and the angle of the first (radians). */
export interface GaussianKernel {
  readonly sigmaX: number;
  readonly sigmaY: number;
  readonly theta: number;
}

/**
 * Gaussian blur of interleaved RGB with the deviations and angle of `b` (in pixels of this image);
 * radius ceil(3·max σ); weights outside the image are dropped and the rest renormalised (nothing
 * outside is read). Returns a new array.
 */
export function blurImage(src: Float32Array, width: number, height: number, b: GaussianKernel): Float32Array {
  if (b.sigmaX === b.sigmaY) return gaussianBlur(src, width, height, b.sigmaX);
  const r = Math.max(1, Math.ceil(3 * Math.max(b.sigmaX, b.sigmaY)));
  const n = 2 * r + 1;
  // Inverse covariance of R·diag(σx², σy²)·Rᵀ.
  const c = Math.cos(b.theta);
  const s = Math.sin(b.theta);
  const ix = 1 / (b.sigmaX * b.sigmaX);
  const iy = 1 / (b.sigmaY * b.sigmaY);
  const a11 = c * c * ix + s * s * iy;
  const a22 = s * s * ix + c * c * iy;
  const a12 = c * s * (ix - iy);
  const k = new Float64Array(n * n);
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++)
      k[(dy + r) * n + dx + r] = Math.exp(-0.5 * (a11 * dx * dx + 2 * a12 * dx * dy + a22 * dy * dy));
  }
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height - 1, y + r);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width - 1, x + r);
      let w = 0;
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let yy = y0; yy <= y1; yy++) {
        const krow = (yy - y + r) * n - x + r;
        let p = (yy * width + x0) * 3;
        for (let xx = x0; xx <= x1; xx++, p += 3) {
          const kw = k[krow + xx]!;
          w += kw;
          sr += src[p]! * kw;
          sg += src[p + 1]! * kw;
          sb += src[p + 2]! * kw;
        }
      }
      const o = (y * width + x) * 3;
      out[o] = sr / w;
      out[o + 1] = sg / w;
      out[o + 2] = sb / w;
    }
  }
  return out;
}

/**
 * Separable isotropic Gaussian blur of interleaved RGB, radius ceil(3σ); at the edges the weights
 * that fall inside the image are renormalised (nothing outside is read), as `resizeBicubic` does.
 */
export function gaussianBlur(src: Float32Array, width: number, height: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return src.slice();
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  for (let i = -r; i <= r; i++) k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  const pass = (inp: Float32Array, n: number, lines: number, step: number, lineStep: number) => {
    const out = new Float32Array(inp.length);
    // The weights inside the line at each position: the same for every line.
    const wsums = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const hi = Math.min(n - 1, i + r);
      let wsum = 0;
      for (let j = Math.max(0, i - r); j <= hi; j++) wsum += k[j - i + r]!;
      wsums[i] = wsum;
    }
    for (let l = 0; l < lines; l++) {
      for (let i = 0; i < n; i++) {
        const lo = Math.max(0, i - r);
        const hi = Math.min(n - 1, i + r);
        const wsum = wsums[i]!;
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let j = lo; j <= hi; j++) s += inp[l * lineStep + j * step + c]! * k[j - i + r]!;
          out[l * lineStep + i * step + c] = s / wsum;
        }
      }
    }
    return out;
  };
  const h = pass(src, width, height, 3, width * 3);
  return pass(h, height, width, width * 3, 3);
}
