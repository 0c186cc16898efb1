import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import {
  bicubicInputRegion,
  cubicKernel,
  resizeBicubic,
  resizeBicubicRegion,
  resizeImage,
  type Region,
} from '../../ml/resize.ts';
import { maxDiff } from '../helpers/photos.ts';

const DATA = path.resolve(import.meta.dirname, '../../photos');

/** A w×h crop of a real photo as interleaved floats in [0, 1]. */
async function photoCrop(file: string, left: number, top: number, w: number, h: number) {
  const buf = await sharp(path.join(DATA, file))
    .extract({ left, top, width: w, height: h })
    .removeAlpha()
    .raw()
    .toBuffer();
  return Float32Array.from(buf, (v) => v / 255);
}

/** The Keys cubic kernel (a = -0.5), written out again for the references below. */
const keys = (x: number) => {
  const a = -0.5;
  const t = Math.abs(x);
  return t < 1 ? (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1 : t < 2 ? a * (t ** 3 - 5 * t ** 2 + 8 * t - 4) : 0;
};

/**
 * Independent float64 reference of Pillow's ImagingResample (bicubic, a = -0.5, unless another
 * `kernel` of half-width `support` is given), written from Pillow's description rather than from
 * ml/resize.ts: per output pixel, the 2-D weight is the product of the normalised 1-D weights,
 * summed directly over the window (no separable passes).
 */
function weights1d(inSize: number, outSize: number, i: number, antialias: boolean, kernel = keys, support = 2) {
  const scale = inSize / outSize;
  const fs = antialias && scale > 1 ? scale : 1;
  const reach = support * fs;
  const centre = (i + 0.5) * scale;
  const lo = Math.max(0, Math.trunc(centre - reach + 0.5));
  const hi = Math.min(inSize, Math.trunc(centre + reach + 0.5));
  const ws: [number, number][] = [];
  for (let j = lo; j < hi; j++) ws.push([j, kernel((j + 0.5 - centre) / fs)]);
  const sum = ws.reduce((s, [, w]) => s + w, 0);
  return ws.map(([j, w]) => [j, w / sum] as const);
}

function reference(
  src: Float32Array,
  w: number,
  h: number,
  ch: number,
  ow: number,
  oh: number,
  aa = true,
  kernel = keys,
  support = 2,
) {
  const out = new Float64Array(ow * oh * ch);
  for (let y = 0; y < oh; y++) {
    const wy = weights1d(h, oh, y, aa, kernel, support);
    for (let x = 0; x < ow; x++) {
      const wx = weights1d(w, ow, x, aa, kernel, support);
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (const [sy, ky] of wy) for (const [sx, kx] of wx) s += src[(sy * w + sx) * ch + c]! * ky * kx;
        out[(y * ow + x) * ch + c] = s;
      }
    }
  }
  return out;
}

test('the kernel is Keys cubic convolution with a = -0.5', () => {
  assert.equal(cubicKernel(0), 1);
  assert.ok(cubicKernel(1) === 0); // -0 or 0
  assert.equal(cubicKernel(2), 0);
  assert.equal(cubicKernel(0.5), 0.5625);
  assert.equal(cubicKernel(-1.5), -0.0625);
  assert.equal(cubicKernel(2.5), 0);
});

test('antialiased ×½ downscale of a photo matches a float64 Pillow reference', async () => {
  const src = await photoCrop('val/coffee.png', 200, 150, 32, 32);
  const got = resizeBicubic(src, 32, 32, 3, 16, 16);
  assert.ok(maxDiff(got, reference(src, 32, 32, 3, 16, 16)) <= 1e-5);
  // The window is 8 taps wide, so the result really is smoothed: it is not a 2×2 box average.
  const box = new Float64Array(16 * 16 * 3);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++)
      for (let c = 0; c < 3; c++) {
        const at = (dy: number, dx: number) => src[((2 * y + dy) * 32 + 2 * x + dx) * 3 + c]!;
        box[(y * 16 + x) * 3 + c] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
      }
  assert.ok(maxDiff(got, box) > 1e-3);
});

