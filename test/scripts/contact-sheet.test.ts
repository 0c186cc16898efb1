/**
 * The quality table's contact sheet (scripts/contact-sheet.ts): the crop it chooses (the most
 * detailed window of the ground truth, the same every time), and the PNG it writes for real
 * validation photos, decoded again: its size, its columns in order and the ground truth's column
 * equal to the photo's own pixels.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { gaussianBlur } from '../../ml/blur.ts';
import { cropImage, type RgbImage } from '../../ml/image.ts';
import { bicubicBaseline, meanGradient, quantize8, rgbToY } from '../../ml/metrics.ts';
import { readImage } from '../../ml/node/image-io.ts';
import { prepareValImages } from '../../ml/train/validation.ts';
import {
  cellOrigin,
  detailedCrop,
  LABEL_HEIGHT,
  SHEET_GAP,
  SheetCrops,
  sheetSize,
} from '../../scripts/contact-sheet.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const VAL = path.join(ROOT, 'photos', 'val');

let dir = '';
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-sheet-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A flat grey image with a square of fine texture (a 1-pixel checkerboard) at (x, y). */
function flatWithTexture(w: number, h: number, x: number, y: number, side: number): RgbImage {
  const rgb = new Float32Array(w * h * 3).fill(0.5);
  for (let r = y; r < y + side; r++)
    for (let c = x; c < x + side; c++) rgb.fill((r + c) % 2 ? 0.8 : 0.2, (r * w + c) * 3, (r * w + c + 1) * 3);
  return { width: w, height: h, rgb };
}

const meanGradientOf = (img: RgbImage) => meanGradient(rgbToY(img), img.width, img.height);

test('detailedCrop finds the one textured square of a flat image', () => {
  const img = flatWithTexture(200, 150, 122, 61, 40);
  const { x, y } = detailedCrop(img, 32, { step: 4, margin: 4 });
  // On a grid of 4 the windows inside the texture start at x 124 or 128, y 64 or 68.
  assert.ok(x >= 122 && x + 32 <= 162 && y >= 61 && y + 32 <= 101, `crop at (${x}, ${y})`);
  assert.equal(x % 4, 0);
  assert.equal(y % 4, 0);
  // A flat image has no detail anywhere: the first window, at the margin rounded up to the grid.
  assert.deepEqual(detailedCrop(flatWithTexture(64, 64, 0, 0, 0), 16, { step: 4, margin: 3 }), { x: 4, y: 4 });
  assert.throws(() => detailedCrop(img, 144, { step: 4, margin: 4 }), /no 144×144 window/);
});

test('detailedCrop on a photo: the same crop every time, the most detailed of all windows on its grid', async () => {
  const hr = (await readImage(path.join(VAL, 'chelsea.png'))).image;
  const side = 64;
  const step = 16;
  const pick = detailedCrop(hr, side, { step, margin: 4 });
  assert.deepEqual(detailedCrop(hr, side, { step, margin: 4 }), pick);
  // Brute force: every window's mean gradient, measured on the crop itself.
  let best = { x: -1, y: -1, g: -1 };
  for (let y = 16; y + side + 4 <= hr.height; y += step) {
    for (let x = 16; x + side + 4 <= hr.width; x += step) {
      const g = meanGradientOf(cropImage(hr, x, y, side, side));
      if (g > best.g + 1e-9) best = { x, y, g };
    }
  }
  assert.deepEqual(pick, { x: best.x, y: best.y });
  // A textured region: well above the photo's mean detail.
  assert.ok(best.g > 1.5 * meanGradientOf(hr), `crop ${best.g} vs whole photo ${meanGradientOf(hr)}`);
});

