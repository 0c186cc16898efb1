/**
 * Imported ONNX models in the renderer's state (compiled by Svelte as the app's build does),
 * against a fake StudioApi: an .onnx import is probed first and what was found is shown, the range
 * is asked for when the probe could not tell, the range and margin chosen go with the import or
 * change it later, and the feature maps list only SR Studio's own networks.
 */
import { register } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImportProbe, ModelInfo, Settings } from '../../main/api.ts';
import { FakeApi } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');
const { rangeSourceWords } = await import('../../renderer/src/state/models.svelte.ts');

const SETTINGS: Settings = {
  outputDir: null,
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};
const SWISH: ModelInfo = {
  id: 'bundled:swish_x2.safetensors',
  path: '/app/assets/models/swish_x2.safetensors',
  name: 'swish_x2',
  bundled: true,
  isDefault: true,
  parameters: 20752,
  config: { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'swish' },
};
const IMPORTED: ModelInfo = {
  id: 'user:srvgg.onnx',
  path: '/home/me/models/srvgg.onnx',
  name: 'srvgg',
  bundled: false,
  isDefault: false,
  parameters: 16704,
  imported: {
    scale: 4,
    range: 1,
    rangeFrom: 'guess',
    dtype: 'float16',
    margin: 6,
    bytes: 38440,
    source: '/home/me/srvgg.onnx',
    producer: 'pytorch',
  },
};
const FOUND: ImportProbe = {
  name: 'srvgg',
  scale: 4,
  range: 1,
  rangeFrom: 'guess',
  margin: 6,
  marginFound: true,
  maxMargin: 512,
  fixedSize: null,
  dtype: 'float16',
  parameters: 16704,
  bytes: 38440,
  producer: 'pytorch',
};

function app(models: ModelInfo[], setup: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi()
    .answer('models:list', () => models)
    .answer('runs:list', () => [])
    .answer('jobs:list', () => [])
    .answer('app:status', () => ({
      version: '0.0.0',
      settings: SETTINGS,
      backend: {
        upscale: { ok: true, choice: 'auto', name: 'onnx', device: 'ONNX Runtime', why: 'onnx', validation: null },
        train: {
          ok: true,
          choice: 'auto',
          name: 'wasm',
          device: 'WebAssembly',
          why: 'wasm',
          validation: 'ONNX Runtime',
        },
      },
    }));
  setup(api);
  return { app: new AppState(api), api };
}

