/**
 * The training degradations (ml/degrade.ts) on real photos: each step's measured effect (the
 * blurs themselves in blur.test.ts), the
 * presets' ranges and probabilities, determinism per seed and through a saved Rng state, and the
 * sampler with the real JPEG encoder (ml/node/jpeg.ts).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PatchSampler, quantise8, type DatasetSource, type TrainImage } from '../../ml/dataset.ts';
import {
  addNoise,
  DEGRADE_PRESETS,
  degradePatch,
  degraderFor,
  describeDegrade,
  type DegradeRecord,
  type DegradeSpec,
  type JpegRoundTrip,
} from '../../ml/degrade.ts';
import type { RgbImage } from '../../ml/image.ts';
import { sharpJpeg } from '../../ml/node/jpeg.ts';
import { Rng } from '../../ml/random.ts';
import { resizeBicubic } from '../../ml/resize.ts';
import { energy, mean, photo } from '../helpers/photos.ts';

const FILES = ['val/coffee.png', 'val/astronaut.png', 'val/chelsea.png'];
let crops: RgbImage[] = [];
before(async () => {
  crops = await Promise.all(FILES.map((f) => photo(f, 128, 128, 100, 80)));
});

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('the three downscaling kernels differ as expected: bilinear is the softest, area the sharpest', () => {
  for (const [k, img] of crops.entries()) {
    const e = (filter: 'bicubic' | 'bilinear' | 'box') =>
      energy(resizeBicubic(img.rgb, 128, 128, 3, 64, 64, { filter }), 64, 64, 'x');
    assert.ok(
      e('bilinear') < 0.9 * e('bicubic') && e('bicubic') < e('box'),
      `${FILES[k]}: ${e('bilinear')} ${e('bicubic')} ${e('box')}`,
    );
  }
});

test('noise: the sigma measured back matches the one asked for; luma noise is the same on R, G and B; Poisson-like noise grows with the signal', () => {
  const lr = resizeBicubic(crops[1]!.rgb, 128, 128, 3, 64, 64);
  const residual = (noisy: Float32Array) => noisy.map((v, i) => v - lr[i]!);
  const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

  const colour = lr.slice();
  addNoise(colour, { kind: 'gaussian', sigma: 8, luma: false }, new Rng(1));
  const rc = residual(colour);
  assert.ok(Math.abs(rms(rc) * 255 - 8) < 0.4, `colour sigma ${rms(rc) * 255}`);
  assert.ok(Math.abs(mean(rc)) < 0.5 / 255, 'zero mean');
  let same = 0;
  for (let p = 0; p < rc.length / 3; p++) if (rc[p * 3] === rc[p * 3 + 1]) same++;
  assert.ok(same < 5, 'colour noise differs between channels');

  const luma = lr.slice();
  addNoise(luma, { kind: 'gaussian', sigma: 5, luma: true }, new Rng(2));
  const rl = residual(luma);
  assert.ok(Math.abs(rms(rl) * 255 - 5) < 0.3, `luma sigma ${rms(rl) * 255}`);
  for (let p = 0; p < rl.length / 3; p++) assert.ok(Math.abs(rl[p * 3]! - rl[p * 3 + 2]!) < 1e-6, `pixel ${p}`);

  // Poisson-like: E[n²] = σ₁²·v, so the sum of n² over the sum of v estimates σ₁²; bright pixels
  // get more noise than dark ones.
  const poisson = lr.slice();
  addNoise(poisson, { kind: 'poisson', sigma: 10, luma: false }, new Rng(3));
  const rp = residual(poisson);
  const est = Math.sqrt(rp.reduce((s, v) => s + v * v, 0) / lr.reduce((s, v) => s + Math.max(v, 0), 0)) * 255;
  assert.ok(Math.abs(est - 10) < 0.5, `Poisson-like sigma at white ${est}`);
  const bin = (lo: number, hi: number) => {
    const sel = [...rp].filter((_, i) => lr[i]! >= lo && lr[i]! < hi);
    return Math.sqrt(sel.reduce((s, v) => s + v * v, 0) / sel.length) * 255;
  };
  const dark = bin(0, 0.3);
  const bright = bin(0.6, 1.01);
  assert.ok(bright > 1.3 * dark, `dark ${dark}, bright ${bright}`);
});

test('JPEG through sharp: quality 30 changes a photo more than 95 and leaves 8×8 block edges; the same input gives the same bytes', async () => {
  for (const [k, img] of crops.entries()) {
    const lr = quantise8(resizeBicubic(img.rgb, 128, 128, 3, 64, 64));
    const bytes = Uint8Array.from(lr, (v) => Math.round(v * 255));
    const at = async (q: number) => sharpJpeg(bytes, 64, 64, q);
    const mae = (a: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - bytes[i]!), 0) / a.length;
    /** Mean step across block boundaries (x = 7|8, 15|16, …) over the mean step elsewhere. */
    const blockiness = (a: Uint8Array) => {
      let on = 0;
      let nOn = 0;
      let off = 0;
      let nOff = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 63; x++) {
          for (let c = 0; c < 3; c++) {
            const d = Math.abs(a[(y * 64 + x + 1) * 3 + c]! - a[(y * 64 + x) * 3 + c]!);
            if (x % 8 === 7) (on += d), nOn++;
            else (off += d), nOff++;
          }
        }
      }
      return on / nOn / (off / nOff);
    };
    const [q30, q95] = [await at(30), await at(95)];
    assert.ok(mae(q30) > 2 * mae(q95), `${FILES[k]}: q30 ${mae(q30)} vs q95 ${mae(q95)}`);
    assert.ok(
      blockiness(q30) > blockiness(bytes) + 0.25,
      `${FILES[k]}: blocks at q30 ${blockiness(q30)} vs ${blockiness(bytes)}`,
    );
    assert.ok(Math.abs(blockiness(q95) - blockiness(bytes)) < 0.1, `${FILES[k]}: none at q95`);
    assert.ok(Buffer.from(await at(30)).equals(Buffer.from(q30)), 'deterministic');
  }
  await assert.rejects(sharpJpeg(new Uint8Array(12), 2, 2, 0), /bad quality/);
});