test('non-integer scales, up and down, match the reference', async () => {
  const src = await photoCrop('val/chelsea.png', 100, 60, 30, 22);
  for (const [ow, oh] of [
    [13, 9],
    [47, 61],
    [30, 7],
    [11, 22],
  ] as const) {
    for (const aa of [true, false]) {
      const got = resizeBicubic(src, 30, 22, 3, ow, oh, { antialias: aa });
      assert.ok(maxDiff(got, reference(src, 30, 22, 3, ow, oh, aa)) <= 1e-5, `${ow}×${oh} aa=${aa}`);
    }
  }
});

test('constant images stay constant when enlarged or reduced', () => {
  const src = new Float32Array(9 * 7 * 2);
  for (let i = 0; i < src.length; i++) src[i] = i % 2 ? 0.25 : 0.8;
  for (const [ow, oh] of [
    [36, 28],
    [4, 3],
    [9, 50],
  ] as const) {
    const out = resizeBicubic(src, 9, 7, 2, ow, oh);
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i]! - (i % 2 ? 0.25 : 0.8)) < 1e-6);
  }
});

test('enlarging reproduces a linear ramp away from the borders', () => {
  const src = Float32Array.from({ length: 16 }, (_, i) => i / 15);
  const out = resizeBicubic(src, 16, 1, 1, 64, 1);
  for (let i = 8; i < 56; i++) {
    const x = (i + 0.5) / 4 - 0.5; // output centre in input pixel-centre coordinates
    assert.ok(Math.abs(out[i]! - x / 15) < 1e-6, `at ${i}`);
  }
});

test('antialias changes downscaling but not upscaling', async () => {
  const src = await photoCrop('val/astronaut.png', 120, 80, 40, 40);
  const down = (aa: boolean) => resizeBicubic(src, 40, 40, 3, 10, 10, { antialias: aa });
  assert.ok(maxDiff(down(true), down(false)) > 0.01);
  const up = (aa: boolean) => resizeBicubic(src, 40, 40, 3, 100, 90, { antialias: aa });
  assert.deepEqual(up(true), up(false));
});

test('same size is a copy and the output is never clamped', () => {
  const src = Float32Array.from([0, 1, 0, 1, 0, 1, 0, 1]);
  const same = resizeBicubic(src, 8, 1, 1, 8, 1);
  assert.deepEqual(same, src);
  assert.notEqual(same, src);
  const up = resizeBicubic(src, 8, 1, 1, 32, 1);
  assert.ok(Math.min(...up) < 0 && Math.max(...up) > 1, 'cubic overshoot is kept');
  assert.throws(() => resizeBicubic(src, 4, 1, 1, 2, 1), /values/);
  assert.throws(() => resizeBicubic(src, 8, 1, 1, 0, 1), /bad sizes/);
});

test('resizeImage clamps and keeps transparent colours from bleeding', () => {
  const w = 8;
  const rgb = new Float32Array(w * 3);
  const alpha = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const opaque = x < 4;
    rgb.set(opaque ? [1, 0, 0] : [0, 0, 1], x * 3); // hidden blue behind transparent pixels
    alpha[x] = opaque ? 1 : 0;
  }
  const out = resizeImage({ width: w, height: 1, rgb, alpha }, 20, 1);
  assert.equal(out.width, 20);
  assert.ok(out.alpha);
  for (const v of out.rgb) assert.ok(v >= 0 && v <= 1);
  for (let x = 0; x < 20; x++) {
    if (out.alpha[x]! > 0.01) assert.ok(out.rgb[x * 3 + 2]! < 1e-6, `no blue at ${x}`);
  }
  const plain = resizeImage({ width: w, height: 1, rgb }, 3, 1);
  assert.equal(plain.alpha, undefined);
  assert.equal(plain.rgb.length, 9);
});