test('the sheet for 2 photos × 3 columns: its size, its columns in order, the ground truth pixel for pixel', async () => {
  const scale = 4;
  const side = 48;
  const photos = await Promise.all(
    ['astronaut.png', 'chelsea.png'].map(async (name) => ({
      name,
      image: (await readImage(path.join(VAL, name))).image,
    })),
  );
  // Both photos' sides are multiples of 4, so the ground truth is the whole photo.
  const vals = prepareValImages(photos, scale);
  for (const [i, v] of vals.entries())
    assert.deepEqual([v.hr.width, v.hr.height], [photos[i]!.image.width, photos[i]!.image.height]);
  const crops = new SheetCrops(vals, side, scale);
  const outputs = vals.map((v) => ({
    bicubic: bicubicBaseline(v.lr, v.hr.width, v.hr.height),
    blurred: { ...v.hr, rgb: gaussianBlur(v.hr.rgb, v.hr.width, v.hr.height, 2) },
  }));
  for (const [i, v] of vals.entries()) {
    crops.add('bicubic', v.name, outputs[i]!.bicubic);
    crops.add('blurred', v.name, outputs[i]!.blurred);
  }
  crops.add('bicubic', 'not-on-the-sheet.png', outputs[0]!.bicubic); // ignored
  const file = path.join(dir, 'sheet.png');
  const size = await crops.write(file);

  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.deepEqual({ width: info.width, height: info.height }, size);
  assert.deepEqual(size, { width: 3 * side + 2 * SHEET_GAP, height: LABEL_HEIGHT + 2 * side + SHEET_GAP });
  assert.deepEqual(sheetSize(2, 3, side), size);

  const cell = (row: number, col: number) => {
    const o = cellOrigin(row, col, side);
    const out = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++)
      out.set(
        data.subarray(((o.y + y) * info.width + o.x) * 3, ((o.y + y) * info.width + o.x + side) * 3),
        y * side * 3,
      );
    return out;
  };
  const quantised = (img: RgbImage) => Uint8Array.from(img.rgb, quantize8);
  for (const [row, region] of crops.regions.entries()) {
    assert.equal(region.name, vals[row]!.name);
    // The ground truth: the photo's own 8-bit pixels, read independently of the sheet's code.
    const raw = await sharp(path.join(VAL, region.name))
      .removeAlpha()
      .extract({ left: region.x, top: region.y, width: side, height: side })
      .raw()
      .toBuffer();
    assert.deepEqual(cell(row, 2), new Uint8Array(raw));
    assert.deepEqual(cell(row, 0), quantised(cropImage(outputs[row]!.bicubic, region.x, region.y, side, side)));
    assert.deepEqual(cell(row, 1), quantised(cropImage(outputs[row]!.blurred, region.x, region.y, side, side)));
  }
  // The gaps between the cells are white.
  const gapX = cellOrigin(0, 0, side).x + side;
  for (let y = LABEL_HEIGHT; y < info.height; y++)
    for (let c = 0; c < 3; c++) assert.equal(data[(y * info.width + gapX) * 3 + c], 255);
});

test('npm run quality refuses an unknown --methods name, a sheet input it does not measure and an unknown photo, in one sentence', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/quality.ts', '--no-upscalerjs', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  const unknown = run(['--scales', '4', '--methods', 'no_such_model']);
  assert.equal(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /--methods names no_such_model, which this run does not have; it has bicubic, .*tanhexp_x4/,
  );
  const jpeg = run(['--scales', '4', '--jpeg', '90', '--sheet', path.join(dir, 'x.png')]);
  assert.equal(jpeg.status, 1);
  assert.match(jpeg.stderr, /--sheet-jpeg takes one of the JPEG qualities measured \(--jpeg 90\)/);
  const scale = run(['--scales', '2', '--sheet', path.join(dir, 'x.png')]);
  assert.equal(scale.status, 1);
  assert.match(scale.stderr, /--sheet-scale takes one of the scales measured \(--scales 2\)/);
  const photo = run(['--scales', '4', '--sheet', path.join(dir, 'x.png'), '--sheet-photos', 'astronaut,no_such_photo']);
  assert.equal(photo.status, 1);
  assert.match(photo.stderr, /--sheet-photos names no_such_photo, which is not a photo in photos\/val\./);
});
