/**
 * Models in browser mode: a `run:` id names a model file that really lies in the runs folder (not
 * one reached through a symlink leading out), runs:list leaves out runs that lead outside, and
 * downloading a model again and again leaves nothing lasting behind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunInfo } from '../../../main/api.ts';
import { DOWNLOADS_KEPT } from '../../../main/host/downloads.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { COFFEE, StubEngine, tinyModel } from '../helpers.ts';
import { serverSuite } from './studio.ts';

let outside = '';
let runs = '';
let out = '';
const engine = new StubEngine();

/** A run folder as training leaves it: its config and its best model. */
async function makeRun(at: string, seed: number): Promise<void> {
  await fs.mkdir(at, { recursive: true });
  await fs.writeFile(path.join(at, 'config.json'), JSON.stringify(makeTrainConfig({ iterations: 10 })));
  await tinyModel(path.join(at, 'model_best.safetensors'), 2, 'tanhexp', seed);
}

const suite = serverSuite(
  { engine: engine.factory },
  {
    async prepare(dir) {
      outside = path.join(dir, 'outside');
      await fs.mkdir(outside);
    },
    async ready() {
      runs = suite.server.host.context.runsDir;
      await tinyModel(path.join(outside, 'secret.safetensors'), 2, 'tanhexp', 7);
      await makeRun(path.join(outside, 'run'), 8);
      await makeRun(path.join(runs, 'real'), 1);
      await makeRun(path.join(runs, 'linked-model'), 2);
      await fs.rm(path.join(runs, 'linked-model', 'model_best.safetensors'));
      await fs.symlink(
        path.join(outside, 'secret.safetensors'),
        path.join(runs, 'linked-model', 'model_best.safetensors'),
      );
      await fs.symlink(path.join(outside, 'secret.safetensors'), path.join(runs, 'evil.safetensors'));
      await fs.symlink(path.join(outside, 'run'), path.join(runs, 'linked-run'));
      await fs.copyFile(COFFEE, path.join(suite.server.inbox, 'photo.png'));
      out = path.join(suite.dir, 'out');
      await fs.mkdir(out);
      await call('settings:set', { outputDir: out });
    },
  },
);
const { call } = suite;

/** Every file under `d` with its size, for comparing a folder before and after. */
async function files(d: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await fs.readdir(d, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile())
      found.push(
        `${path.relative(d, path.join(e.parentPath, e.name))} ${(await fs.stat(path.join(e.parentPath, e.name))).size}`,
      );
  }
  return found.sort();
}

describe('models in browser mode', () => {
  test('run: ids that lead outside through a symlink are refused by download, export and feature maps', async () => {
    const bundled = 'bundled:tanhexp_x2.safetensors';
    const image = path.join(suite.server.inbox, 'photo.png');
    const jobs = engine.jobs.length;
    for (const file of [
      path.join(runs, 'evil.safetensors'),
      path.join(runs, 'linked-run', 'model_best.safetensors'),
      path.join(runs, 'linked-model', 'model_best.safetensors'),
    ]) {
      const id = `run:${file}`;
      const refused = (e: Error) =>
        /is not a model in the app's runs folder; pick a model from the list\.$/.test(e.message);
      await assert.rejects(call('models:download', { modelId: id, format: 'safetensors' }), refused, file);
      await assert.rejects(call('models:download', { modelId: id, format: 'onnx' }), refused, file);
      await assert.rejects(call('models:export', { modelId: id, to: path.join(out, 'x.safetensors') }), refused, file);
      await assert.rejects(call('features:maps', { models: [id, bundled], image, layer: 0 }), refused, file);
      await assert.rejects(call('features:maps', { models: [bundled, id], image, layer: 0 }), refused, file);
      await assert.rejects(call('job:compare-models', { modelA: id, modelB: bundled, image }), refused, file);
    }
    assert.equal(engine.jobs.length, jobs, 'nothing reached the engine');
    assert.deepEqual(await fs.readdir(out), [], 'nothing was exported');
    // A model that really lies in a run folder is fine, and the engine is given that very file.
    const real = `run:${path.join(runs, 'real', 'model_best.safetensors')}`;
    await call('models:export', { modelId: real, to: path.join(out, 'real.safetensors') });
    assert.deepEqual(
      await fs.readFile(path.join(out, 'real.safetensors')),
      await fs.readFile(path.join(runs, 'real', 'model_best.safetensors')),
    );
    await call('features:maps', { models: [real, bundled], image, layer: 0 });
    assert.equal(engine.jobs.length, jobs + 1);
  });

  test('user: ids that lead outside through a symlink are neither listed nor used', async () => {
    const user = suite.server.host.context.models.user;
    await fs.symlink(path.join(outside, 'secret.safetensors'), path.join(user, 'linked.safetensors'));
    await tinyModel(path.join(user, 'mine.safetensors'));
    const listed = (await call('models:list')) as Array<{ id: string }>;
    assert.ok(listed.some((m) => m.id === 'user:mine.safetensors'));
    assert.ok(!listed.some((m) => m.id === 'user:linked.safetensors'), 'the linked model is not listed');
    await assert.rejects(
      call('models:download', { modelId: 'user:linked.safetensors', format: 'safetensors' }),
      /leads outside the models folder/,
    );
    await assert.rejects(
      call('models:export', { modelId: 'user:linked.safetensors', to: path.join(out, 'l.safetensors') }),
      /leads outside the models folder/,
    );
  });

  test('runs:list leaves out runs reached through a symlink leading outside, and models that lead outside', async () => {
    const listed = (await call('runs:list')) as RunInfo[];
    const names = listed.map((r) => r.name).sort();
    assert.deepEqual(names, ['linked-model', 'real']);
    assert.equal(
      listed.find((r) => r.name === 'linked-model')!.modelPath,
      null,
      'a model leading outside is not offered',
    );
    assert.equal(listed.find((r) => r.name === 'real')!.modelPath, path.join(runs, 'real', 'model_best.safetensors'));
  });

  test('downloading a model again and again writes nothing lasting', async () => {
    const data = path.join(suite.dir, 'data');
    const downloads = path.join(suite.server.host.context.viewsDir, 'downloads');
    const before = await files(data);
    const model = path.join(suite.server.host.context.models.bundled, 'tanhexp_x2.safetensors');
    for (let i = 0; i < 60; i++) {
      const format = i % 3 === 0 ? 'onnx' : 'safetensors';
      const got = (await call('models:download', { modelId: 'bundled:tanhexp_x2.safetensors', format })) as {
        path: string;
        name: string;
      };
      assert.equal(got.name, `tanhexp_x2.${format}`);
      if (format === 'safetensors') assert.deepEqual(await fs.readFile(got.path), await fs.readFile(model));
    }
    assert.deepEqual(await files(data), before, 'the data folder is as it was');
    assert.equal((await files(downloads)).length, 2, 'one file per model and format');
    // Many different models: only the latest few stay.
    for (let seed = 0; seed < DOWNLOADS_KEPT + 4; seed++) {
      await tinyModel(
        path.join(suite.server.host.context.models.user, `m${seed}.safetensors`),
        2,
        'tanhexp',
        100 + seed,
      );
      await call('models:download', { modelId: `user:m${seed}.safetensors`, format: 'safetensors' });
    }
    assert.equal((await fs.readdir(downloads)).length, DOWNLOADS_KEPT);
    assert.deepEqual(await files(data), before, 'the data folder is as it was');
  });
});