/** A stand-in encoder for tests that only look at what was drawn. */
const identityJpeg: JpegRoundTrip = async (rgb) => rgb.slice();

async function records(spec: DegradeSpec, n: number, seed: number): Promise<DegradeRecord[]> {
  const rng = new Rng(seed);
  const hr = crops[0]!.rgb.subarray(0, 8 * 8 * 3);
  const out: DegradeRecord[] = [];
  for (let i = 0; i < n; i++) out.push((await degradePatch(hr, 8, 2, spec, rng, identityJpeg)).record);
  return out;
}

/** |observed share − p| within 4.5 standard deviations of a binomial share. */
function assertShare(count: number, n: number, p: number, what: string) {
  const sd = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(count / n - p) <= 4.5 * sd + 1e-9, `${what}: ${count}/${n}, expected ${p}`);
}

test('the photo preset draws within its documented ranges, with its probabilities and kernel shares', async () => {
  const spec = DEGRADE_PRESETS.photo;
  const n = 3000;
  const rs = await records(spec, n, 5);
  const blurs = rs.flatMap((r) => (r.blur ? [r.blur] : []));
  assertShare(blurs.length, n, spec.blur.p, 'blur');
  assertShare(blurs.filter((b) => b.sigmaX !== b.sigmaY).length, blurs.length, spec.blur.anisotropic, 'anisotropic');
  for (const b of blurs) {
    for (const s of [b.sigmaX, b.sigmaY]) assert.ok(s >= spec.blur.sigma[0] && s <= spec.blur.sigma[1], `sigma ${s}`);
    assert.ok(b.theta >= 0 && b.theta < Math.PI);
  }
  const sigmas = blurs.map((b) => b.sigmaX);
  assert.ok(
    Math.min(...sigmas) < spec.blur.sigma[0] + 0.02 && Math.max(...sigmas) > spec.blur.sigma[1] - 0.02,
    'the whole range is used',
  );
  for (const k of ['bicubic', 'bilinear', 'area'] as const)
    assertShare(rs.filter((r) => r.kernel === k).length, n, spec.downscale[k], `kernel ${k}`);
  const noises = rs.flatMap((r) => (r.noise ? [r.noise] : []));
  assertShare(noises.length, n, spec.noise.p, 'noise');
  assertShare(noises.filter((x) => x.kind === 'gaussian').length, noises.length, spec.noise.gaussian, 'Gaussian share');
  assertShare(noises.filter((x) => x.luma).length, noises.length, spec.noise.luma, 'luma share');
  for (const x of noises) {
    const [lo, hi] = x.kind === 'gaussian' ? spec.noise.sigma : spec.noise.poisson;
    assert.ok(x.sigma >= lo && x.sigma <= hi, `${x.kind} sigma ${x.sigma}`);
  }
  const qs = rs.flatMap((r) => (r.jpeg === null ? [] : [r.jpeg]));
  assertShare(qs.length, n, spec.jpeg.p, 'JPEG');
  assert.ok(qs.every((q) => Number.isInteger(q) && q >= 30 && q <= 95));
  assert.deepEqual([Math.min(...qs), Math.max(...qs)], [30, 95], 'both ends of the quality range occur');
  assert.ok(
    rs.every((r) => r.second === null),
    'no second pass in photo',
  );
});

