/**
 * The comparison's verdict (ml/train/compare-verdict.ts): whether the gap between two activations
 * is beyond seed noise, and whether it is large enough to see in a photo, in words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from '../../../ml/train/compare.ts';
import { compareVerdict, tNeeded, VISIBLE_PSNR_DB } from '../../../ml/train/compare-verdict.ts';

const LABELS: Record<string, string> = { swish: 'Swish', tanhexp: 'TanhExp' };
const name = (a: string) => LABELS[a] ?? a;
/** TanhExp − Swish per seed. */
const verdictOf = (gaps: number[]) => compareVerdict({ a: 'swish', b: 'tanhexp', psnrY: stat(gaps) }, name);

test('one seed: it cannot tell a real gap from noise, and a tiny gap is called equal for photos', () => {
  const v = verdictOf([0.02]);
  assert.equal(v.noise, 'unknown');
  assert.equal(v.t, null);
  assert.equal(v.visible, false);
  assert.equal(v.leader, 'TanhExp');
  assert.equal(v.conclusion, 'For photos, the two are equal.');
  assert.match(
    v.text,
    /^TanhExp is ahead by 0\.02 dB in validation PSNR over one seed, far below the 0\.1 dB a person could see/,
  );
  assert.match(v.text, /One seed cannot tell a real gap from seed noise; run 3 seeds or more/);
});

test('one seed with a large gap: visible, but whether it is real is not known', () => {
  const v = verdictOf([0.4]);
  assert.equal(v.visible, true);
  assert.equal(v.conclusion, 'One seed cannot tell: run 3 seeds or more.');
  assert.match(v.text, /above the 0\.1 dB a person could see; but one seed cannot tell a real gap from seed noise/);
});

test('three seeds, a tiny consistent gap: beyond seed noise, yet equal for photos', () => {
  // The figures a 3-seed comparison of the tiny preset gave: +0.02 dB, paired t = 25.87.
  const sd = (0.02 * Math.sqrt(3)) / 25.87;
  const v = compareVerdict({ a: 'swish', b: 'tanhexp', psnrY: { mean: 0.02, sd, n: 3 } }, name);
  assert.equal(v.noise, 'beyond');
  assert.equal(v.visible, false);
  assert.equal(v.conclusion, 'For photos, the two are equal.');
  assert.equal(
    v.text,
    'TanhExp is ahead by 0.02 dB in validation PSNR; the gap is larger than the spread between seeds (paired t = 25.9 over 3 seeds), but far below the 0.1 dB a person could see: for photos, the two are equal.',
  );
});

test('a large consistent gap names the better activation, also when it is A', () => {
  const v = verdictOf([0.42, 0.47, 0.45]);
  assert.deepEqual([v.noise, v.visible, v.leader, v.conclusion], ['beyond', true, 'TanhExp', 'TanhExp is better.']);
  assert.match(
    v.text,
    /^TanhExp is ahead by 0\.45 dB in validation PSNR; the gap is larger than the spread between seeds \(paired t = \d+\.\d over 3 seeds\) and above the 0\.1 dB a person could see: TanhExp is better\.$/,
  );
  const w = verdictOf([-0.3, -0.35, -0.28]);
  assert.equal(w.leader, 'Swish');
  assert.equal(w.conclusion, 'Swish is better.');
  assert.ok(w.t! > 0, 't is given as a size');
});

test('a noisy gap: within the spread between seeds, so more seeds are needed', () => {
  const v = verdictOf([0.3, -0.1, 0.2]);
  assert.equal(v.noise, 'within');
  assert.equal(v.visible, true);
  assert.equal(v.conclusion, 'It may be seed noise: run more seeds to know.');
  assert.match(
    v.text,
    /within the spread between seeds \(paired t = 1\.1 over 3 seeds, under the 4\.3 that 3 seeds need\), so it may be noise/,
  );
  // Noisy and small: equal for photos whatever more seeds would say.
  const tiny = verdictOf([0.01, -0.02, 0.015]);
  assert.deepEqual([tiny.noise, tiny.visible, tiny.conclusion], ['within', false, 'For photos, the two are equal.']);
});

test('two seeds need a large t (12.7); the same gap in every seed is beyond noise; no gap is level', () => {
  assert.equal(tNeeded(2), 12.706);
  assert.equal(tNeeded(3), 4.303);
  assert.equal(tNeeded(100), 1.96);
  assert.equal(verdictOf([0.2, 0.3]).noise, 'within'); // t = 5
  const same = verdictOf([0.2, 0.2, 0.2]);
  assert.equal(same.noise, 'beyond');
  assert.match(same.text, /the same gap in each of 3 seeds/);
  const level = verdictOf([0, 0, 0]);
  assert.deepEqual([level.leader, level.noise, level.visible], [null, 'within', false]);
  assert.equal(
    level.text,
    'Swish and TanhExp score the same in validation PSNR (less than 0.001 dB apart over 3 seeds), far below the 0.1 dB a person could see: for photos, the two are equal.',
  );
  assert.match(verdictOf([0.0003]).text, /less than 0\.001 dB apart over one seed/);
});

test('the threshold is 0.1 dB: a gap just under it is not visible, one at it is', () => {
  assert.equal(VISIBLE_PSNR_DB, 0.1);
  assert.equal(verdictOf([0.09, 0.095, 0.092]).visible, false);
  assert.equal(verdictOf([0.1, 0.1, 0.1]).visible, true);
});

test('report.md ends its comparison with the verdict and the threshold', async () => {
  const { markdown } = await import('../../../ml/train/compare-report.ts');
  const s = (mean: number, sd: number, n: number) => ({ mean, sd, n });
  const per = (psnr: number) => ({
    psnrY: s(psnr, 0.1, 3),
    ssimY: s(0.9, 0, 3),
    detail: s(0.9, 0, 3),
    msPerIteration: s(10, 1, 3),
  });
  const md = markdown({
    acts: ['swish', 'tanhexp'],
    seeds: [1, 2, 3],
    config: {} as never,
    bicubic: { psnrY: 30, ssimY: 0.9, detail: 0.7 },
    runs: [],
    perAct: { swish: per(31), tanhexp: per(31.02) },
    paired: {
      a: 'swish',
      b: 'tanhexp',
      psnrY: s(0.02, 0.00134, 3),
      ssimY: s(0.0001, 0, 3),
      detail: s(0, 0, 3),
      tPsnr: 25.87,
      msRatio: 1.1,
    },
    fairness: 'Trained alike.',
    cancelled: false,
  });
  assert.match(
    md,
    /\*\*tanhexp is ahead by 0\.02 dB in validation PSNR; .* for photos, the two are equal\.\*\* Differences under 0\.1 dB in PSNR are not visible in photos\./,
  );
});
