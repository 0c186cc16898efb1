import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import {
  DIHEDRAL,
  holdOut,
  makeLr,
  PatchSampler,
  subsetSource,
  type DatasetSource,
  type PatchBatch,
  type PatchSamplerOptions,
  type TrainImage,
} from '../../ml/dataset.ts';
import { Rng } from '../../ml/random.ts';
import { resizeBicubic } from '../../ml/resize.ts';

const DATA = path.resolve(import.meta.dirname, '../../photos');

/** 8-bit RGB of a real photo, as sharp decodes it. */
async function decode(file: string): Promise<TrainImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { name: path.basename(file), width: info.width, height: info.height, rgb: new Uint8Array(data) };
}

function memorySource(images: readonly TrainImage[]): DatasetSource {
  return { size: images.length, name: (i) => images[i]!.name, get: async (i) => images[i]! };
}

let photos: TrainImage[] = [];
before(async () => {
  const files: string[] = [];
  for (const sub of ['tiny', 'val']) {
    for (const f of (await fs.readdir(path.join(DATA, sub))).sort())
      if (f.endsWith('.png')) files.push(path.join(DATA, sub, f));
  }
  photos = await Promise.all(files.map(decode));
  assert.ok(photos.length >= 8, 'photos');
});

const OPTS: PatchSamplerOptions = { scale: 2, patch: 12, batch: 6 };
const sampler = (seed: number | number[], opts: PatchSamplerOptions = OPTS, images = photos) =>
  new PatchSampler(memorySource(images), opts, new Rng(seed));
async function batches(s: PatchSampler, n: number): Promise<PatchBatch[]> {
  const out: PatchBatch[] = [];
  for (let i = 0; i < n; i++) out.push(await s.next());
  return out;
}
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBatch = (a: PatchBatch, b: PatchBatch) => bits(a.lr).equals(bits(b.lr)) && bits(a.hr).equals(bits(b.hr));

/** k/255 in float32, for k = 0 … 255. */
const F8 = Array.from({ length: 256 }, (_, k) => Math.fround(k / 255));

// Reference dihedral transforms of an N×N grid, written from their names: out[r][c] = in[...].
type Grid<T> = T[][];
const REF: Record<(typeof DIHEDRAL)[number], <T>(g: Grid<T>) => Grid<T>> = {
  identity: (g) => g.map((row) => row.slice()),
  'mirror left-right': (g) => g.map((row) => row.slice().reverse()),
  'flip top-bottom': (g) =>
    g
      .slice()
      .reverse()
      .map((row) => row.slice()),
  'rotate 180°': (g) =>
    g
      .slice()
      .reverse()
      .map((row) => row.slice().reverse()),
  transpose: (g) => g.map((_, r) => g.map((row) => row[r]!)),
  'rotate 90° clockwise': (g) => g.map((_, r) => g.map((_, c) => g[g.length - 1 - c]![r]!)),
  'rotate 90° counter-clockwise': (g) => g.map((_, r) => g.map((_, c) => g[c]![g.length - 1 - r]!)),
  'anti-transpose': (g) => g.map((_, r) => g.map((_, c) => g[g.length - 1 - c]![g.length - 1 - r]!)),
};

/** The side×side crop of `img` at (x, y) as a grid of [r, g, b] byte triples. */
const cropGrid = (img: TrainImage, x: number, y: number, side: number): Grid<number[]> =>
  Array.from({ length: side }, (_, r) =>
    Array.from({ length: side }, (_, c) => {
      const at = ((y + r) * img.width + x + c) * 3;
      return [img.rgb[at]!, img.rgb[at + 1]!, img.rgb[at + 2]!];
    }),
  );
/** Sample b of a [batch, side, side, 3] array as a grid of [r, g, b] float triples. */
const sampleGrid = (a: Float32Array, b: number, side: number): Grid<number[]> =>
  Array.from({ length: side }, (_, r) =>
    Array.from({ length: side }, (_, c) => {
      const at = ((b * side + r) * side + c) * 3;
      return [a[at]!, a[at + 1]!, a[at + 2]!];
    }),
  );

test('shapes and value ranges', async () => {
  const s = sampler(1);
  assert.equal(s.hrPatch, 24);
  const { lr, hr, picks } = await s.next();
  assert.equal(lr.length, 6 * 12 * 12 * 3);
  assert.equal(hr.length, 6 * 24 * 24 * 3);
  assert.equal(picks.length, 6);
  const f8 = new Set(F8);
  for (const v of lr) assert.ok(f8.has(v), `LR value ${v} is not an 8-bit level`);
  for (const v of hr) assert.ok(f8.has(v), `HR value ${v} is not an 8-bit level`);
});

