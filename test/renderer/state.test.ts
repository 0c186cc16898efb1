/**
 * The renderer's state classes (renderer/src/state/*.svelte.ts, compiled by Svelte as the app's
 * build does) against a fake StudioApi: what they send, how they read typed results and events,
 * and what they show.
 */
import { register } from 'node:module';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageData64, JobInfo, ModelInfo, RunInfo, Settings } from '../../main/api.ts';
import type { TrainingSummary } from '../../ml/weights.ts';
import { FakeApi, refusal, settle } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');
type App = InstanceType<typeof AppState>;

const IMAGE: ImageData64 = { dataUrl: 'data:image/png;base64,AA==', width: 2, height: 2 };
const SETTINGS: Settings = {
  outputDir: '/saved/out',
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};

/** Photos that expand to themselves with a thumbnail each, and one bundled x2 model, the default: enough to queue an upscale. */
function upscaleReady(api: FakeApi): FakeApi {
  return api
    .answer('files:expand', ({ paths }) => ({
      files: paths.map((p) => ({ path: p, name: p.split('/').pop()!, bytes: 10 })),
      problems: [],
    }))
    .answer('image:thumbnail', () => IMAGE)
    .answer('models:list', () => [
      {
        id: 'bundled:m',
        path: '/m.safetensors',
        name: 'm',
        bundled: true,
        isDefault: true,
        config: { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' },
        parameters: 1,
      },
    ]);
}

function app(setup: (api: FakeApi) => void = () => undefined): { app: App; api: FakeApi } {
  const api = new FakeApi()
    .answer('models:list', () => [])
    .answer('runs:list', () => [])
    .answer('jobs:list', () => [])
    .answer('image:check', () => ({ width: 64, height: 64 }))
    .answer('app:status', () => ({
      version: '0.0.0',
      settings: SETTINGS,
      backend: {
        upscale: {
          ok: true,
          choice: 'auto',
          name: 'onnx',
          device: 'ONNX Runtime',
          why: 'onnx — ONNX Runtime',
          validation: null,
        },
        train: {
          ok: true,
          choice: 'auto',
          name: 'wasm',
          device: 'WebAssembly',
          why: 'wasm — WebAssembly',
          validation: 'ONNX Runtime',
        },
      },
    }));
  setup(api);
  return { app: new AppState(api), api };
}

before(async () => {
  // The compiled modules run in Node: make sure nothing reaches for a window by itself.
  assert.equal(typeof (globalThis as { window?: unknown }).window, 'undefined');
});

describe('TrainSession', () => {
  test('a start is always a new run; state follows the engine; a cancel reads "Stopped at iteration N (checkpoint saved)"', async () => {
    const { app: a, api } = app((api) =>
      api
        .answer('job:train', () => ({ jobId: 'j1' }))
        .answer('job:pause', ({ jobId }) => ({ jobId, state: 'pausing' }))
        .answer('job:resume', ({ jobId }) => ({ jobId, state: 'running' }))
        .answer('job:cancel', ({ jobId }) => ({ jobId, state: 'cancelling' })),
    );
    const t = a.train;
    t.form.data = '/photos';
    t.form.iterations = 50;
    await t.start();
    assert.deepEqual(api.sent('job:train'), [
      {
        data: '/photos',
        val: null,
        preset: 'tiny',
        scale: 2,
        activation: 'tanhexp',
        iterations: 50,
        run: { kind: 'new', parent: null },
        degrade: 'none',
        init: null,
        objective: 'pixel',
      },
    ]);
    assert.equal(t.state, 'queued');
    api.emit('job:state', { jobId: 'j1', state: 'running', message: 'Starting…' });
    for (let i = 1; i <= 3; i++) api.emit('job:metrics', { jobId: 'j1', iteration: i, loss: 0.1 / i });
    assert.equal(t.state, 'running');
    assert.equal(t.iteration, 3);
    assert.equal(t.loss.last('loss'), 0.1 / 3);

    await t.pause();
    assert.equal(t.state, 'running', 'it pauses after the step in hand, when the engine says so');
    assert.equal(t.message, 'Pausing after this step…');
    api.emit('job:state', { jobId: 'j1', state: 'paused', message: 'Paused at iteration 3' });
    assert.equal(t.state, 'paused');
    assert.equal(t.message, '', 'the pausing note goes once it has paused');
    assert.equal(t.stateLabel, 'Paused');
    await t.resume();
    assert.equal(t.state, 'running');

    await t.cancel();
    assert.equal(t.message, 'Stopping: saving a checkpoint…');
    api.emit('job:metrics', { jobId: 'j1', iteration: 4, loss: 0.02 });
    api.emit('job:done', {
      jobId: 'j1',
      summary: 'Stopped at iteration 4 (checkpoint saved); continue it from the list of runs; no validation.',
      result: {
        kind: 'train',
        reason: 'cancelled',
        iteration: 4,
        iterations: 50,
        runDir: '/runs/r1',
        modelPath: null,
        best: null,
      },
    });
    assert.equal(t.state, 'stopped');
    assert.equal(t.stateLabel, 'Stopped at iteration 4 (checkpoint saved)');
    assert.equal(t.runDir, '/runs/r1');
    assert.equal(t.message, '', 'no "Stopping…" left beside the stopped state');
    assert.equal(t.etaMs, null);
    assert.equal(t.active, false);
    await settle();
    assert.ok(api.sent('runs:list').length >= 1, 'the list of runs is read again');
  });

  test('a start with no iterations (as the Enter shortcut calls it) sends nothing', async () => {
    const { app: a, api } = app((api) => api.answer('job:train', () => ({ jobId: 'j0' })));
    const t = a.train;
    t.form.data = '/photos';
    t.form.iterations = 0;
    assert.equal(t.canStart, false);
    await t.start();
    assert.deepEqual(api.sent('job:train'), []);
    assert.equal(t.state, 'idle');
  });

  test('Continue sends the listed run and takes its settings and folders', async () => {
    const { app: a, api } = app((api) => api.answer('job:train', () => ({ jobId: 'j2' })));
    const run: RunInfo = {
      dir: '/runs/light_x3',
      name: 'light_x3',
      preset: 'light',
      scale: 3,
      activation: 'swish',
      iterations: 900,
      degrade: 'photo',
      objective: 'pixel',
      advWeight: null,
      data: '/data/train',
      val: '/data/val',
      state: 'stopped',
      iteration: 250,
      best: null,
      modelPath: null,
      message: null,
      updated: new Date().toISOString(),
    };
    await a.train.continueRun(run);
    assert.deepEqual(api.sent('job:train'), [
      {
        data: '/data/train',
        val: '/data/val',
        preset: 'light',
        scale: 3,
        activation: 'swish',
        iterations: 900,
        run: { kind: 'continue', dir: '/runs/light_x3' },
        degrade: 'photo',
        init: null,
        objective: 'pixel',
      },
    ]);
  });

  test('a reloaded page re-attaches: the form, state and curves come back, and live events go on', async () => {
    const job: JobInfo = {
      jobId: 'live',
      kind: 'train',
      state: 'running',
      spec: {
        data: '/photos',
        val: null,
        preset: 'tiny',
        scale: 2,
        activation: 'tanhexp',
        iterations: 100,
        run: { kind: 'new', parent: null },
      },
      events: [
        { channel: 'job:state', payload: { jobId: 'live', state: 'running', message: 'Starting…' } },
        { channel: 'job:metrics', payload: { jobId: 'live', iteration: 1, loss: 0.05 } },
        { channel: 'job:metrics', payload: { jobId: 'live', iteration: 2, loss: 0.04 } },
        { channel: 'job:preview', payload: { jobId: 'live', x: 0, y: 0, width: 2, height: 2, image: IMAGE } },
      ],
    };
    const { app: a, api } = app((api) => api.answer('jobs:list', () => [job]));
    await a.refresh();
    const t = a.train;
    assert.equal(t.state, 'running');
    assert.equal(t.form.data, '/photos');
    assert.equal(t.total, 100);
    assert.equal(t.iteration, 2);
    assert.deepEqual(t.preview, IMAGE);
    // An event the list already held, arriving again, is not a second point.
    api.emit('job:metrics', { jobId: 'live', iteration: 2, loss: 0.04 });
    api.emit('job:metrics', { jobId: 'live', iteration: 3, loss: 0.03 });
    assert.equal(t.iteration, 3);
    assert.deepEqual(t.loss.aligned(['loss'])[0], [1, 2, 3]);
  });
});

describe('TrainSession: Start from', () => {
  const tiny = { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' } as const;
  const models: ModelInfo[] = [
    {
      id: 'bundled:tanhexp_x2.safetensors',
      path: '/b/tanhexp_x2.safetensors',
      name: 'tanhexp_x2',
      bundled: true,
      isDefault: false,
      config: tiny,
      parameters: 1,
    },
    {
      id: 'user:mine_x3.safetensors',
      path: '/u/mine_x3.safetensors',
      name: 'mine_x3',
      bundled: false,
      isDefault: false,
      config: { scale: 3, features: 32, groups: 3, blocks: 4, activation: 'swish' },
      parameters: 2,
    },
  ];

  test("scratch, a bundled model or one of mine; a pick takes its preset, scale and activation and the lower learning rate; a misfit is refused at the field in the CLI's words", async () => {
    const { app: a, api } = app((api) =>
      api.answer('models:list', () => models).answer('job:train', () => ({ jobId: 't1' })),
    );
    await a.refresh();
    const t = a.train;
    assert.deepEqual(
      t.initGroups.map((g) => [g.label, g.models.map((m) => m.name)]),
      [
        ['A bundled model', ['tanhexp_x2']],
        ['One of my models', ['mine_x3']],
      ],
    );
    assert.equal(t.form.init, null, 'from scratch by default');
    assert.equal(t.learningRate, 4e-4, "TanhExp's own from scratch");
    t.form.data = '/photos';
    t.form.iterations = 40;

    t.startFrom('user:mine_x3.safetensors');
    assert.deepEqual([t.form.preset, t.form.scale, t.form.activation], ['light', 3, 'swish']);
    assert.equal(t.learningRate, 1e-4);
    assert.equal(t.initError, null);

    // The size or activation changed after the pick: refused under the field, and Start is off.
    t.form.preset = 'tiny';
    assert.equal(
      t.initError,
      'mine_x3 has 32 features in 3 groups of 4 blocks (light), but this run is tiny (16 features, 1 group of 3 blocks); pick a model of the same preset, or start from scratch.',
    );
    assert.equal(t.canStart, false);
    t.form.preset = 'light';
    t.form.activation = 'tanhexp';
    assert.equal(
      t.initError,
      'mine_x3 uses swish, but this run uses tanhexp; pick a model with the same activation, or start from scratch.',
    );
    await t.start();
    assert.deepEqual(api.sent('job:train'), [], 'nothing is sent while the pick does not fit');

    // Another scale is fine: all but the upsampler is loaded.
    t.startFrom('bundled:tanhexp_x2.safetensors');
    t.form.scale = 4;
    assert.equal(t.initError, null);
    await t.start();
    assert.deepEqual(api.sent('job:train'), [
      {
        data: '/photos',
        val: null,
        preset: 'tiny',
        scale: 4,
        activation: 'tanhexp',
        iterations: 40,
        run: { kind: 'new', parent: null },
        degrade: 'none',
        init: 'bundled:tanhexp_x2.safetensors',
        objective: 'pixel',
      },
    ]);

    api.emit('job:error', { jobId: 't1', message: 'stopped' });
    t.startFrom(null);
    assert.equal(t.form.init, null);
    assert.equal(t.learningRate, 4e-4);
    assert.deepEqual(
      [t.form.preset, t.form.scale, t.form.activation],
      ['tiny', 4, 'tanhexp'],
      'scratch keeps the settings',
    );
  });
});

describe('UpscaleSession', () => {
  test('a typed output folder is used as typed; when it is not a folder the error stays at the field', async () => {
    const refuse = () => {
      throw refusal('"/typo" does not exist; check the path and try again.', 'Output folder');
    };
    const { app: a, api } = app((api) =>
      upscaleReady(api.answer('settings:set', refuse).answer('job:upscale', refuse)),
    );
    await a.refresh();
    const u = a.upscale;
    assert.equal(u.outputDir, '/saved/out', 'the saved folder until something is typed');
    await u.setOutputDir('/typo');
    assert.equal(u.outputDir, '/typo', 'what was typed stays');
    assert.match(u.outputError ?? '', /^"\/typo" does not exist/);
    await u.addPaths(['/in/photo.png']);
    await settle();
    await u.start();
    assert.equal(api.sent('job:upscale')[0]!.outputDir, '/typo', 'never silently the saved folder');
    assert.match(u.outputError ?? '', /does not exist/);
  });

  test('a reloaded batch loads replayed results one at a time, and only for files in the queue', async () => {
    let inFlight = 0;
    let most = 0;
    const thumbnail = async () => {
      most = Math.max(most, ++inFlight);
      await settle();
      inFlight--;
      return IMAGE;
    };
    const done = (file: string, output: string) =>
      ({
        channel: 'job:file-done',
        payload: { jobId: 'u1', file, output, width: 4, height: 4, result: { dataUrl: '', width: 0, height: 0 } },
      }) as const;
    const job: JobInfo = {
      jobId: 'u1',
      kind: 'upscale',
      state: 'running',
      spec: { files: ['/in/a.png', '/in/b.png'], model: 'm', format: 'png', outputDir: null, overwrite: false },
      events: [
        done('/in/a.png', '/out/a.png'),
        done('/in/b.png', '/out/b.png'),
        done('/elsewhere/x.png', '/out/x.png'),
      ],
    };
    const { app: a, api } = app((api) => api.answer('jobs:list', () => [job]).answer('image:thumbnail', thumbnail));
    await a.refresh();
    for (let i = 0; i < 20; i++) await settle();
    const outputs = api
      .sent('image:thumbnail')
      .filter((t) => t.maxSide === 1024)
      .map((t) => t.path);
    assert.deepEqual(outputs, ['/out/a.png', '/out/b.png'], 'no result is fetched for a file that is not in the queue');
    assert.equal(most, 1, 'one request at a time');
    assert.deepEqual(
      a.upscale.items.map((i) => i.result),
      [IMAGE, IMAGE],
    );
  });

  test("a result made with a caveat (an animation's first frame) keeps the engine's sentence on its item until it is queued again", async () => {
    const { app: a, api } = app((api) => upscaleReady(api.answer('job:upscale', () => ({ jobId: 'u1' }))));
    await a.refresh();
    const u = a.upscale;
    await u.addPaths(['/in/anim.gif', '/in/still.png']);
    await settle();
    await u.start();
    const warning = '"/in/anim.gif" has 2 frames; only the first was upscaled.';
    const result = { dataUrl: 'data:image/png;base64,', width: 4, height: 4 };
    api.emit('job:file-done', {
      jobId: 'u1',
      file: '/in/anim.gif',
      output: '/out/anim_x2.png',
      width: 4,
      height: 4,
      result,
      warning,
    });
    api.emit('job:file-done', {
      jobId: 'u1',
      file: '/in/still.png',
      output: '/out/still_x2.png',
      width: 4,
      height: 4,
      result,
    });
    assert.deepEqual(
      u.items.map((i) => [i.status, i.warning]),
      [
        ['done', warning],
        ['done', null],
      ],
    );
    u.items[0]!.queue();
    assert.equal(u.items[0]!.warning, null);
  });
});

describe('CompareModelsSession', () => {
  test('reads the typed result: both outputs with their timings and scores, the input and the ground truth', async () => {
    const { app: a, api } = app((api) => api.answer('job:compare-models', () => ({ jobId: 'c1' })));
    const s = a.compareModels;
    Object.assign(s.form, { modelA: 'a', modelB: 'b', image: '/p.png', groundTruth: true });
    await s.start();
    assert.deepEqual(api.sent('job:compare-models'), [
      { modelA: 'a', modelB: 'b', image: '/p.png', groundTruth: true },
    ]);
    const out = (ms: number, file: string) => ({
      model: '/m',
      activation: 'swish' as const,
      ms,
      file,
      width: 8,
      height: 8,
      psnrY: 30,
      ssimY: 0.9,
    });
    const result = {
      kind: 'compare-models' as const,
      a: out(5, '/v/a.png'),
      b: out(7, '/v/b.png'),
      scale: 2 as const,
      input: { file: '/v/input.png', width: 4, height: 4 },
      truth: { file: '/v/truth.png', width: 8, height: 8 },
      bicubic: { psnrY: 28, ssimY: 0.85 },
    };
    api.emit('job:done', { jobId: 'c1', summary: 'done', result });
    assert.deepEqual(s.result, result);
    assert.equal(s.running, false);
  });
});

describe('the two-model views', () => {
  const SHAPES = {
    tiny: { features: 16, groups: 1, blocks: 3 },
    light: { features: 32, groups: 3, blocks: 4 },
  } as const;
  const model = (
    name: string,
    activation: 'swish' | 'tanhexp',
    shape: keyof typeof SHAPES,
    degrade: 'none' | 'photo',
    isDefault = false,
  ): ModelInfo => ({
    id: `bundled:${name}.safetensors`,
    path: `/bundled/${name}.safetensors`,
    name,
    bundled: true,
    isDefault,
    config: { scale: 2, activation, ...SHAPES[shape] },
    parameters: 1,
    training: { degrade } as TrainingSummary,
  });
  const forms = async (models: ModelInfo[]) => {
    const { app: a } = app((api) => api.answer('models:list', () => models));
    await a.refreshModels();
    return [a.compareModels.form, a.features.form].map((f) => [f.modelA, f.modelB]);
  };

  test('start with Swish against its TanhExp twin: the default when it has one, else the twin pair at its scale', async () => {
    const swish = model('swish_x2', 'swish', 'tiny', 'none');
    const clean = model('tanhexp_x2', 'tanhexp', 'tiny', 'none');
    const pair = [swish.id, clean.id];
    // The default is the TanhExp twin itself.
    assert.deepEqual(await forms([swish, { ...clean, isDefault: true }]), [pair, pair]);
    // The default (for photos, another size) has no Swish twin: the clean twins are compared, not mismatched models.
    const photo = model('tanhexp_photo_x2', 'tanhexp', 'light', 'photo', true);
    assert.deepEqual(await forms([photo, swish, clean]), [pair, pair]);
    // No twin at all: the forms stay for the user to fill.
    assert.deepEqual(await forms([photo, swish]), [
      ['', ''],
      ['', ''],
    ]);
  });
});

describe('SettingsSession', () => {
  test('labels each choice by what the probe found; refuses a bad thread count before sending', async () => {
    const { app: a, api } = app((api) =>
      api
        .answer('backends:probe', () => ({
          probes: [
            { name: 'webgpu', available: true, gpu: false, canTrain: true, device: 'llvmpipe via OpenGL' },
            { name: 'onnx', available: true, gpu: false, canTrain: true, device: 'ONNX Runtime' },
            { name: 'tensorflow', available: false, gpu: false, canTrain: false, reason: 'not installed' },
          ],
          auto: { upscale: { name: 'onnx', why: 'onnx' }, train: { name: 'onnx', why: 'onnx' } },
        }))
        .answer('settings:set', (patch) => ({ ...SETTINGS, ...patch })),
    );
    await a.refresh();
    const s = a.settingsForm;
    s.load(a.settings!); // as the view does when it opens
    await s.probe();
    assert.equal(s.describe('upscale', 'auto'), 'auto (now onnx)');
    assert.equal(s.describe('train', 'webgpu'), 'webgpu — software adapter');
    assert.equal(s.describe('upscale', 'tensorflow'), 'tensorflow — not available');
    assert.deepEqual(
      s.choices('train'),
      ['auto', 'tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'],
      'every backend is offered for training',
    );
    assert.equal(s.describe('train', 'auto'), 'auto (now onnx)');
    assert.equal(s.describe('train', 'onnx'), 'onnx — CPU');
    s.threads = '99';
    await s.save();
    assert.match(s.error ?? '', /from 0 to 64/);
    assert.equal(api.sent('settings:set').length, 0);
    s.threads = '1';
    s.upscale = 'wasm';
    await s.save();
    assert.equal(s.saved, true);
    assert.deepEqual(api.sent('settings:set').at(-1), {
      backends: { upscale: 'wasm', train: 'auto' },
      threads: 1,
      outputDir: '/saved/out',
    });
  });
});