test('photo-heavy: a second pass about half the time, with its own ranges', async () => {
  const spec = DEGRADE_PRESETS['photo-heavy'];
  const n = 1500;
  const rs = await records(spec, n, 6);
  const second = rs.flatMap((r) => (r.second ? [r.second] : []));
  assertShare(second.length, n, spec.second.p, 'second pass');
  assertShare(rs.filter((r) => r.jpeg !== null).length, n, 1, 'first JPEG always');
  for (const s of second) {
    if (s.blur) assert.ok(s.blur.sigmaX >= 0.1 && s.blur.sigmaX <= 0.6);
    if (s.noise) assert.ok(s.noise.sigma >= 1 && s.noise.sigma <= 12);
    assert.ok(s.jpeg !== null && s.jpeg >= 30 && s.jpeg <= 95);
  }
  assert.match(describeDegrade('photo-heavy'), /second pass 50%/);
  assert.match(
    describeDegrade('photo'),
    /^photo: blur 20% \(Gaussian σ 0\.1–0\.4 LR px, 50% anisotropic\), downscale bicubic 60% \/ bilinear 20% \/ area 20%, noise 20% \(Gaussian σ 1–5\/255 or Poisson-like σ 2–6\/255 at white, 60% Gaussian, 40% luma\), JPEG 60% \(quality 30–95\)$/,
  );
  assert.match(describeDegrade('none'), /bicubic/);
});

test('a degraded patch is 8-bit, leaves its HR patch alone and is fixed by the seed', async () => {
  const hr = crops[2]!.rgb.slice(0, 32 * 32 * 3);
  const before = hr.slice();
  const run = (seed: number) => degradePatch(hr, 32, 2, DEGRADE_PRESETS['photo-heavy'], new Rng(seed), sharpJpeg);
  const a = await run(11);
  const b = await run(11);
  assert.ok(bits(a.lr).equals(bits(b.lr)));
  assert.deepEqual(a.record, b.record);
  assert.ok(bits(hr).equals(bits(before)), 'HR untouched');
  assert.equal(a.lr.length, 16 * 16 * 3);
  for (const v of a.lr) assert.equal(Math.fround(Math.round(v * 255) / 255), v);
  let differs = 0;
  for (let s = 12; s < 20; s++) if (!bits((await run(s)).lr).equals(bits(a.lr))) differs++;
  assert.ok(differs >= 7, 'other seeds give other patches');
  // Without an encoder the first sample that draws a JPEG step fails, naming what is missing.
  const rng = new Rng(1);
  await assert.rejects(async () => {
    for (let i = 0; i < 20; i++) await degradePatch(hr, 32, 2, DEGRADE_PRESETS.photo, rng, undefined);
  }, /JPEG encoder/);
  assert.throws(() => degraderFor('photo', undefined), /JPEG encoder/);
  assert.equal(degraderFor('none', undefined), undefined);
});

test('the sampler with the photo degradations: bit-identical per seed, and a saved Rng state resumes the stream', async () => {
  const images: TrainImage[] = crops.map((c, i) => ({
    name: FILES[i]!,
    width: 128,
    height: 128,
    rgb: Uint8Array.from(c.rgb, (v) => Math.round(v * 255)),
  }));
  const source: DatasetSource = { size: images.length, name: (i) => images[i]!.name, get: async (i) => images[i]! };
  const opts = { scale: 2, patch: 16, batch: 6, degrade: degraderFor('photo', sharpJpeg) };
  const make = (seed: number | number[]) => new PatchSampler(source, opts, new Rng(seed));
  const a = make(3);
  const first = [await a.next(), await a.next()];
  const saved = a.rng.state;
  const rest = [await a.next(), await a.next()];
  const b = make(3);
  for (const x of first) assert.ok(bits((await b.next()).lr).equals(bits(x.lr)), 'same seed');
  const resumed = make(saved);
  for (const x of rest) {
    const y = await resumed.next();
    assert.ok(bits(y.lr).equals(bits(x.lr)) && bits(y.hr).equals(bits(x.hr)), 'resumed');
  }
  const clean = await new PatchSampler(source, { scale: 2, patch: 16, batch: 6 }, new Rng(3)).next();
  assert.ok(!bits(clean.lr).equals(bits(first[0]!.lr)), 'the degradations changed the LR');
});
