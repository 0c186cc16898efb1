import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../../../ml/image.ts';
import { initialWeights } from '../../../ml/network.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { decodeModel } from '../../../ml/weights.ts';
import { train, type RunStore } from '../../../ml/train/trainer.ts';
import { availableBackends, useBackend } from '../../helpers/backends.ts';
import { photoSource } from './memory-store.ts';

/**
 * The same 50 training steps from the same initial weights on every backend that can train give the
 * cpu backend's losses within 1e-4 (relative): the engine's own conv gradient and the activations'
 * custom gradients compute the same thing everywhere.
 */
const memoryStore = (models: Uint8Array[]): RunStore => ({
  writeConfig: async () => {},
  appendMetrics: async () => {},
  writeCheckpoint: async (i) => `ckpt ${i}`,
  readLatestCheckpoint: async () => undefined,
  writePreview: async (_i: number, _img: RgbImage) => undefined,
  writeModel: async (bytes) => {
    models.push(bytes);
    return 'model';
  },
});

async function losses(
  backend: string,
  source: Awaited<ReturnType<typeof photoSource>>,
  act: 'tanhexp' | 'swish',
): Promise<number[]> {
  await useBackend(backend as 'cpu');
  const config = makeTrainConfig({
    preset: 'tiny',
    activation: act,
    scale: 2,
    iterations: 50,
    batch: 2,
    patch: 12,
    warmup: 5,
    seed: 4,
    checkpointEvery: 1000,
  });
  const out: number[] = [];
  const models: Uint8Array[] = [];
  const before = tf.memory().numTensors;
  for await (const e of train({ config, data: source, val: [], store: memoryStore(models) }))
    if (e.type === 'progress') out.push(e.loss);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked by training`);
  // The weights really moved (equal losses from a network that never changes would prove nothing).
  const trained = decodeModel(models.at(-1)!, 'trained').weights;
  const initial = initialWeights(config.network, config.seed);
  let moved = 0;
  for (const [k, v] of initial) moved = Math.max(moved, ...v.map((x, i) => Math.abs(x - trained.get(k)![i]!)));
  assert.ok(moved > 1e-3, `${backend}: the weights moved by only ${moved}`);
  return out;
}

test("50 training steps give the cpu backend's losses on every backend that trains", async () => {
  const source = await photoSource();
  for (const act of ['tanhexp', 'swish'] as const) {
    const reference = await losses('cpu', source, act);
    assert.equal(reference.length, 50);
    for (const backend of (await availableBackends('train')).filter((b) => b !== 'cpu')) {
      const got = await losses(backend, source, act);
      const worst = Math.max(...got.map((l, i) => Math.abs(l - reference[i]!) / Math.abs(reference[i]!)));
      assert.ok(worst <= 1e-4, `${backend} ${act}: worst relative loss difference ${worst}`);
    }
  }
});
