/**
 * The Train view's state (renderer/src/state/train.svelte.ts) against a fake StudioApi: the
 * Iterations field read as the command line reads --iters, continuing a run with its recorded
 * curves, training a finished run further, the run list following each run's state, and what a
 * finished run says about its quality.
 */
import { register } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunInfo, Settings } from '../../main/api.ts';
import { FakeApi, settle } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');

const SETTINGS: Settings = { outputDir: null, backends: { upscale: 'auto', train: 'auto' }, threads: null, recentModels: [] };

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
    for (const [typed, sent] of [['105', 105], ['1', 1], [' 1e3 ', 1000], [7, 7]] as const) {
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