test('the same seed gives bit-identical batches; another seed does not', async () => {
  const a = await batches(sampler(42), 4);
  const b = await batches(sampler(42), 4);
  for (let i = 0; i < 4; i++) assert.ok(sameBatch(a[i]!, b[i]!), `batch ${i} differs`);
  const c = await batches(sampler(43), 4);
  for (let i = 0; i < 4; i++) assert.ok(!sameBatch(a[i]!, c[i]!), `batch ${i} equal across seeds`);
  // Consecutive batches differ too.
  assert.ok(!sameBatch(a[0]!, a[1]!), 'consecutive batches equal');
});

test('determinism holds with a degrade function that draws, and queued next() calls draw in call order', async () => {
  const degrade = async (hr: Float32Array, side: number, scale: number, rng: Rng) => {
    assert.equal(hr.length, side * side * 3);
    const lr = resizeBicubic(hr, side, side, 3, side / scale, side / scale);
    await new Promise((r) => setTimeout(r, rng.int(3))); // settles out of order unless queued
    const shift = (1 + rng.int(3)) / 255;
    return lr.map((v) => v + shift);
  };
  const opts: PatchSamplerOptions = { ...OPTS, degrade };
  const a = await batches(sampler(7, opts), 3);
  const s = sampler(7, opts);
  const b = await Promise.all([s.next(), s.next(), s.next()]); // not awaited one by one
  for (let i = 0; i < 3; i++) assert.ok(sameBatch(a[i]!, b[i]!), `batch ${i} differs`);
  // The first sample's HR target is the same as without degradations (the same draws up to its
  // crop); its LR is not. (Later samples differ: degradations draw from the same Rng.)
  const clean = await sampler(7).next();
  const first = (x: Float32Array, n: number) => bits(x.subarray(0, n * n * 3));
  assert.ok(first(clean.hr, 24).equals(first(a[0]!.hr, 24)), 'clean HR of sample 0');
  assert.ok(!first(clean.lr, 12).equals(first(a[0]!.lr, 12)), 'degraded LR of sample 0');
});

test('a run resumed from a saved Rng state continues identically', async () => {
  const s = sampler(99);
  await batches(s, 2);
  const saved = s.rng.state;
  const rest = await batches(s, 3);
  const resumed = await batches(sampler(saved), 3);
  for (let i = 0; i < 3; i++) assert.ok(sameBatch(rest[i]!, resumed[i]!), `batch ${i} differs after resume`);
});

test('LR is the antialiased bicubic downscale of the HR patch, quantised to 8 bits', async () => {
  const { lr, hr } = await sampler(5).next();
  const side = 24;
  const n = 12;
  for (const b of [0, 3]) {
    const hrPatch = hr.slice(b * side * side * 3, (b + 1) * side * side * 3);
    const down = resizeBicubic(hrPatch, side, side, 3, n, n, { antialias: true });
    const expected = Float32Array.from(down, (v) => Math.round(Math.min(Math.max(v, 0), 1) * 255) / 255);
    const got = lr.subarray(b * n * n * 3, (b + 1) * n * n * 3);
    assert.ok(bits(got).equals(bits(expected)), `sample ${b}`);
    // makeLr is the same step for a whole image.
    assert.ok(bits(makeLr(hrPatch, side, side, 2)).equals(bits(expected)), 'makeLr');
  }
  assert.throws(() => makeLr(new Float32Array(5 * 4 * 3), 5, 4, 2), /multiple of the scale/);
});

test('HR patches are the 8-bit source crops / 255, transformed as picked', async () => {
  const side = 24;
  const { hr, picks } = await sampler(3).next();
  picks.forEach((p, b) => {
    const expected = REF[DIHEDRAL[p.transform]!](cropGrid(photos[p.index]!, p.x, p.y, side)).map((row) =>
      row.map((px) => px.map((v) => F8[v]!)),
    );
    assert.deepEqual(sampleGrid(hr, b, side), expected, `sample ${b}`);
  });
  // Without augmentation every transform is the identity.
  const plain = await sampler(3, { ...OPTS, augment: false }).next();
  assert.ok(
    plain.picks.every((p) => p.transform === 0),
    'augment: false',
  );
});

