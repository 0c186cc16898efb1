/**
 * The Train view's state (renderer/src/state/train.svelte.ts) against a fake StudioApi: the
 * Iterations field read as the command line reads --iters, continuing a run with its recorded
 * curves, training a finished run further, the run list following each run's state, and what a
 * finished run says about its quality; the objective (pixel or perceptual), its adversarial weight
 * read as the command line reads --adv-weight, the learning rate by the engine's rule, and the
 * detail measure beside PSNR.
 */
import { register } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo, RunInfo, Settings } from '../../main/api.ts';
import { INIT_LR } from '../../ml/train/init-mismatch.ts';
import { DEFAULT_ADV_WEIGHT, DEFAULT_LR, PERCEPTUAL_LR } from '../../ml/train/objective.ts';
import { FakeApi, settle } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');

const SETTINGS: Settings = {
  outputDir: null,
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};

function studio(setup: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi()
    .answer('models:list', () => [])
    .answer('runs:list', () => [])
    .answer('jobs:list', () => [])
    .answer('job:train', () => ({ jobId: 'j1' }))
    .answer('app:status', () => ({
      version: '0.0.0',
      settings: SETTINGS,
      backend: {
        upscale: { ok: true, choice: 'auto', name: 'onnx', device: 'ONNX Runtime', why: 'onnx', validation: null },
        train: { ok: true, choice: 'auto', name: 'onnx', device: 'ONNX Runtime', why: 'onnx', validation: null },
      },
    }));
  setup(api);
  return { app: new AppState(api), api };
}

describe('the Iterations field', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['-5', /^Iterations must be at least 1, not -5\.$/],
    ['0', /^Iterations must be at least 1, not 0\.$/],
    ['abc', /^Iterations must be a number, not "abc"\.$/],
    ['2.5', /^Iterations must be a whole number, not 2\.5\.$/],
    ['', /^Iterations: type a whole number from 1 to 10,000,000\.$/],
    [null, /^Iterations: type a whole number from 1 to 10,000,000\.$/],
    ['20000000', /^Iterations can be at most 10,000,000, not 20000000\.$/],
  ];
  for (const [value, sentence] of cases) {
    test(`${JSON.stringify(value)} gets its own sentence, and Start sends nothing`, async () => {
      const { app, api } = studio();
      const t = app.train;
      t.form.data = '/photos';
      t.form.iterations = value as string;
      assert.match(t.iterationsError ?? '', sentence);
      assert.equal(t.canStart, false);
      await t.start();
      assert.deepEqual(api.sent('job:train'), []);
    });
  }

  test('any whole number the command line takes is sent as typed: 105, 1, "1e3"', async () => {
    for (const [typed, sent] of [
      ['105', 105],
      ['1', 1],
      [' 1e3 ', 1000],
      [7, 7],
    ] as const) {
      const { app, api } = studio();
      const t = app.train;
      t.form.data = '/photos';
      t.form.iterations = typed;
      assert.equal(t.iterationsError, null);
      assert.equal(t.canStart, true);
      await t.start();
      assert.equal(api.sent('job:train')[0]?.iterations, sent);
    }
  });
});

const STOPPED: RunInfo = {
  dir: '/runs/tiny_x2',
  name: 'tiny_x2',
  preset: 'tiny',
  scale: 2,
  activation: 'tanhexp',
  iterations: 600,
  degrade: 'none',
  objective: 'pixel',
  advWeight: null,
  data: '/photos',
  val: '/checks',
  state: 'stopped',
  iteration: 147,
  best: { iteration: 140, psnrY: 30 },
  modelPath: '/runs/tiny_x2/model_best.safetensors',
  message: null,
  updated: '2025-01-01T00:00:00.000Z',
};
const FINISHED: RunInfo = { ...STOPPED, state: 'finished', iteration: 600 };

/** A run's record as runs:metrics gives it: a loss every 10 iterations and a validation every 70, to 150 (three after its checkpoint at 147). */
const RECORDED = [
  ...Array.from({ length: 15 }, (_, i) => ({ iteration: (i + 1) * 10, loss: 0.3 - i / 100 })),
  { iteration: 70, psnrY: 29.5, bicubicPsnrY: 30.1 },
  { iteration: 140, psnrY: 30.4, bicubicPsnrY: 30.1 },
].sort((a, b) => a.iteration - b.iteration);

