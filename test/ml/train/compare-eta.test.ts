/**
 * The whole comparison's time left (ml/train/compare-eta.ts): the current run's estimate plus the
 * runs still to come, timed by the runs already finished.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompareClock } from '../../../ml/train/compare-eta.ts';

test('before any run has finished, each run to come is as long as the current one will be', () => {
  let now = 0;
  const clock = new CompareClock(4, () => now);
  clock.started();
  now = 10_000;
  // 10 s in, 30 s left of the first of 4 runs: 30 s + 3 × 40 s.
  assert.equal(clock.etaMs(0, 30_000), 150_000);
});

test('once runs have finished, the runs to come take as long as they did on average', () => {
  let now = 0;
  const clock = new CompareClock(4, () => now);
  clock.started();
  now = 50_000;
  clock.finished();
  clock.started();
  now = 110_000;
  clock.finished();
  clock.started();
  now = 115_000;
  // Runs of 50 s and 60 s: the third has 20 s left, the fourth will take 55 s.
  assert.equal(clock.etaMs(2, 20_000), 75_000);
  // The last run: only its own time is left, never below zero.
  assert.equal(clock.etaMs(3, -5), 0);
});
