/**
 * The Compare view's curves (renderer/src/lib/seed-bands.ts, plain TypeScript): per activation the
 * mean over seeds with a lowest-to-highest band, and B − A paired seed by seed; plus the charts'
 * ticks and paths (renderer/src/lib/plot.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketWidth, differenceBand, meanBand, type SeedRun } from '../../renderer/src/lib/seed-bands.ts';
import { bandPath, linePath, niceTicks, tickDigits, yExtent } from '../../renderer/src/lib/plot.ts';

const run = (act: string, seed: number, ys: number[], every = 1): SeedRun => ({
  act,
  seed,
  x: ys.map((_, i) => (i + 1) * every),
  y: ys,
});
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('the mean over seeds with the band from the lowest to the highest seed, per iteration', () => {
  const runs = [
    run('swish', 0, [30, 31]),
    run('swish', 1, [32, 33]),
    run('swish', 2, [31, 35]),
    run('tanhexp', 0, [40, 41]),
  ];
  const band = meanBand(runs, 'swish', 1);
  assert.deepEqual(
    band.map((p) => [p.x, p.mean, p.lo, p.hi, p.n]),
    [
      [1, 31, 30, 32, 3],
      [2, 33, 31, 35, 3],
    ],
  );
  // One seed: the band is the line itself.
  assert.deepEqual(
    meanBand(runs, 'tanhexp', 1).map((p) => [p.mean, p.lo, p.hi, p.n]),
    [
      [40, 40, 40, 1],
      [41, 41, 41, 1],
    ],
  );
});

test('a seed still running counts only where it has points', () => {
  const band = meanBand([run('swish', 0, [1, 2, 3]), run('swish', 1, [3])], 'swish', 1);
  assert.deepEqual(
    band.map((p) => [p.mean, p.n]),
    [
      [2, 2],
      [2, 1],
      [3, 1],
    ],
  );
});

test('long runs are averaged within buckets of iterations, about the points asked for', () => {
  assert.equal(bucketWidth(1000, 150), 7);
  assert.equal(bucketWidth(20, 150), 1);
  const ys = Array.from({ length: 1000 }, (_, i) => i + 1);
  const band = meanBand([run('swish', 0, ys)], 'swish', bucketWidth(1000, 150));
  assert.equal(band.length, 143);
  // Iterations 1…7 make the first point: their mean, at their mean iteration.
  assert.deepEqual([band[0]!.x, band[0]!.mean], [4, 4]);
  assert.equal(band.at(-1)!.x, 997.5); // 995…1000 (a last bucket of 6)
});

test('the difference B − A is taken seed by seed, so a shared seed effect cancels out', () => {
  // Seeds differ by whole dB, yet B is 0.02 dB ahead in each: the difference band is tight.
  const runs = [
    run('swish', 0, [30, 31], 100),
    run('tanhexp', 0, [30.02, 31.02], 100),
    run('swish', 1, [32, 33], 100),
    run('tanhexp', 1, [32.03, 33.01], 100),
    run('swish', 2, [28, 29], 100), // its B run has not started
  ];
  const d = differenceBand(runs, 'swish', 'tanhexp', 1);
  assert.equal(d.length, 2);
  assert.deepEqual(
    d.map((p) => p.x),
    [100, 200],
  );
  assert.ok(close(d[0]!.mean, 0.025) && close(d[0]!.lo, 0.02) && close(d[0]!.hi, 0.03), JSON.stringify(d[0]));
  assert.ok(close(d[1]!.mean, 0.015) && close(d[1]!.lo, 0.01) && close(d[1]!.hi, 0.02), JSON.stringify(d[1]));
  assert.equal(d[0]!.n, 2);
  // The means' own bands are two whole dB wide: the seeds, not the activations.
  assert.ok(meanBand(runs, 'swish', 1)[0]!.hi - meanBand(runs, 'swish', 1)[0]!.lo >= 2);
});

test('ticks are round, the range holds the bands and the references, paths follow the points', () => {
  assert.deepEqual(niceTicks(0, 1000, 5), [0, 200, 400, 600, 800, 1000]);
  const fine = niceTicks(30.1, 30.9, 4);
  assert.equal(fine.length, 4);
  [30.2, 30.4, 30.6, 30.8].forEach((v, i) => assert.ok(close(fine[i]!, v) || Math.abs(fine[i]! - v) < 1e-6, `${fine}`));
  const around0 = niceTicks(-0.05, 0.05, 5);
  assert.equal(around0.length, 5);
  [-0.04, -0.02, 0, 0.02, 0.04].forEach((v, i) => assert.ok(close(around0[i]!, v), `${around0}`));
  assert.ok(around0.includes(0), 'zero is exactly 0, not a rounding error');
  assert.equal(tickDigits(niceTicks(30.1, 30.9, 4)), 1);
  assert.equal(tickDigits(niceTicks(0, 1000, 5)), 0);
  const pts = [
    { x: 0, mean: 1, lo: 0.5, hi: 1.5, n: 2 },
    { x: 10, mean: 2, lo: 1, hi: 3, n: 2 },
  ];
  const [lo, hi] = yExtent([pts], [-1]);
  assert.ok(lo < -1 && hi > 3);
  assert.deepEqual(yExtent([]), [0, 1]);
  const id = (v: number) => v;
  assert.equal(linePath(pts, id, id), 'M0.0,1.0L10.0,2.0');
  assert.equal(bandPath(pts, id, id), 'M0.0,1.5L10.0,3.0L10.0,1.0L0.0,0.5Z');
  assert.equal(bandPath(pts.slice(0, 1), id, id), '', 'one point has no band to draw');
});
