/**
 * The Compare view's state (renderer/src/state/compare.svelte.ts, compiled by Svelte as the app's
 * build does) against a fake StudioApi: each activation's curve is the mean over its seeds with a
 * band, the legend has one entry per activation, B − A is paired by seed, the whole comparison's
 * time left is shown while it runs, and the verdict says whether the gap matters.
 */
import { register } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Events, JobInfo } from '../../main/api.ts';
import type { CompareReport } from '../../ml/train/compare.ts';
import { FakeApi } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');

function app() {
  const api = new FakeApi()
    .answer('models:list', () => [])
    .answer('runs:list', () => [])
    .answer('jobs:list', () => [])
    .answer('files:expand', () => ({ files: [], problems: [] }))
    .answer('job:compare', () => ({ jobId: 'c1' }));
  return { app: new AppState(api), api };
}

type Metrics = Events['job:metrics'];
const point = (act: 'swish' | 'tanhexp', seed: number, iteration: number, m: Partial<Metrics>): Metrics => ({
  jobId: 'c1',
  act,
  seed,
  iteration,
  ...m,
});

/** Three seeds of 4 iterations, validated at 2 and 4: TanhExp 0.02 dB ahead of Swish in every seed. */
function threeSeeds(api: FakeApi): void {
  for (const seed of [0, 1, 2]) {
    for (const act of ['swish', 'tanhexp'] as const) {
      const base = 30 + seed + (act === 'tanhexp' ? 0.02 : 0);
      for (let it = 1; it <= 4; it++) {
        api.emit('job:metrics', point(act, seed, it, { loss: 0.1 / it + seed * 0.01, itPerSec: 20, etaMs: 1000 }));
        if (it % 2 === 0)
          api.emit('job:metrics', point(act, seed, it, { psnrY: base + it / 10, ssimY: 0.9, bicubicPsnrY: 29 }));
      }
    }
  }
}

const report = (gaps: number[]): CompareReport => {
  const n = gaps.length;
  const mean = gaps.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / (n - 1)) : 0;
  const s = (m: number) => ({ mean: m, sd: 0.5, n });
  return {
    acts: ['swish', 'tanhexp'],
    seeds: gaps.map((_, i) => i),
    config: {} as CompareReport['config'],
    bicubic: { psnrY: 29, ssimY: 0.85, detail: 0.7 },
    runs: [],
    perAct: {
      swish: { psnrY: s(31), ssimY: s(0.9), detail: s(0.9), msPerIteration: s(10) },
      tanhexp: { psnrY: s(31 + mean), ssimY: s(0.9), detail: s(0.92), msPerIteration: s(11) },
    },
    paired: {
      a: 'swish',
      b: 'tanhexp',
      psnrY: { mean, sd, n },
      ssimY: { mean: 0, sd: 0, n },
      detail: { mean: 0.02, sd: 0, n },
      tPsnr: sd > 0 ? mean / (sd / Math.sqrt(n)) : null,
      msRatio: 1.1,
    },
    fairness: 'Trained alike.',
    cancelled: false,
  };
};

async function started() {
  const { app: a, api } = app();
  const s = a.compare;
  s.form = { ...s.form, data: '/photos', val: '/val', iterations: 4, seeds: 3 };
  await s.start();
  return { s, api };
}

