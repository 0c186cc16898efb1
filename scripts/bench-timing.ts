import type * as tf from '@tensorflow/tfjs-core';
import type { GradientWorkers } from '../ml/node/grad-workers.ts';
import type { Network } from '../ml/network.ts';
import { Adam } from '../ml/train/adam.ts';
import { makeTrainConfig } from '../ml/train/config.ts';
import { trainStep } from '../ml/train/step.ts';

/** Timing helpers shared by the benchmark's modes (scripts/bench.ts). */
export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Times `run` after one warm-up: until the budget or 5 runs, median (a slow one reports its warm-up). */
export async function timeIt(run: () => Promise<unknown>, budgetMs: number): Promise<{ ms: number; runs: number }> {
  const once = async () => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  const warm = await once();
  if (warm > budgetMs) return { ms: warm, runs: 1 };
  const times: number[] = [];
  const start = performance.now();
  do times.push(await once());
  while (times.length < 5 && performance.now() - start < budgetMs);
  return { ms: median(times), runs: times.length };
}

/**
 * Times several runs in turn (one warm-up each, then rounds until the budget or `maxRounds`, at least
 * `minRounds`): medians, and the fastest of each. Alternating makes drifts in the machine's speed hit
 * all of them alike, so their ratios hold.
 */
export async function timeAlternating(
  runs: ReadonlyArray<() => Promise<unknown>>,
  budgetMs: number,
  maxRounds = 25,
  minRounds = 1,
): Promise<Array<{ ms: number; best: number; runs: number }>> {
  const times: number[][] = runs.map(() => []);
  for (const run of runs) await run();
  const start = performance.now();
  do {
    for (const [i, run] of runs.entries()) {
      const t = performance.now();
      await run();
      times[i]!.push(performance.now() - t);
    }
  } while (times[0]!.length < minRounds || (times[0]!.length < maxRounds && performance.now() - start < budgetMs));
  return times.map((t) => ({ ms: median(t), best: Math.min(...t), runs: t.length }));
}

/** One full training step (forward, backward, clipping, Adam), the trainer's own, on fixed data. */
export function trainStepTimer(net: Network, x: tf.Tensor4D, helpers: GradientWorkers | undefined) {
  const [n, h, w] = x.shape;
  const cfg = makeTrainConfig({ network: net.config, batch: n, patch: h, iterations: 100 });
  const lr = Float32Array.from({ length: n * h * w * 3 }, (_, i) => (Math.cos(i) + 1) / 2);
  const hr = Float32Array.from({ length: n * h * 2 * w * 2 * 3 }, (_, i) => (Math.sin(i) + 1) / 2);
  const adam = new Adam(net.params);
  let loss = NaN;
  return {
    run: async () => {
      loss = (await trainStep(net, adam, { lr, hr, picks: [] }, cfg, 1e-4, helpers)).loss;
    },
    lastLoss: () => loss,
    dispose: () => adam.dispose(),
  };
}

/** Effective training rate: 6 × parameters × batch × LR pixels per step (forward, input and weight gradients). */
export const trainGflops = (params: number, batch: number, patch: number, stepMs: number) =>
  (6 * params * batch * patch * patch) / (stepMs / 1000) / 1e9;