test('a region of a resize equals the same region of the whole resize, bit for bit', async () => {
  const [w, h] = [53, 41];
  const src = await photoCrop('val/coffee.png', 170, 120, w, h);
  const crop = (a: Float32Array, aw: number, r: Region, ch: number) => {
    const out = new Float32Array(r.width * r.height * ch);
    for (let y = 0; y < r.height; y++)
      out.set(a.subarray(((r.y + y) * aw + r.x) * ch, ((r.y + y) * aw + r.x + r.width) * ch), y * r.width * ch);
    return out;
  };
  // Enlargements by whole and odd factors, a reduction, and one side unchanged (that pass skipped).
  for (const [ow, oh] of [
    [106, 82],
    [159, 123],
    [200, 97],
    [20, 15],
    [53, 100],
  ] as const) {
    const whole = resizeBicubic(src, w, h, 3, ow, oh);
    const regions: Region[] = [
      { x: 0, y: 0, width: Math.min(17, ow), height: Math.min(13, oh) },
      { x: ow - 9, y: oh - 5, width: 9, height: 5 },
      { x: Math.floor(ow / 3), y: Math.floor(oh / 2), width: Math.ceil(ow / 3), height: Math.ceil(oh / 3) },
      { x: 0, y: 0, width: ow, height: oh },
    ];
    for (const r of regions) {
      const from = bicubicInputRegion(w, h, ow, oh, r);
      assert.ok(
        from.x >= 0 && from.y >= 0 && from.x + from.width <= w && from.y + from.height <= h,
        JSON.stringify(from),
      );
      const got = resizeBicubicRegion(crop(src, w, from, 3), from, w, h, 3, ow, oh, r);
      assert.deepEqual(got, crop(whole, ow, r, 3), `${ow}×${oh} region ${JSON.stringify(r)}`);
    }
  }
  // An enlargement reads only a small neighbourhood of the region.
  const from = bicubicInputRegion(w, h, 106, 82, { x: 40, y: 30, width: 20, height: 10 });
  assert.deepEqual(from, { x: 18, y: 13, width: 14, height: 9 });
  assert.throws(
    () =>
      resizeBicubicRegion(new Float32Array(3), { x: 0, y: 0, width: 1, height: 1 }, w, h, 3, 106, 82, {
        x: 100,
        y: 0,
        width: 10,
        height: 1,
      }),
    /bad region/,
  );
});

test('box (area) downscaling by an integer factor is the mean of each block', async () => {
  const src = await photoCrop('val/flower.png', 300, 200, 36, 24);
  for (const s of [2, 3, 4]) {
    const ow = 36 / s;
    const oh = 24 / s;
    const got = resizeBicubic(src, 36, 24, 3, ow, oh, { filter: 'box' });
    const mean = new Float64Array(ow * oh * 3);
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < s; dy++)
            for (let dx = 0; dx < s; dx++) sum += src[((s * y + dy) * 36 + s * x + dx) * 3 + c]!;
          mean[(y * ow + x) * 3 + c] = sum / (s * s);
        }
    assert.ok(maxDiff(got, mean) <= 1e-6, `x${s}`);
  }
});

test('bilinear downscaling matches a float64 triangle-filter reference, and the three filters differ', async () => {
  const src = await photoCrop('val/rocket.png', 200, 100, 32, 30);
  // Pillow's bilinear: triangle of support 1, stretched by the scale, windows clamped and renormalised.
  const triangle = (x: number) => Math.max(0, 1 - Math.abs(x));
  const [ow, oh] = [16, 10];
  const ref = reference(src, 32, 30, 3, ow, oh, true, triangle, 1);
  const bilinear = resizeBicubic(src, 32, 30, 3, ow, oh, { filter: 'bilinear' });
  assert.ok(maxDiff(bilinear, ref) <= 1e-5);
  const bicubic = resizeBicubic(src, 32, 30, 3, ow, oh);
  const box = resizeBicubic(src, 32, 30, 3, ow, oh, { filter: 'box' });
  assert.ok(maxDiff(bilinear, bicubic) > 1e-3 && maxDiff(box, bicubic) > 1e-3 && maxDiff(box, bilinear) > 1e-3);
  assert.throws(() => resizeBicubic(src, 32, 30, 3, ow, oh, { filter: 'lanczos' as 'box' }), /unknown filter/);
});
