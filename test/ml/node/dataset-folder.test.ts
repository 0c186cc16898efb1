import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { PatchSampler, type DatasetSource, type TrainImage } from '../../../ml/dataset.ts';
import { UserError } from '../../../ml/errors.ts';
import { openImageFolder } from '../../../ml/node/dataset-folder.ts';
import { Rng } from '../../../ml/random.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');

let tmp = '';
let photos = ''; // the mixed folder
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-dataset-folder-'));
  photos = path.join(tmp, 'photos');
  const put = async (rel: string, from: string) => {
    await fs.mkdir(path.dirname(path.join(photos, rel)), { recursive: true });
    await fs.copyFile(path.join(DATA, from), path.join(photos, rel));
  };
  await put('astronaut.png', 'tiny/astronaut_128x128.png'); // 128×128
  await put('Motorcycle.png', 'tiny/motorcycle_200x150.png'); // 200×150; 'M' sorts before 'a'
  await put('chelsea.png', 'val/chelsea.png'); // 444×300
  await put('sub/deeper/coffee.png', 'val/coffee.png'); // 600×396
  await put('small/coffee_64.png', 'tiny/coffee_64x64.png'); // too small
  await put('small/chelsea_96.png', 'tiny/chelsea_96x72.png'); // too small
  await fs.writeFile(path.join(photos, 'empty.jpg'), '');
  await fs.writeFile(path.join(photos, 'notes.png'), 'this is text, not a PNG\n');
  await fs.writeFile(path.join(photos, 'readme.txt'), 'not an image extension: not even listed\n');
  // 120×120 with a gradient alpha channel.
  const rgba = Buffer.alloc(120 * 120 * 4);
  for (let i = 0; i < 120 * 120; i++) rgba.set([200, (i * 7) % 256, 90, i % 256], i * 4);
  await sharp(rgba, { raw: { width: 120, height: 120, channels: 4 } })
    .png()
    .toFile(path.join(photos, 'alpha.png'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const ORDER = ['Motorcycle.png', 'alpha.png', 'astronaut.png', 'chelsea.png', 'sub/deeper/coffee.png'];

/** 8-bit pixels of a file as sharp decodes it (alpha removed, so only for opaque files). */
async function reference(file: string) {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data) };
}
const allImages = async (s: DatasetSource) => Promise.all(Array.from({ length: s.size }, (_, i) => s.get(i)));
const sameImage = (a: TrainImage, b: TrainImage) =>
  a.name === b.name && a.width === b.width && a.height === b.height && Buffer.from(a.rgb).equals(Buffer.from(b.rgb));

