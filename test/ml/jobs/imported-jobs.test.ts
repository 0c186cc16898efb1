/**
 * Imported ONNX models through the app's jobs (the same code `sr-studio` runs): the upscale job
 * keeps alpha and metadata, goes through a batch and stops on cancel as it does for SR Studio's
 * models; "Compare two models" runs an imported model beside one of SR Studio's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { compareModelsJob } from '../../../ml/jobs/compare-models.ts';
import { upscaleJob } from '../../../ml/jobs/upscale.ts';
import { DATA } from '../../helpers/photos.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/onnx');
const SRVGG = path.join(FIXTURES, 'srvgg_x4_fp16.onnx');
const RRDB = path.join(FIXTURES, 'rrdb_x2_255.onnx');
const SWISH = path.resolve(import.meta.dirname, '../../../assets/models/swish_x2.safetensors');
let dir = '';

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-jobs-'));
  // A photo with a soft alpha ramp and an ICC profile and EXIF orientation-free metadata to keep.
  const { data, info } = await sharp(path.join(DATA, 'tiny/coffee_64x64.png'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgba = Buffer.alloc(info.width * info.height * 4);
  for (let i = 0; i < info.width * info.height; i++) {
    data.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = Math.round((255 * (i % info.width)) / (info.width - 1));
  }
  await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toFile(path.join(dir, 'alpha.png'));
  await sharp(path.join(DATA, 'tiny/chelsea_96x72.png'))
    .withIccProfile('p3')
    .withExif({ IFD0: { Copyright: 'kept' } })
    .jpeg()
    .toFile(path.join(dir, 'p3.jpg'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the upscale job runs an imported model over a batch: alpha upscaled beside it, ICC profile and EXIF kept', async () => {
  const out = path.join(dir, 'out');
  const r = await upscaleJob(
    {
      files: [path.join(dir, 'alpha.png'), path.join(dir, 'p3.jpg')],
      model: { onnx: SRVGG },
      backend: 'wasm',
      outputDir: out,
      format: 'png',
      overwrite: false,
    },
    () => undefined,
  );
  assert.deepEqual([r.upscaled, r.failed, r.cancelled], [2, 0, false]);
  const a = await sharp(path.join(out, 'alpha_x4.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([a.info.width, a.info.height, a.info.channels], [256, 256, 4]);
  assert.ok(
    a.data[3]! < 10 && a.data[(256 - 1) * 4 + 3]! > 245,
    `the alpha ramp runs from clear to opaque: ${a.data[3]} … ${a.data[255 * 4 + 3]}`,
  );
  const p = await sharp(path.join(out, 'p3_x4.png')).metadata();
  assert.deepEqual([p.width, p.height], [384, 288]);
  assert.ok(p.icc && p.icc.length > 100, 'the ICC profile is kept');
  assert.match(p.exif?.toString('latin1') ?? '', /kept/);
});

test('cancelling the job stops at the next tile and writes nothing for that file', async () => {
  const out = path.join(dir, 'cancelled');
  const controller = new AbortController();
  const r = await upscaleJob(
    {
      files: [path.join(DATA, 'tiny/motorcycle_200x150.png')],
      model: { onnx: RRDB },
      backend: 'wasm',
      outputDir: out,
      format: 'png',
      overwrite: false,
      tile: 32,
    },
    (e) => {
      if (e.type === 'progress') controller.abort();
    },
    controller.signal,
  );
  assert.equal(r.cancelled, true);
  assert.deepEqual(await fs.readdir(out).catch(() => []), []);
});

test("Compare two models: an imported model beside one of SR Studio's, both scored against the original", async () => {
  const r = await compareModelsJob({
    modelA: RRDB,
    modelB: SWISH,
    image: path.join(DATA, 'tiny/chelsea_96x72.png'),
    groundTruth: true,
    outDir: path.join(dir, 'ab'),
    backend: 'onnx',
  });
  assert.equal(r.scale, 2);
  assert.equal(r.a.activation, null);
  assert.equal(r.b.activation, 'swish');
  assert.deepEqual([r.a.width, r.a.height], [96, 72]);
  assert.ok(r.a.psnrY! > 15 && r.b.psnrY! > 25, `PSNR-Y ${r.a.psnrY} and ${r.b.psnrY}`);
  await assert.rejects(
    compareModelsJob({
      modelA: SRVGG,
      modelB: SWISH,
      image: path.join(DATA, 'tiny/chelsea_96x72.png'),
      groundTruth: false,
      outDir: path.join(dir, 'ab2'),
      backend: 'onnx',
    }),
    /different factors \(x4 and x2\)/,
  );
});