describe('continuing a run', () => {
  test('the charts start with what the run recorded up to its checkpoint, and the run is listed as training at once', async () => {
    const lists: RunInfo[][] = [[STOPPED], [{ ...STOPPED, state: 'running' }]];
    const { app, api } = studio((api) =>
      api
        .answer('runs:list', () => lists.shift() ?? [{ ...STOPPED, state: 'running' }])
        .answer('runs:metrics', () => RECORDED),
    );
    const t = app.train;
    await t.refreshRuns();
    await t.continueRun(STOPPED);
    assert.deepEqual(api.sent('runs:metrics'), [{ dir: '/runs/tiny_x2' }]);
    assert.deepEqual(api.sent('job:train')[0]?.run, { kind: 'continue', dir: '/runs/tiny_x2' });
    assert.equal(t.runs[0]?.state, 'running', 'the list says so before the engine does');
    await settle();
    // Live points from the continue arrive after the record.
    api.emit('job:state', { jobId: 'j1', state: 'running', message: '' });
    api.emit('job:metrics', { jobId: 'j1', iteration: 148, loss: 0.1 });
    const [x, loss] = t.loss.aligned(['loss']);
    assert.deepEqual(
      [...x!],
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 148],
      'the loss goes on from the record, without what came after the checkpoint',
    );
    assert.equal(loss![0], 0.3);
    assert.deepEqual([...t.psnr.aligned(['network'])[0]!], [70, 140], 'every validation before the checkpoint');
    assert.equal(t.psnr.last('bicubic'), 30.1);
    assert.equal(t.iteration, 148);
    await settle();
    assert.ok(api.sent('runs:list').length >= 2, 'the list is asked again once the run trains');
  });

  test('a record that arrives after the first live points still goes in front of them', async () => {
    let answer: (v: typeof RECORDED) => void = () => undefined;
    const { app, api } = studio((api) => api.answer('runs:metrics', () => new Promise((r) => (answer = r))));
    const t = app.train;
    await t.continueRun(STOPPED);
    api.emit('job:metrics', { jobId: 'j1', iteration: 148, loss: 0.1 });
    api.emit('job:metrics', { jobId: 'j1', iteration: 150, loss: 0.09 });
    answer(RECORDED);
    await settle();
    assert.deepEqual([...t.loss.aligned(['loss'])[0]!].slice(-3), [140, 148, 150]);
    assert.equal(t.loss.aligned(['loss'])[0]!.length, 16);
  });

  test('a page reloaded during a continued training shows the whole run again', async () => {
    const job = {
      jobId: 'j9',
      kind: 'train' as const,
      state: 'running' as const,
      spec: {
        data: '/photos',
        val: '/checks',
        preset: 'tiny' as const,
        scale: 2 as const,
        activation: 'tanhexp' as const,
        iterations: 600,
        run: { kind: 'continue' as const, dir: '/runs/tiny_x2' },
        degrade: 'none' as const,
        init: null,
      },
      events: [{ channel: 'job:metrics' as const, payload: { jobId: 'j9', iteration: 160, loss: 0.08 } }],
    };
    const { app, api } = studio((api) =>
      api.answer('jobs:list', () => [job]).answer('runs:metrics', () => [...RECORDED, { iteration: 160, loss: 0.08 }]),
    );
    await app.refresh();
    await settle();
    assert.deepEqual(api.sent('runs:metrics'), [{ dir: '/runs/tiny_x2' }]);
    const x = [...app.train.loss.aligned(['loss'])[0]!];
    assert.equal(x[0], 10);
    assert.equal(x.at(-1), 160);
    assert.equal(x.length, 16);
  });

  test('a finished run trains further: more iterations than it has, from its checkpoint; as many or fewer are refused in one sentence', async () => {
    const { app, api } = studio((api) => api.answer('runs:metrics', () => RECORDED));
    const t = app.train;
    assert.equal(t.furtherError(FINISHED, '600'), 'Iterations must be at least 601, not 600.');
    assert.equal(t.furtherError(FINISHED, '1200'), null);
    await t.continueRun(FINISHED);
    assert.deepEqual(api.sent('job:train'), [], 'its own end again would do nothing');
    assert.match(app.toasts.items.at(-1)?.text ?? '', /^Iterations must be at least 601, not 600\.$/);
    await t.continueRun(FINISHED, '1200');
    const spec = api.sent('job:train')[0];
    assert.deepEqual(spec?.run, { kind: 'continue', dir: '/runs/tiny_x2' });
    assert.equal(spec?.iterations, 1200);
    assert.equal(spec?.data, '/photos');
    assert.equal(t.total, 1200);
    assert.equal(t.iteration, 600);
  });
});