describe('a mixed folder: usable images in stable order, the rest skipped and warned about once', () => {
  const warnings: string[] = [];
  let opened: Awaited<ReturnType<typeof openImageFolder>>;
  before(async () => {
    opened = await openImageFolder(photos, { minSide: 100, onWarning: (m) => warnings.push(m) });
  });

  test('the usable images, in a stable order: the same when the folder is opened again', async () => {
    const { source } = opened;
    assert.equal(source.size, 5);
    assert.deepEqual(
      Array.from({ length: source.size }, (_, i) => source.name(i)),
      ORDER,
    );
    // Opening again gives the same order.
    const again = await openImageFolder(photos, { minSide: 100 });
    assert.deepEqual(
      Array.from({ length: again.source.size }, (_, i) => again.source.name(i)),
      ORDER,
    );
  });

  test('each skipped file with why: empty, not an image, or smaller than the minimum side', () => {
    const { skipped } = opened;
    const rel = (f: string) => path.relative(photos, f).split(path.sep).join('/');
    assert.deepEqual(
      skipped.map((s) => rel(s.file)),
      ['empty.jpg', 'notes.png', 'small/chelsea_96.png', 'small/coffee_64.png'],
    );
    assert.match(skipped[0]!.reason, /empty \(0 bytes\)/);
    assert.match(skipped[1]!.reason, /could not be read as an image/);
    assert.match(skipped[2]!.reason, /96×72/);
    assert.match(skipped[3]!.reason, /64×64/);
  });

  test('one warning for the unreadable files and one for the small images, and a one-line summary', () => {
    const { summary } = opened;
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0]!, /^Skipped 2 unreadable files in .*empty\.jpg.*notes\.png/);
    assert.match(
      warnings[1]!,
      /^Skipped 2 images in .* smaller than 100×100 pixels: .*chelsea_96\.png \(only 96×72 pixels\).*coffee_64\.png/,
    );
    assert.match(
      summary,
      /^5 training images in ".*photos" \(skipped 2 unreadable, 2 smaller than 100×100\); [\d.]+ MB decoded, all cached\.$/,
    );
  });

  test("pixels are the file's 8-bit pixels", async () => {
    const { source } = opened;
    for (const i of [0, 2, 3, 4]) {
      const img = await source.get(i);
      const ref = await reference(path.join(photos, ORDER[i]!));
      assert.equal(img.name, ORDER[i]);
      assert.deepEqual([img.width, img.height], [ref.width, ref.height]);
      assert.ok(Buffer.from(img.rgb).equals(Buffer.from(ref.rgb)), `pixels of ${ORDER[i]}`);
    }
  });

  test('alpha is flattened on black', async () => {
    const alpha = await opened.source.get(1);
    for (const p of [0, 1, 77, 255, 256, 14399]) {
      const a = p % 256;
      const expected = [200, (p * 7) % 256, 90].map((v) => Math.round((v * a) / 255));
      assert.deepEqual(Array.from(alpha.rgb.subarray(p * 3, p * 3 + 3)), expected, `pixel ${p}`);
    }
  });

  test('a decoded image is cached: the same object comes back', async () => {
    const { source } = opened;
    assert.equal(await source.get(3), await source.get(3));
  });

  test('an index out of range is refused', async () => {
    const { source } = opened;
    assert.throws(() => source.name(5), /out of range/);
    await assert.rejects(source.get(-1), /out of range/);
  });
});

test('a memory budget smaller than the images still gives the right pixels (LRU re-decoding)', async () => {
  const full = await openImageFolder(photos, { minSide: 100 });
  const expected = await allImages(full.source);

  const none = await openImageFolder(photos, { minSide: 100, memoryBudgetBytes: 0 });
  assert.match(none.summary, /0\.0 MB cached within the 0\.0 MB budget, the rest decoded on demand\.$/);
  const a = await none.source.get(2);
  const b = await none.source.get(2);
  assert.notEqual(a, b, 'nothing is cached with a zero budget');
  assert.ok(sameImage(a, b), 're-decoded image differs');

  // Room for the largest image (600×396) only: the scan keeps the four small ones that fit
  // together, reading the large one evicts them all, and reading a small one evicts it again.
  const tight = await openImageFolder(photos, { minSide: 100, memoryBudgetBytes: 600 * 396 * 3 });
  const m1 = await tight.source.get(0);
  assert.equal(await tight.source.get(0), m1, 'kept from the scan');
  const big1 = await tight.source.get(4);
  const m2 = await tight.source.get(0);
  assert.notEqual(m2, m1, 'evicted by the large image');
  assert.notEqual(await tight.source.get(4), big1, 'large image evicted in turn');
  assert.ok(sameImage(m1, m2), 'pixels after re-decoding');

  for (const s of [none.source, tight.source]) {
    const got = await allImages(s); // concurrent gets, some of the same index
    got.forEach((img, i) => assert.ok(sameImage(img, expected[i]!), `image ${i}`));
    const twice = await Promise.all([s.get(4), s.get(4), s.get(1)]);
    assert.ok(sameImage(twice[0]!, expected[4]!) && sameImage(twice[1]!, expected[4]!), 'concurrent gets');
  }

  // And training batches do not depend on the budget.
  const opts = { scale: 2, patch: 24, batch: 8 };
  const x = await new PatchSampler(full.source, opts, new Rng(3)).next();
  const y = await new PatchSampler(none.source, opts, new Rng(3)).next();
  assert.ok(Buffer.from(x.lr.buffer).equals(Buffer.from(y.lr.buffer)), 'LR differs between budgets');
  assert.ok(Buffer.from(x.hr.buffer).equals(Buffer.from(y.hr.buffer)), 'HR differs between budgets');
});

