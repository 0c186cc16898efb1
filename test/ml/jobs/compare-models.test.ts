/**
 * The two-model job (ml/jobs/compare-models.ts) and the feature-map job (ml/jobs/features.ts) on
 * their own, with SR Studio's bundled models on a tiny photo: what they say as they go, their
 * results and files, scores against a ground truth, refusals, and cancelling.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { compareModelsJob } from '../../../ml/jobs/compare-models.ts';
import { featuresJob } from '../../../ml/jobs/features.ts';
import { isUserError } from '../../../ml/errors.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../assets/models');
const SWISH = path.join(MODELS, 'swish_x2.safetensors');
const TANHEXP = path.join(MODELS, 'tanhexp_x2.safetensors');
const TANHEXP_X3 = path.join(MODELS, 'tanhexp_x3.safetensors');
const CHELSEA = path.join(DATA, 'tiny/chelsea_96x72.png');
let dir = '';

before(async () => {
  await useBackend('wasm', 'upscale');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-compare-models-job-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('two models enlarge the reduction of a photo taken as ground truth: both scored beside bicubic, every file written', async () => {
  const outDir = path.join(dir, 'truth');
  const said: Array<[string, number]> = [];
  const r = await compareModelsJob(
    { modelA: SWISH, modelB: TANHEXP, image: CHELSEA, groundTruth: true, outDir, backend: 'wasm' },
    (m, f) => void said.push([m, f]),
  );
  assert.deepEqual(said, [
    ['Reducing chelsea_96x72.png by 2', 0],
    ['Upscaling with swish_x2.safetensors', 0],
    ['Upscaling with tanhexp_x2.safetensors', 0.5],
  ]);
  assert.equal(r.scale, 2);
  assert.deepEqual([r.input.width, r.input.height], [48, 36]);
  assert.deepEqual([r.truth?.width, r.truth?.height], [96, 72]);
  assert.deepEqual([r.a.activation, r.b.activation], ['swish', 'tanhexp']);
  for (const o of [r.a, r.b]) {
    assert.deepEqual([o.width, o.height], [96, 72]);
    assert.ok(o.psnrY! > 15 && o.ssimY! > 0 && o.ssimY! <= 1, JSON.stringify(o));
    const meta = await sharp(o.file).metadata();
    assert.deepEqual([meta.width, meta.height], [96, 72]);
  }
  assert.ok(r.bicubic && r.bicubic.psnrY > 15, JSON.stringify(r.bicubic));
  assert.deepEqual((await fs.readdir(outDir)).sort(), ['a.png', 'b.png', 'input.png', 'truth.png']);
});

test('without ground truth the photo itself is enlarged and nothing is scored', async () => {
  const r = await compareModelsJob({
    modelA: SWISH,
    modelB: TANHEXP,
    image: CHELSEA,
    groundTruth: false,
    outDir: path.join(dir, 'plain'),
    backend: 'wasm',
  });
  assert.deepEqual([r.input.width, r.input.height, r.a.width, r.b.height], [96, 72, 192, 144]);
  assert.equal(r.truth, null);
  assert.equal(r.bicubic, null);
  assert.equal(r.a.psnrY, undefined);
});

test('models of different scales are refused in one sentence, before anything is written', async () => {
  const outDir = path.join(dir, 'scales');
  await assert.rejects(
    compareModelsJob({
      modelA: TANHEXP,
      modelB: TANHEXP_X3,
      image: CHELSEA,
      groundTruth: false,
      outDir,
      backend: 'wasm',
    }),
    /different factors \(x2 and x3\)/,
  );
  await assert.rejects(fs.access(outDir));
});

test('cancelling stops the job with a cancelled error', async () => {
  const abort = new AbortController();
  abort.abort();
  await assert.rejects(
    compareModelsJob(
      {
        modelA: SWISH,
        modelB: TANHEXP,
        image: CHELSEA,
        groundTruth: false,
        outDir: path.join(dir, 'cancel'),
        backend: 'wasm',
      },
      undefined,
      abort.signal,
    ),
    (e: unknown) => isUserError(e) && e.code === 'cancelled',
  );
});

test('feature maps: each model in turn, the chosen layer of each, every layer with its dead share', async () => {
  const seen: string[] = [];
  const r = await featuresJob(
    { models: [SWISH, TANHEXP], image: CHELSEA, layer: 1, maxSide: 32 },
    (k, file) => void seen.push(`${k} ${path.basename(file)}`),
  );
  assert.deepEqual(seen, ['0 swish_x2.safetensors', '1 tanhexp_x2.safetensors']);
  assert.equal(r.length, 2);
  for (const m of r) {
    assert.equal(m.tap.name, m.layers[1]);
    assert.equal(m.tap.data.length, m.tap.width * m.tap.height * m.tap.channels);
    assert.ok(m.tap.width <= 32 && m.tap.height <= 32);
    assert.equal(m.deadShare.length, m.layers.length);
    assert.ok(m.deadShare.every((d) => d >= 0 && d <= 1));
  }
  await assert.rejects(
    featuresJob({ models: [SWISH, TANHEXP], image: CHELSEA, layer: 99, maxSide: 32 }),
    /Layer 99 does not exist/,
  );
});
