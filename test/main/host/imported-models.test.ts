/**
 * Imported ONNX models in the app's requests: models:import takes an .onnx file (checked and probed,
 * copied with its record), models:list shows it with what the Models view says of it, and its id
 * reaches the upscale and compare jobs; training from it is refused. The engine is a stub here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo, RequestChannel } from '../../../main/api.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { COFFEE, DATA, StubEngine, tempDir } from '../helpers.ts';
import { rank3Model } from '../../helpers/onnx-models.ts';

const SRVGG = path.resolve(import.meta.dirname, '../../fixtures/onnx/srvgg_x4_fp16.onnx');
let dir = '';
let host: Host;
const engine = new StubEngine();

before(async () => {
  dir = await tempDir();
  const common = { appRoot: path.resolve(import.meta.dirname, '../../..'), dataDir: path.join(dir, 'data'), userModels: path.join(dir, 'models'), emit: () => undefined, dialogs: { openImages: async () => [], openFolder: async () => null }, shell: { reveal: async () => undefined } };
  host = await createHost({ ...common, engine: engine.factory });
});
after(async () => {
  await host.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (channel: RequestChannel, arg?: unknown) => (host.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);

test('an ONNX model is imported with what its probe found, listed, and runs where the app\'s models run, but is not trained', async () => {
  const m = (await call('models:import', { path: SRVGG })) as ModelInfo;
  const copy = path.join(dir, 'models', 'srvgg_x4_fp16.onnx');
  assert.equal(m.id, 'user:srvgg_x4_fp16.onnx');
  assert.equal(m.path, copy);
  assert.equal(m.config, undefined);
  assert.equal(m.parameters, 16704);
  assert.deepEqual({ ...m.imported, margin: 0 }, { scale: 4, range: 1, dtype: 'float16', margin: 0, bytes: (await fs.stat(SRVGG)).size, source: SRVGG, producer: 'pytorch' });
  assert.ok((await fs.stat(`${copy}.json`)).isFile(), 'its record is kept beside it');
  const again = (await call('models:import', { path: SRVGG })) as ModelInfo;
  assert.equal(again.id, m.id, 'the same bytes again are not copied twice');
  assert.deepEqual((await fs.readdir(path.join(dir, 'models'))).sort(), ['srvgg_x4_fp16.onnx', 'srvgg_x4_fp16.onnx.json']);

  const list = (await call('models:list')) as ModelInfo[];
  const listed = list.find((x) => x.id === m.id);
  assert.deepEqual(listed?.imported, m.imported);

  await call('job:upscale', { files: [COFFEE], model: m.id, format: 'png', outputDir: dir, overwrite: false });
  assert.deepEqual(engine.jobs.at(-1), { type: 'upscale', spec: { files: [COFFEE], model: copy, format: 'png', outputDir: dir, overwrite: false } });

  await call('job:compare-models', { modelA: m.id, modelB: 'bundled:tanhexp_x4.safetensors', image: COFFEE, groundTruth: true });
  const cmp = engine.jobs.at(-1) as { type: string; spec: { modelA: string; modelB: string } };
  assert.deepEqual([cmp.type, cmp.spec.modelA, path.basename(cmp.spec.modelB)], ['compare-models', copy, 'tanhexp_x4.safetensors']);

  await assert.rejects(
    call('job:train', { data: DATA, val: null, preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 10, outDir: null, init: m.id }),
    /srvgg_x4_fp16" is an imported ONNX model, which SR Studio can run but not train or fine-tune/,
  );
  await assert.rejects(call('models:download', { modelId: m.id, format: 'safetensors' }), /Downloads are for browser mode/);
  await assert.rejects(call('models:export', { modelId: m.id, to: path.join(dir, 'out.safetensors') }), /is an imported ONNX model; it can be saved only as \.onnx\./);
  await call('models:export', { modelId: m.id, to: path.join(dir, 'out.onnx') });
  assert.deepEqual(await fs.readFile(path.join(dir, 'out.onnx')), await fs.readFile(SRVGG));
});

test('an ONNX file that cannot be an SR model is refused in one sentence and nothing is copied', async () => {
  const bad = path.join(dir, 'flat.onnx');
  await fs.writeFile(bad, rank3Model());
  await assert.rejects(call('models:import', { path: bad }), (e: Error) => {
    assert.match(e.message, /^".*flat\.onnx" cannot be used as a super-resolution model \(its input has 3 dimensions, not 4 \(batch, RGB, height, width\)\); choose an ONNX model that takes one RGB image and gives one\.$/);
    return true;
  });
  assert.ok(!(await fs.readdir(path.join(dir, 'models'))).includes('flat.onnx'));
});