/** Asserts a one-sentence UserError with `code` that names `dir`. */
async function rejectsNaming(p: Promise<unknown>, code: string, dir: string, also?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.message.includes(JSON.stringify(dir)), e.message);
    assert.ok(e.message.endsWith('.') && !/[.;]\s[A-Z]/.test(e.message), `one sentence: ${e.message}`);
    if (also) assert.match(e.message, also);
    return true;
  });
}

test('empty, non-image and all-too-small folders are user errors naming the folder', async () => {
  const empty = path.join(tmp, 'empty');
  await fs.mkdir(path.join(empty, 'sub'), { recursive: true });
  await rejectsNaming(openImageFolder(empty, { minSide: 64 }), 'no-images', empty);

  const texts = path.join(tmp, 'texts');
  await fs.mkdir(texts);
  await fs.writeFile(path.join(texts, 'a.png'), 'text');
  await fs.writeFile(path.join(texts, 'b.jpg'), '');
  await fs.writeFile(path.join(texts, 'c.txt'), 'text');
  const warnings: string[] = [];
  await rejectsNaming(openImageFolder(texts, { minSide: 64, onWarning: (m) => warnings.push(m) }), 'no-images', texts);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /a\.png.*b\.jpg/);
  const onlyTxt = path.join(tmp, 'only-txt');
  await fs.mkdir(onlyTxt);
  await fs.writeFile(path.join(onlyTxt, 'c.txt'), 'text');
  await rejectsNaming(openImageFolder(onlyTxt, { minSide: 64 }), 'no-images', onlyTxt);

  const small = path.join(photos, 'small');
  await rejectsNaming(openImageFolder(small, { minSide: 100 }), 'image-too-small', small, /100×100.*largest is 96×72/);

  const missing = path.join(tmp, 'missing');
  await rejectsNaming(openImageFolder(missing, { minSide: 64 }), 'missing-path', missing);
  const file = path.join(photos, 'astronaut.png');
  await rejectsNaming(openImageFolder(file, { minSide: 64 }), 'bad-argument', file);
});

test('animations and multi-page files are trained on by their first frame, and one warning lists them', async () => {
  const folder = path.join(tmp, 'frames');
  await fs.mkdir(folder);
  const first = path.join(DATA, 'tiny/astronaut_128x128.png');
  const second = await sharp(path.join(DATA, 'tiny/motorcycle_200x150.png')).resize(128, 128).png().toBuffer();
  await sharp([first, second], { join: { animated: true } })
    .gif()
    .toFile(path.join(folder, 'anim.gif'));
  await sharp([first, second], { join: { animated: true } })
    .tiff()
    .toFile(path.join(folder, 'pages.tiff'));
  await fs.copyFile(first, path.join(folder, 'still.png'));
  const warnings: string[] = [];
  const { source } = await openImageFolder(folder, { minSide: 64, onWarning: (m) => warnings.push(m) });
  assert.equal(source.size, 3);
  assert.deepEqual(warnings, [
    `Only the first frame or page is used of 2 files in ${JSON.stringify(folder)}: anim.gif (2 frames); pages.tiff (2 pages)`,
  ]);
  const tiff = await source.get(1);
  assert.deepEqual([tiff.name, tiff.width, tiff.height], ['pages.tiff', 128, 128]);
  assert.ok(
    Buffer.from(tiff.rgb).equals(Buffer.from((await reference(path.join(folder, 'pages.tiff'))).rgb)),
    'the first page, as sharp decodes it',
  );
  assert.ok(!Buffer.from(tiff.rgb).equals(await sharp(second).removeAlpha().raw().toBuffer()), 'not the second');
});