describe('a finished run', () => {
  const done = (api: FakeApi, best: number, bicubic: number) => {
    api.emit('job:state', { jobId: 'j1', state: 'running', message: '' });
    api.emit('job:metrics', { jobId: 'j1', iteration: 50, psnrY: best, bicubicPsnrY: bicubic });
    api.emit('job:done', {
      jobId: 'j1',
      summary: 'Finished 50 iterations.',
      result: {
        kind: 'train',
        reason: 'finished',
        iteration: 50,
        iterations: 50,
        runDir: '/runs/r',
        modelPath: '/runs/r/model_best.safetensors',
        best: null,
      },
    });
  };

  test('below bicubic says in one sentence that the model is worse so far and to train longer', async () => {
    const { app, api } = studio();
    app.train.form.data = '/photos';
    await app.train.start();
    done(api, 29.4, 31.16);
    assert.equal(
      app.train.verdict,
      'So far the model is worse than plain bicubic enlargement on the validation photos (best 29.40 dB against 31.16 dB); train it longer before using it, e.g. with Train further in the list of runs.',
    );
  });

  test('above bicubic says nothing more', async () => {
    const { app, api } = studio();
    app.train.form.data = '/photos';
    await app.train.start();
    done(api, 31.5, 31.16);
    assert.equal(app.train.verdict, null);
  });
});

describe('a page reloaded during a training', () => {
  const job = {
    jobId: 'j5',
    kind: 'train' as const,
    state: 'running' as const,
    spec: {
      data: '/photos',
      val: null,
      preset: 'tiny' as const,
      scale: 2 as const,
      activation: 'tanhexp' as const,
      iterations: 600,
      run: { kind: 'new' as const, parent: null },
      degrade: 'none' as const,
      init: null,
    },
    events: [],
  };

  test('opens the Train view, where the training goes on', async () => {
    const { app } = studio((api) => api.answer('jobs:list', () => [job]));
    assert.equal(app.view, 'upscale');
    await app.refresh();
    assert.equal(app.view, 'train');
    assert.equal(app.train.active, true);
  });

  test('stays where the user went meanwhile', async () => {
    const { app } = studio((api) => api.answer('jobs:list', () => [job]));
    app.view = 'models';
    await app.refresh();
    assert.equal(app.view, 'models');
  });
});

