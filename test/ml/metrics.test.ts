import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../ml/image.ts';
import { gaussianBlur } from '../../ml/blur.ts';
import { resizeImage } from '../../ml/resize.ts';
import {
  SSIM_C1,
  SSIM_C2,
  bicubicBaseline,
  compareImages,
  detailY,
  gaussianKernel,
  laplacianVariance,
  laplacianVarianceY,
  meanGradient,
  psnrY,
  quantize8,
  rgbToY,
  ssimY,
} from '../../ml/metrics.ts';

const DATA = path.resolve(import.meta.dirname, '../../photos');
const REFERENCE = path.resolve(import.meta.dirname, '../fixtures/basicsr_metrics.py');
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what} ${actual} vs ${expected} (|Δ| = ${Math.abs(actual - expected)} > ${tol})`,
  );

/** One colour everywhere. */
function solid(w: number, h: number, r: number, g: number, b: number): RgbImage {
  const rgb = new Float32Array(w * h * 3);
  for (let p = 0; p < w * h; p++) rgb.set([r, g, b], p * 3);
  return { width: w, height: h, rgb };
}

/** A grey image from 8-bit levels (R = G = B = k/255), so its Y is 16 + 219·k/255 exactly on paper. */
function greyLevels(w: number, h: number, levels: ArrayLike<number>): RgbImage {
  const rgb = new Float32Array(w * h * 3);
  for (let p = 0; p < w * h; p++) rgb.fill(levels[p]! / 255, p * 3, p * 3 + 3);
  return { width: w, height: h, rgb };
}

/** Deterministic integer levels in [lo, hi]. */
function randomLevels(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** Y on the 0–255 scale of grey level k, from the definition: 16 + (65.481 + 128.553 + 24.966)·k/255. */
const yOfLevel = (k: number) => 16 + (219 * k) / 255;

/**
 * The 11×11 SSIM window from its definition, independent of ml/metrics.ts: g_i ∝ exp(−(i−5)²/(2·1.5²)),
 * normalised to sum 1, and w_ij = g_i·g_j.
 */
const G = (() => {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
})();

/** Weighted statistics of the 11×11 window at (x0, y0) of two w-wide planes, by explicit double sums. */
function windowStats(x: number[], y: number[], w: number, x0: number, y0: number) {
  let mx = 0,
    my = 0,
    exx = 0,
    eyy = 0,
    exy = 0;
  for (let i = 0; i < 11; i++) {
    for (let j = 0; j < 11; j++) {
      const wt = G[i]! * G[j]!;
      const a = x[(y0 + i) * w + x0 + j]!;
      const b = y[(y0 + i) * w + x0 + j]!;
      mx += wt * a;
      my += wt * b;
      exx += wt * a * a;
      eyy += wt * b * b;
      exy += wt * a * b;
    }
  }
  return { mx, my, vx: exx - mx * mx, vy: eyy - my * my, cxy: exy - mx * my };
}

async function loadPng(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(path.join(DATA, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: Float32Array.from(data, (v) => v / 255) };
}

/** HR photo cropped to a multiple of `scale`, its bicubic LR and the bicubic baseline SR. */
async function bicubicPair(file: string, scale: number) {
  const full = await loadPng(file);
  const w = full.width - (full.width % scale);
  const h = full.height - (full.height % scale);
  const rgb = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) rgb.set(full.rgb.subarray(y * full.width * 3, (y * full.width + w) * 3), y * w * 3);
  const hr: RgbImage = { width: w, height: h, rgb };
  const lr = resizeImage(hr, w / scale, h / scale);
  return { hr, lr, sr: bicubicBaseline(lr, w, h) };
}

test('rgbToY: black, white and the primaries land exactly on BT.601 studio-swing values', () => {
  const y = (r: number, g: number, b: number) => rgbToY(solid(1, 1, r, g, b))[0]!;
  assert.equal(y(0, 0, 0), 16);
  assert.equal(y(1, 1, 1), 235);
  assert.equal(y(1, 0, 0), 16 + 65.481);
  assert.equal(y(0, 1, 0), 16 + 128.553);
  assert.equal(y(0, 0, 1), 16 + 24.966);
  // The same without quantisation (0 and 1 are exact 8-bit levels anyway).
  assert.equal(rgbToY(solid(1, 1, 1, 1, 1), { quantize: false })[0], 235);
  // One value per pixel, row-major.
  const img: RgbImage = { width: 2, height: 1, rgb: Float32Array.of(0, 0, 0, 1, 1, 1) };
  assert.deepEqual([...rgbToY(img)], [16, 235]);
});

test('quantisation follows tensor2img: clamp, ×255 in float32, round half to even', () => {
  assert.equal(quantize8(0), 0);
  assert.equal(quantize8(1), 255);
  assert.equal(quantize8(-0.2), 0);
  assert.equal(quantize8(1.7), 255);
  // float32(k.5/255)·255 is exactly k.5 in float32 for these, so they are true ties:
  assert.equal(quantize8(Math.fround(2.5 / 255)), 2);
  assert.equal(quantize8(Math.fround(3.5 / 255)), 4);
  assert.equal(quantize8(0.5), 128); // 127.5 → 128 (even)
  assert.equal(quantize8(Math.fround(126.5 / 255)), 126);
  for (let k = 0; k <= 255; k++) assert.equal(quantize8(Math.fround(k / 255)), k);
  // Grey 0.5: quantised to 128/255 by default, kept as 0.5 without.
  close(rgbToY(solid(1, 1, 0.5, 0.5, 0.5))[0]!, 16 + (219 * 128) / 255, 1e-12);
  close(rgbToY(solid(1, 1, 0.5, 0.5, 0.5), { quantize: false })[0]!, 16 + 219 * 0.5, 1e-12);
  // Differences below half a level vanish with quantisation and count without it.
  const a = greyLevels(4, 4, new Array(16).fill(100));
  const b: RgbImage = { ...a, rgb: a.rgb.map((v) => v + 0.2 / 255) };
  assert.equal(psnrY(a, b), Infinity);
  assert.ok(Number.isFinite(psnrY(a, b, 0, { quantize: false })));
});

test('PSNR-Y of two constant greys 10 levels apart, by hand', () => {
  // Grey 128/255 vs 138/255 in every channel. Y is linear with coefficients summing to
  // 65.481 + 128.553 + 24.966 = 219, so ΔY = 219·10/255 = 8.588235294117647 at every pixel,
  // MSE = ΔY² = 73.75778546712802, PSNR = 10·log10(255²/MSE) = 10·log10(65025/73.75778546712802)
  // = 10·log10(881.6018483768063) = 20·log10(255·255/2190) = 29.452724920555838 dB.
  const hr = solid(6, 5, 128 / 255, 128 / 255, 128 / 255);
  const sr = solid(6, 5, 138 / 255, 138 / 255, 138 / 255);
  const byHand = 20 * Math.log10((255 * 255) / 2190);
  close(byHand, 29.452724920555838, 1e-12);
  close(psnrY(sr, hr), byHand, 1e-9);
  close(psnrY(hr, sr), byHand, 1e-9);
  close(psnrY(sr, hr, 1), byHand, 1e-9);
  assert.equal(psnrY(hr, hr), Infinity);
});

test('cropping removes a corrupted border: crop = scale ignores it', () => {
  // 10×8, scale 2: the inner 6×4 is grey 138 against an all-128 ground truth, the 2-pixel frame
  // around it is garbage. With crop = 2 only the inner part counts → the hand value above.
  const w = 10,
    h = 8,
    scale = 2;
  const garbage = randomLevels(w * h, 0, 255, 7);
  const levels = garbage.map((g, p) => {
    const x = p % w,
      y = Math.floor(p / w);
    return x >= scale && x < w - scale && y >= scale && y < h - scale ? 138 : g;
  });
  const sr = greyLevels(w, h, levels);
  const hr = greyLevels(w, h, new Array(w * h).fill(128));
  const byHand = 20 * Math.log10((255 * 255) / 2190);
  close(psnrY(sr, hr, scale), byHand, 1e-9);
  assert.ok(psnrY(sr, hr, 0) < byHand - 1, 'without the crop the garbage must count');
  // One pixel of crop is not enough.
  assert.ok(psnrY(sr, hr, 1) < byHand - 1);

  // Same for SSIM (compareImages): the inner part equals the ground truth → SSIM 1 and PSNR ∞.
  const W = 16,
    H = 15;
  const inner = randomLevels(W * H, 30, 220, 11);
  const noisy = inner.map((v, p) => {
    const x = p % W,
      y = Math.floor(p / W);
    return x < scale || x >= W - scale || y < scale || y >= H - scale ? 255 - v : v;
  });
  const scores = compareImages(greyLevels(W, H, noisy), greyLevels(W, H, inner), scale);
  assert.equal(scores.psnrY, Infinity);
  assert.equal(scores.ssimY, 1);
  assert.ok(ssimY(greyLevels(W, H, noisy), greyLevels(W, H, inner), 0) < 0.99);
});

test('SSIM constants and the Gaussian window', () => {
  close(SSIM_C1, 6.5025, 1e-12);
  close(SSIM_C2, 58.5225, 1e-12);
  const k = gaussianKernel(11, 1.5);
  assert.equal(k.length, 11);
  for (let i = 0; i < 11; i++) {
    close(k[i]!, G[i]!, 1e-16, `g[${i}]`);
    assert.equal(k[i], k[10 - i]);
  }
  close(
    k.reduce((a, b) => a + b, 0),
    1,
    1e-15,
  );
});

test('SSIM of identical images is exactly 1', () => {
  const img = greyLevels(23, 17, randomLevels(23 * 17, 0, 255, 3));
  assert.equal(ssimY(img, img), 1);
  assert.equal(ssimY(img, { ...img, rgb: img.rgb.slice() }, 3), 1);
  const colour: RgbImage = {
    width: 12,
    height: 12,
    rgb: Float32Array.from(randomLevels(432, 0, 255, 5), (v) => v / 255),
  };
  assert.equal(ssimY(colour, colour), 1);
  assert.equal(compareImages(colour, colour, 0).ssimY, 1);
});

test('SSIM of an 11×11 pair (one window) matches the formula summed by hand', () => {
  const n = 11;
  const ka = randomLevels(n * n, 0, 255, 101);
  const kb = ka.map((v, i) => Math.min(255, Math.max(0, v + ((i * 37) % 41) - 20)));
  const x = ka.map(yOfLevel);
  const y = kb.map(yOfLevel);
  const { mx, my, vx, vy, cxy } = windowStats(x, y, n, 0, 0);
  const C1 = (0.01 * 255) ** 2,
    C2 = (0.03 * 255) ** 2;
  const byHand = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
  assert.ok(byHand > 0.2 && byHand < 0.999, `a meaningful test value, got ${byHand}`);
  close(ssimY(greyLevels(n, n, ka), greyLevels(n, n, kb)), byHand, 1e-10);

  // A very different pair (anti-correlated) still matches, and SSIM is symmetric.
  const kc = ka.map((v) => 255 - v);
  const s = windowStats(x, kc.map(yOfLevel), n, 0, 0);
  const byHand2 = ((2 * s.mx * s.my + C1) * (2 * s.cxy + C2)) / ((s.mx ** 2 + s.my ** 2 + C1) * (s.vx + s.vy + C2));
  assert.ok(byHand2 < 0);
  close(ssimY(greyLevels(n, n, ka), greyLevels(n, n, kc)), byHand2, 1e-10);
  close(ssimY(greyLevels(n, n, kc), greyLevels(n, n, ka)), byHand2, 1e-10);
});

test('SSIM of a constant shift: σ terms cancel, leaving the luminance term per window', () => {
  // y = x + c (no clipping): σy² = σx² = σxy in every window, so (2σxy + C2)/(σx² + σy² + C2) = 1 and
  // SSIM = mean over windows of (2μx(μx + c) + C1) / (μx² + (μx + c)² + C1), c = 219·Δk/255.
  const w = 16,
    h = 14,
    dk = 30;
  const kx = randomLevels(w * h, 20, 200, 42);
  const ky = kx.map((v) => v + dk);
  const c = (219 * dk) / 255;
  const x = kx.map(yOfLevel);
  const C1 = (0.01 * 255) ** 2;
  let sum = 0,
    count = 0;
  for (let y0 = 0; y0 + 11 <= h; y0++) {
    for (let x0 = 0; x0 + 11 <= w; x0++) {
      const { mx, vx } = windowStats(x, x, w, x0, y0);
      assert.ok(vx > 100, 'the image is not constant inside the window');
      sum += (2 * mx * (mx + c) + C1) / (mx * mx + (mx + c) ** 2 + C1);
      count++;
    }
  }
  assert.equal(count, 6 * 4);
  const byHand = sum / count;
  assert.ok(byHand < 0.99);
  close(ssimY(greyLevels(w, h, kx), greyLevels(w, h, ky)), byHand, 1e-10);
});

test('size checks throw clear errors', () => {
  const a = solid(20, 16, 0.2, 0.4, 0.6);
  assert.throws(() => psnrY(a, solid(20, 15, 0.2, 0.4, 0.6)), /sizes differ: 20×16 vs 20×15/);
  assert.throws(() => ssimY(a, solid(16, 20, 0.2, 0.4, 0.6)), /sizes differ/);
  assert.throws(() => compareImages(a, solid(40, 32, 0, 0, 0), 2), /sizes differ/);
  assert.throws(() => psnrY(a, a, 8), /leaves 4×0/);
  assert.throws(() => psnrY(a, a, 10), /crop/);
  assert.throws(() => psnrY(a, a, -1), /non-negative integer/);
  assert.throws(() => psnrY(a, a, 1.5), /non-negative integer/);
  // SSIM needs at least 11×11 after the crop: 20×16 with crop 3 leaves 14×10.
  assert.throws(() => ssimY(a, a, 3), /leaves 14×10, need at least 11×11/);
  assert.throws(() => compareImages(a, a, 3), /leaves 14×10/);
  assert.equal(ssimY(a, a, 2), 1);
  assert.throws(() => psnrY({ width: 2, height: 2, rgb: new Float32Array(3) }, a), /bad image buffer/);
});

test('bicubicBaseline upsamples with resizeImage to the HR size', () => {
  const lr: RgbImage = { width: 5, height: 4, rgb: Float32Array.from(randomLevels(60, 0, 255, 9), (v) => v / 255) };
  const up = bicubicBaseline(lr, 15, 12);
  assert.equal(up.width, 15);
  assert.equal(up.height, 12);
  assert.deepEqual(up.rgb, resizeImage(lr, 15, 12).rgb);
});

test('matches a numpy transcription of BasicSR on coffee.png (bicubic x2 and x4)', async (t) => {
  if (!hasNumpy) return t.skip('numpy not available');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-metrics-'));
  try {
    for (const scale of [2, 4]) {
      const { hr, sr } = await bicubicPair('val/coffee.png', scale);
      const files = { sr: path.join(dir, `sr${scale}.f32`), hr: path.join(dir, `hr${scale}.f32`) };
      // Float32Array's bytes are little-endian on every platform Node runs on.
      fs.writeFileSync(files.sr, new Uint8Array(sr.rgb.buffer, sr.rgb.byteOffset, sr.rgb.byteLength));
      fs.writeFileSync(files.hr, new Uint8Array(hr.rgb.buffer, hr.rgb.byteOffset, hr.rgb.byteLength));
      const args = [
        REFERENCE,
        '--sr',
        files.sr,
        '--hr',
        files.hr,
        '--width',
        `${hr.width}`,
        '--height',
        `${hr.height}`,
        '--crop',
        `${scale}`,
      ];
      const r = spawnSync('python3', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const ref = JSON.parse(r.stdout) as { psnr: number; ssim: number };
      const ours = compareImages(sr, hr, scale);
      t.diagnostic(
        `x${scale}: ours PSNR-Y ${ours.psnrY} SSIM-Y ${ours.ssimY}; BasicSR ${ref.psnr} / ${ref.ssim}; ` +
          `|Δ| ${Math.abs(ours.psnrY - ref.psnr)} dB / ${Math.abs(ours.ssimY - ref.ssim)}`,
      );
      close(ours.psnrY, ref.psnr, 1e-6, `x${scale} PSNR-Y`);
      close(ours.ssimY, ref.ssim, 1e-8, `x${scale} SSIM-Y`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sanity: bicubic x2 of coffee.png scores in a plausible range', async (t) => {
  const { hr, sr } = await bicubicPair('val/coffee.png', 2);
  const { psnrY: p, ssimY: s } = compareImages(sr, hr, 2);
  t.diagnostic(`coffee.png ${hr.width}×${hr.height} bicubic x2: PSNR-Y ${p.toFixed(4)} dB, SSIM-Y ${s.toFixed(6)}`);
  assert.ok(p > 25 && p < 40, `PSNR-Y ${p}`);
  assert.ok(s > 0.7 && s < 1, `SSIM-Y ${s}`);
  assert.equal(p, psnrY(sr, hr, 2));
  assert.equal(s, ssimY(sr, hr, 2));
  // Unquantised floats give nearly the same figures.
  close(psnrY(sr, hr, 2, { quantize: false }), p, 0.05);
});

test('meanGradient: forward differences by hand on a 3×3 plane', () => {
  // Rows 0 1 2 / 0 1 2 / 0 4 2: the 2×2 pixels with a right and a lower neighbour.
  const y = Float64Array.of(0, 1, 2, 0, 1, 2, 0, 4, 2);
  // (0,0): gx 1, gy 0 → 1; (1,0): gx 1, gy 0 → 1; (0,1): gx 1, gy 0 → 1; (1,1): gx 1, gy 3 → √10.
  close(meanGradient(y, 3, 3), (3 + Math.sqrt(10)) / 4, 1e-12);
});

test('detailY: 1 for the ground truth itself, below 1 for a blurred copy, above for a noisier one', async () => {
  const { data, info } = await sharp(path.join(DATA, 'val/coffee.png'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const hr: RgbImage = { width: info.width, height: info.height, rgb: Float32Array.from(data, (v) => v / 255) };
  assert.equal(detailY(hr, hr, 2), 1);
  // Bicubic x4 down and up loses fine detail: well below the ground truth's.
  const lr = resizeImage(hr, Math.round(hr.width / 4), Math.round(hr.height / 4));
  const bicubic = bicubicBaseline(lr, hr.width, hr.height);
  const d = detailY(bicubic, hr, 4);
  assert.ok(d > 0.2 && d < 0.8, `bicubic x4 keeps ${d} of the detail`);
  assert.equal(compareImages(bicubic, hr, 4).detail, d);
  // Adding ±8 levels of alternating noise adds gradient energy.
  const noisy = { ...hr, rgb: hr.rgb.map((v, i) => Math.min(1, Math.max(0, v + ((i / 3) % 2 < 1 ? 8 : -8) / 255))) };
  assert.ok(detailY(noisy, hr, 4) > 1, 'noise raises the detail measure above 1');
});

test('laplacianVariance: the 4-neighbour Laplacian at the interior pixels and its variance, by hand on a 4×4 plane', () => {
  // The 8 in the corner has no four neighbours and is no interior pixel's neighbour: it does not count.
  const y = Float64Array.of(0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8);
  // Interior (1,1): 0 + 0 + 0 + 0 − 16 = −16; (2,1): 4; (1,2): 4; (2,2): 0. Mean −2, deviations −14, 6, 6, 2.
  close(laplacianVariance(y, 4, 4), (196 + 36 + 36 + 4) / 4, 1e-12);
  // A linear ramp has no curvature anywhere, and so a variance of 0.
  const ramp = Float64Array.from({ length: 20 }, (_, i) => 3 * (i % 5) + 7 * Math.floor(i / 5));
  assert.equal(laplacianVariance(ramp, 5, 4), 0);
  assert.throws(() => laplacianVariance(new Float64Array(4), 2, 2), /2×2/);
});

test('laplacianVarianceY: on Y (0–255) after the border crop; blur lowers it, noise raises it', async () => {
  // Grey levels k: Y = 16 + 219·k/255, so the variance is (219/255)² times that of the levels. The
  // border crop of 1 leaves the 4×4 plane above (the outer ring of 255s is cut away).
  const inner = [0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8];
  const levels = Array.from({ length: 36 }, (_, i) => {
    const r = Math.floor(i / 6) - 1;
    const c = (i % 6) - 1;
    return r >= 0 && r < 4 && c >= 0 && c < 4 ? inner[r * 4 + c]! : 255;
  });
  close(laplacianVarianceY(greyLevels(6, 6, levels), 1), 68 * (219 / 255) ** 2, 1e-9);
  assert.equal(laplacianVarianceY(solid(8, 8, 0.3, 0.6, 0.2)), 0);

  const { data, info } = await sharp(path.join(DATA, 'val/flower.png'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const photo: RgbImage = { width: info.width, height: info.height, rgb: Float32Array.from(data, (v) => v / 255) };
  const sharpness = laplacianVarianceY(photo, 4);
  const soft = laplacianVarianceY({ ...photo, rgb: gaussianBlur(photo.rgb, photo.width, photo.height, 0.8) }, 4);
  const softer = laplacianVarianceY({ ...photo, rgb: gaussianBlur(photo.rgb, photo.width, photo.height, 1.6) }, 4);
  assert.ok(softer < soft && soft < sharpness, `σ 1.6: ${softer}, σ 0.8: ${soft}, the photo: ${sharpness}`);
  const lr = resizeImage(photo, photo.width / 4, photo.height / 4);
  const bicubic = laplacianVarianceY(bicubicBaseline(lr, photo.width, photo.height), 4);
  assert.ok(bicubic < soft, `bicubic x4 (${bicubic}) keeps less than a slight blur (${soft})`);
  // ±8 levels of alternating noise add energy at the finest scale.
  const noisy = {
    ...photo,
    rgb: photo.rgb.map((v, i) => Math.min(1, Math.max(0, v + ((i / 3) % 2 < 1 ? 8 : -8) / 255))),
  };
  assert.ok(laplacianVarianceY(noisy, 4) > sharpness);
});