test('the 8 augmentations are the dihedral transforms, and all occur', async () => {
  // A 4×4 image with 16 distinct colours; HR patch 4 = the whole image, so the crop is always (0, 0).
  const side = 4;
  const rgb = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) rgb.set([x * 60, y * 60, 10 * (y * side + x)], (y * side + x) * 3);
  }
  const img: TrainImage = { name: 'corners', width: side, height: side, rgb };
  const s = sampler(11, { scale: 2, patch: 2, batch: 50 }, [img]);
  const grid = cropGrid(img, 0, 0, side);
  const seen = new Map<number, number>();
  for (let round = 0; round < 4; round++) {
    const { hr, picks } = await s.next();
    picks.forEach((p, b) => {
      assert.equal(p.x, 0);
      assert.equal(p.y, 0);
      const expected = REF[DIHEDRAL[p.transform]!](grid).map((row) => row.map((px) => px.map((v) => F8[v]!)));
      assert.deepEqual(sampleGrid(hr, b, side), expected, `${DIHEDRAL[p.transform]}`);
      seen.set(p.transform, (seen.get(p.transform) ?? 0) + 1);
    });
  }
  assert.deepEqual([...seen.keys()].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (const [t, count] of seen) assert.ok(count > 8, `${DIHEDRAL[t]} drawn only ${count} times in 200`);

  // The 8 results are distinct, and corners land where their names say.
  const outs = DIHEDRAL.map((name) => JSON.stringify(REF[name](grid)));
  assert.equal(new Set(outs).size, 8);
  const corner = (g: Grid<number[]>, r: number, c: number) => g[r]![c]!.join();
  const tl = corner(grid, 0, 0);
  const tr = corner(grid, 0, 3);
  const bl = corner(grid, 3, 0);
  const br = corner(grid, 3, 3);
  const topLeftAfter = (name: (typeof DIHEDRAL)[number]) => corner(REF[name](grid), 0, 0);
  assert.equal(topLeftAfter('identity'), tl);
  assert.equal(topLeftAfter('mirror left-right'), tr);
  assert.equal(topLeftAfter('flip top-bottom'), bl);
  assert.equal(topLeftAfter('rotate 180°'), br);
  assert.equal(topLeftAfter('transpose'), tl);
  assert.equal(corner(REF.transpose(grid), 0, 3), bl);
  assert.equal(topLeftAfter('rotate 90° clockwise'), bl);
  assert.equal(topLeftAfter('rotate 90° counter-clockwise'), tr);
  assert.equal(topLeftAfter('anti-transpose'), br);
});

test('a degrade function replaces the LR step, sees the HR patch and leaves it as it was', async () => {
  const plain = await sampler(21).next();
  const seen: Float32Array[] = [];
  const degrade = async (hr: Float32Array, side: number, scale: number) => {
    seen.push(hr.slice());
    return new Float32Array((side / scale) ** 2 * 3).fill(0.5004); // quantised to 128/255 after
  };
  const b = await sampler(21, { ...OPTS, degrade }).next();
  assert.ok(bits(plain.hr).equals(bits(b.hr)), 'the same HR targets');
  assert.equal(seen.length, 6);
  seen.forEach((hr, i) =>
    assert.ok(bits(hr).equals(bits(b.hr.subarray(i * hr.length, (i + 1) * hr.length))), `sample ${i}`),
  );
  assert.ok(b.lr.every((v) => v === F8[128]));
  const wrong = async () => new Float32Array(5);
  await assert.rejects(sampler(21, { ...OPTS, degrade: wrong }).next(), /returned 5 values/);
});

test('bad settings and too-small images are refused', async () => {
  assert.throws(() => sampler(1, { scale: 2.5, patch: 8, batch: 1 }), /positive integers/);
  assert.throws(() => new PatchSampler(memorySource([]), OPTS, new Rng(1)), /empty/);
  const tiny: TrainImage = { name: 'tiny.png', width: 20, height: 30, rgb: new Uint8Array(20 * 30 * 3) };
  await assert.rejects(sampler(1, OPTS, [tiny]).next(), /tiny\.png.*20×30.*24×24/);
});

test('holdOut splits deterministically; subsetSource maps indices', async () => {
  const a = holdOut(20, 0.2, 5);
  assert.deepEqual(a, holdOut(20, 0.2, 5));
  assert.equal(a.val.length, 4);
  assert.equal(a.train.length, 16);
  assert.deepEqual(
    [...a.train, ...a.val].sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(
    a.val,
    a.val.slice().sort((x, y) => x - y),
  );
  assert.notDeepEqual(holdOut(20, 0.2, 6).val, a.val);
  assert.deepEqual(holdOut(5, 0.01, 1).val.length, 1); // at least one when asked for any
  assert.deepEqual(holdOut(1, 0.5, 1), { train: [0], val: [] }); // never empties training
  assert.deepEqual(holdOut(3, 0, 1), { train: [0, 1, 2], val: [] });
  assert.throws(() => holdOut(3, 1, 1), /fraction/);

  const src = memorySource(photos);
  const sub = subsetSource(
    src,
    a.val.filter((i) => i < photos.length),
  );
  assert.equal(sub.size, a.val.filter((i) => i < photos.length).length);
  assert.equal(sub.name(0), photos[a.val[0]!]!.name);
  assert.equal(await sub.get(0), photos[a.val[0]!]);
  assert.throws(() => subsetSource(src, [photos.length]), /bad index/);
});