describe('CompareSession', () => {
  test('Iterations and Seeds are read as the command line reads --iters and --seeds: any whole number in range, one sentence otherwise', async () => {
    const { app: a, api } = app();
    const s = a.compare;
    const cases: Array<[string, string, RegExp | null]> = [
      ['105', '2', null],
      ['1', '1', null],
      ['0', '1', /^Iterations must be at least 1, not 0\.$/],
      ['-5', '1', /^Iterations must be at least 1, not -5\.$/],
      ['abc', '1', /^Iterations must be a number, not "abc"\.$/],
      ['', '1', /^Iterations: type a whole number from 1 to 10,000,000\.$/],
      ['100', '0', /^Seeds must be at least 1, not 0\.$/],
      ['100', '2.5', /^Seeds must be a whole number, not 2\.5\.$/],
      ['100', '101', /^Seeds can be at most 100, not 101\.$/],
    ];
    for (const [iterations, seeds, error] of cases) {
      s.form = { ...s.form, data: '/photos', val: '/val', iterations, seeds };
      if (error) assert.match(s.numbersError ?? '', error, `${iterations} / ${seeds}`);
      else assert.equal(s.numbersError, null, `${iterations} / ${seeds}`);
      assert.equal(s.canStart, error === null, `${iterations} / ${seeds}`);
    }
    s.form = { ...s.form, iterations: 'abc', seeds: '1' };
    await s.start();
    assert.equal(api.sent('job:compare').length, 0, 'nothing is sent while a field is wrong');
    s.form = { ...s.form, iterations: '105', seeds: '2' };
    await s.start();
    assert.deepEqual(
      api.sent('job:compare').map((r) => [r.iterations, r.seeds]),
      [[105, 2]],
    );
  });

  test('Perceptual trains both activations perceptually: the request carries the objective and the weight as typed; a bad weight stops Start in one sentence', async () => {
    const { app: a, api } = app();
    const s = a.compare;
    s.form = { ...s.form, data: '/photos', val: '/val', objective: 'perceptual', advWeight: '20' };
    assert.equal(s.numbersError, 'Adversarial weight can be at most 10, not 20.');
    assert.equal(s.canStart, false);
    await s.start();
    assert.equal(api.sent('job:compare').length, 0);
    s.form = { ...s.form, advWeight: '0.05' };
    assert.equal(s.numbersError, null);
    await s.start();
    const sent = api.sent('job:compare')[0];
    assert.deepEqual([sent?.objective, sent?.advWeight], ['perceptual', 0.05]);

    // A reloaded page shows what the comparison trains for.
    const { app: b } = app();
    const job: JobInfo = { jobId: 'c1', kind: 'compare', state: 'running', spec: sent!, events: [] };
    b.compare.attach(job);
    assert.deepEqual([b.compare.form.objective, b.compare.form.advWeight], ['perceptual', 0.05]);

    s.form = { ...s.form, objective: 'pixel', advWeight: 'x' };
    assert.equal(s.numbersError, null, 'a pixel comparison asks no weight');
  });

  test('three seeds give one mean curve per activation with a band, in two colours that stay apart', async () => {
    const { s, api } = await started();
    threeSeeds(api);
    assert.deepEqual(
      s.legend.map((l) => [l.act, l.role, l.label, l.seeds, l.dashed]),
      [
        ['swish', 'A', 'Swish', 3, false],
        ['tanhexp', 'B', 'TanhExp', 3, true],
      ],
      'one legend entry per activation, not per seed',
    );
    assert.notEqual(s.legend[0]!.color, s.legend[1]!.color);
    assert.equal(s.psnrCurves.length, 2);
    const [swish, tanhexp] = s.psnrCurves;
    assert.deepEqual(
      swish!.points.map((p) => p.x),
      [2, 4],
    );
    // Seeds 0, 1, 2 sit at 30, 31, 32 (+ it/10): the mean is the middle one, the band spans them all.
    const first = swish!.points[0]!;
    assert.ok(
      Math.abs(first.mean - 31.2) < 1e-9 && Math.abs(first.lo - 30.2) < 1e-9 && Math.abs(first.hi - 32.2) < 1e-9,
      JSON.stringify(first),
    );
    assert.equal(first.n, 3);
    assert.ok(Math.abs(tanhexp!.points[0]!.mean - 31.22) < 1e-9);
    assert.ok(Math.abs(s.legend[1]!.psnr! - 31.42) < 1e-9, 'the legend gives the latest mean PSNR');
    // The difference is paired by seed: 0.02 dB in each, so its band is flat however far apart the seeds are.
    assert.deepEqual(
      s.psnrDifference.map((p) => [p.x, p.n]),
      [
        [2, 3],
        [4, 3],
      ],
    );
    for (const p of s.psnrDifference)
      assert.ok(Math.abs(p.mean - 0.02) < 1e-9 && p.hi - p.lo < 1e-9, JSON.stringify(p));
    assert.deepEqual(
      s.lossCurves.map((c) => c.points.length),
      [4, 4],
    );
    assert.equal(s.bicubic, 29);
  });

  test('while it runs it shows speed and the time left; the end shows the verdict instead', async () => {
    const { s, api } = await started();
    const verdict = () => s.verdict; // read afresh: the session changes it
    assert.equal(s.etaMs, null);
    api.emit('job:metrics', point('swish', 0, 1, { loss: 0.1, itPerSec: 12.5, etaMs: 95_000 }));
    assert.equal(s.etaMs, 95_000);
    assert.equal(s.itPerSec, 12.5);
    assert.equal(verdict(), null, 'no verdict before the report');
    api.emit('job:done', {
      jobId: 'c1',
      summary: 'Comparison finished.',
      result: { kind: 'compare', ...report([0.0199, 0.0213, 0.0188]), dir: '/out', sheet: null, models: {} },
    });
    assert.equal(s.etaMs, null, 'no time left once it has finished');
    assert.equal(s.running, false);
    assert.equal(verdict()?.noise, 'beyond');
    assert.equal(verdict()?.visible, false);
    assert.match(
      verdict()!.text,
      /^TanhExp is ahead by 0\.02 dB in validation PSNR; the gap is larger than the spread between seeds \(paired t = \d+\.\d over 3 seeds\), but far below the 0\.1 dB a person could see: for photos, the two are equal\.$/,
    );
  });

  test('a reloaded page re-attaches: replayed points are not counted twice, and a new start clears the curves', async () => {
    const job: JobInfo = {
      jobId: 'c1',
      kind: 'compare',
      state: 'running',
      spec: {
        data: '/photos',
        val: '/val',
        acts: ['swish', 'tanhexp'],
        preset: 'tiny',
        scale: 2,
        iterations: 4,
        seeds: 1,
      },
      events: [
        { channel: 'job:metrics', payload: point('swish', 0, 1, { loss: 0.2 }) },
        { channel: 'job:metrics', payload: point('swish', 0, 2, { loss: 0.1 }) },
      ],
    };
    const { app: a, api } = app();
    api.answer('jobs:list', () => [job]);
    await a.refresh();
    const s = a.compare;
    assert.equal(s.running, true);
    api.emit('job:metrics', point('swish', 0, 2, { loss: 0.1 }));
    api.emit('job:metrics', point('swish', 0, 1, { loss: 0.2 }));
    assert.deepEqual(
      s.lossCurves[0]!.points.map((p) => p.x),
      [1, 2],
    );
    assert.deepEqual(s.lossCurves[1]!.points, [], 'TanhExp has not started');
    assert.deepEqual(
      s.legend.map((l) => l.seeds),
      [1, 0],
    );
  });
});