describe('the objective', () => {
  test('Perceptual sends its objective and the adversarial weight as typed; Pixel accuracy sends no weight', async () => {
    for (const [typed, sent] of [
      [DEFAULT_ADV_WEIGHT, 0.1],
      ['0.25', 0.25],
      [' 1e-2 ', 0.01],
      ['10', 10],
    ] as const) {
      const { app, api } = studio();
      const t = app.train;
      t.form.data = '/photos';
      t.form.objective = 'perceptual';
      t.form.advWeight = typed;
      assert.equal(t.advWeightError, null);
      await t.start();
      const spec = api.sent('job:train')[0];
      assert.deepEqual([spec?.objective, spec?.advWeight], ['perceptual', sent], String(typed));
    }
    const { app, api } = studio();
    const t = app.train;
    t.form.data = '/photos';
    assert.equal(t.form.objective, 'pixel', 'pixel error by default, as the command line');
    t.form.advWeight = 'abc';
    assert.equal(t.advWeightError, null, 'a pixel run asks no weight, so a leftover entry does not stop it');
    await t.start();
    const spec = api.sent('job:train')[0];
    assert.equal(spec?.objective, 'pixel');
    assert.equal(spec && 'advWeight' in spec, false);
  });

  const cases: Array<[unknown, RegExp]> = [
    ['0', /^Adversarial weight must be at least 0\.001, not 0\.$/],
    ['-1', /^Adversarial weight must be at least 0\.001, not -1\.$/],
    ['11', /^Adversarial weight can be at most 10, not 11\.$/],
    ['abc', /^Adversarial weight must be a number, not "abc"\.$/],
    ['', /^Adversarial weight: type a number from 0\.001 to 10\.$/],
    [null, /^Adversarial weight: type a number from 0\.001 to 10\.$/],
  ];
  for (const [value, sentence] of cases) {
    test(`an adversarial weight of ${JSON.stringify(value)} gets its own sentence, and Start sends nothing`, async () => {
      const { app, api } = studio();
      const t = app.train;
      t.form.data = '/photos';
      t.form.objective = 'perceptual';
      t.form.advWeight = value as string;
      assert.match(t.advWeightError ?? '', sentence);
      assert.equal(t.canStart, false);
      await t.start();
      assert.deepEqual(api.sent('job:train'), []);
    });
  }

  test("the learning rate shown follows the engine's rule: the activation's own, the perceptual one, a start model's", () => {
    const mine: ModelInfo = {
      id: 'user:mine.safetensors',
      path: '/m/mine.safetensors',
      name: 'mine',
      bundled: false,
      isDefault: false,
      config: { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'swish' },
      parameters: 1,
    };
    const { app } = studio((api) => api.answer('models:list', () => [mine]));
    const t = app.train;
    assert.equal(t.learningRate, DEFAULT_LR.tanhexp);
    t.form.activation = 'swish';
    assert.equal(t.learningRate, DEFAULT_LR.swish);
    t.form.objective = 'perceptual';
    assert.equal(t.learningRate, PERCEPTUAL_LR);
    t.form.objective = 'pixel';
    t.form.init = mine.id;
    assert.equal(t.learningRate, INIT_LR);
  });

  test('continuing a perceptual run sends its objective and weight; its validations draw detail beside PSNR, and the model is its latest', async () => {
    const sharp: RunInfo = { ...STOPPED, objective: 'perceptual', advWeight: 0.3 };
    const recorded = [
      ...RECORDED.filter((p) => 'loss' in p),
      { iteration: 140, psnrY: 30.4, bicubicPsnrY: 30.1, detail: 0.91 },
    ];
    const { app, api } = studio((api) => api.answer('runs:metrics', () => recorded));
    const t = app.train;
    await t.continueRun(sharp);
    const spec = api.sent('job:train')[0];
    assert.deepEqual([spec?.objective, spec?.advWeight], ['perceptual', 0.3]);
    assert.deepEqual([t.form.objective, t.form.advWeight], ['perceptual', 0.3]);
    await settle();
    api.emit('job:state', { jobId: 'j1', state: 'running', message: '' });
    api.emit('job:metrics', { jobId: 'j1', iteration: 210, psnrY: 29.9, ssimY: 0.9, detail: 0.97, bicubicPsnrY: 30.1 });
    assert.deepEqual(
      t.psnr.aligned(['network', 'detail']).map((c) => [...c]),
      [
        [140, 210],
        [30.4, 29.9],
        [0.91, 0.97],
      ],
    );
    api.emit('job:done', {
      jobId: 'j1',
      summary: 'Finished.',
      result: {
        kind: 'train',
        reason: 'finished',
        iteration: 600,
        iterations: 600,
        runDir: '/runs/tiny_x2',
        modelPath: null,
        best: null,
      },
    });
    assert.match(
      t.verdict ?? '',
      /^So far the model is worse than plain bicubic enlargement on the validation photos \(latest 29\.90 dB against 30\.10 dB\)/,
      "a perceptual run's model is its latest validation, not its best",
    );
  });
});