describe('Importing an ONNX model', () => {
  test('it is probed first; a range the probe could not tell is asked for, and nothing is imported until one is chosen', async () => {
    const { app: a, api } = app([SWISH], (api) =>
      api.answer('models:probe', () => FOUND).answer('models:import', () => IMPORTED),
    );
    const im = a.modelImport;
    await im.importPath('/home/me/srvgg.onnx');
    assert.deepEqual(api.sent('models:probe'), [{ path: '/home/me/srvgg.onnx' }]);
    assert.deepEqual(api.sent('models:import'), [], 'nothing is imported yet');
    assert.equal(im.pending?.found.scale, 4);
    assert.equal(im.pending?.range, null, 'no range is chosen for the user');
    assert.equal(im.pending?.margin, 6);
    assert.equal(im.canConfirm, false);
    assert.equal(await im.confirm(), null);
    assert.deepEqual(api.sent('models:import'), []);
    im.pending!.range = 255;
    im.pending!.margin = 20;
    assert.equal(im.canConfirm, true);
    const model = await im.confirm();
    assert.equal(model?.id, IMPORTED.id);
    assert.deepEqual(api.sent('models:import'), [{ path: '/home/me/srvgg.onnx', range: 255, margin: 20 }]);
    assert.equal(im.pending, null);
    assert.match(a.toasts.items.at(-1)?.text ?? '', /^Imported srvgg/);
  });

  test('what was found is sent back only where it was changed; a margin out of bounds waits; cancel drops it', async () => {
    const fromMetadata: ImportProbe = {
      ...FOUND,
      range: 255,
      rangeFrom: 'metadata',
      fixedSize: { width: 64, height: 64 },
      maxMargin: 28,
    };
    const { app: a, api } = app([SWISH], (api) =>
      api.answer('models:probe', () => fromMetadata).answer('models:import', () => IMPORTED),
    );
    const im = a.modelImport;
    await im.importPath('/m/rrdb.onnx');
    assert.equal(im.pending?.range, 255, 'a range from the metadata is taken');
    im.pending!.margin = 40;
    assert.equal(im.canConfirm, false, 'more margin than a fixed 64×64 input leaves room for');
    im.pending!.margin = 6;
    await im.confirm();
    assert.deepEqual(api.sent('models:import'), [{ path: '/m/rrdb.onnx' }]);
    await im.importPath('/m/rrdb.onnx');
    im.cancel();
    assert.equal(im.pending, null);
    assert.equal(api.sent('models:import').length, 1);
    // SR Studio's own weights are imported at once, with nothing to ask.
    api.answer('models:import', () => SWISH);
    await im.importPath('/m/own.safetensors');
    assert.deepEqual(api.sent('models:import').at(-1), { path: '/m/own.safetensors' });
    assert.equal(api.sent('models:probe').length, 2);
  });

  test("an imported model's range and margin can be changed later; the list is read again", async () => {
    const { app: a, api } = app([SWISH, IMPORTED], (api) =>
      api.answer('models:adjust', ({ range, margin }) => ({
        ...IMPORTED,
        imported: { ...IMPORTED.imported!, range, margin, rangeFrom: 'given' },
      })),
    );
    await a.refreshModels();
    const lists = api.sent('models:list').length;
    const changed = await a.modelImport.adjust(IMPORTED, 255, 16);
    assert.deepEqual(api.sent('models:adjust'), [{ modelId: 'user:srvgg.onnx', range: 255, margin: 16 }]);
    assert.equal(changed?.imported?.range, 255);
    assert.equal(api.sent('models:list').length, lists + 1);
    assert.equal(a.toasts.items.at(-1)?.text, 'srvgg now takes RGB 0–255 with a tile margin of 16 pixels.');
    assert.deepEqual(
      ['metadata', 'probe', 'guess', 'given'].map((f) => rangeSourceWords(f as ImportProbe['rangeFrom'])),
      ['from its metadata', 'found by a probe', 'a guess: the probe could not tell', 'as chosen'],
    );
  });
});

describe('Feature maps', () => {
  test("list only SR Studio's own networks, say why imported models are not there, and refuse one chosen anyway without asking the engine", async () => {
    const { app: a, api } = app([SWISH, IMPORTED], (api) => api.answer('features:maps', () => []));
    await a.refreshModels();
    const f = a.features;
    assert.deepEqual(
      f.modelGroups.flatMap((g) => g.models.map((m) => m.id)),
      ['bundled:swish_x2.safetensors'],
    );
    assert.deepEqual(
      a.modelGroups.flatMap((g) => g.models.map((m) => m.id)).sort(),
      ['bundled:swish_x2.safetensors', 'user:srvgg.onnx'],
      'the other views still list it',
    );
    assert.equal(
      f.leftOut,
      "Feature maps are shown only for SR Studio's own networks, so the imported ONNX model is not listed here.",
    );
    f.form.modelA = SWISH.id;
    f.form.modelB = IMPORTED.id;
    f.form.image = '/photos/a.png';
    assert.equal(f.canShow, false);
    await f.show();
    assert.equal(
      f.error,
      "srvgg is an imported ONNX model; feature maps are shown only for SR Studio's own networks, so choose one of those.",
    );
    assert.deepEqual(api.sent('features:maps'), []);
    f.form.modelB = SWISH.id;
    assert.equal(f.canShow, true);
    const { app: b } = app([SWISH]);
    await b.refreshModels();
    assert.equal(b.features.leftOut, '', 'nothing to say without imported models');
  });
});
