import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { DatasetSource, TrainImage } from '../../../ml/dataset.ts';
import { GradientWorkers } from '../../../ml/node/grad-workers.ts';
import { decodeCheckpoint } from '../../../ml/train/checkpoint.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { splitBatch } from '../../../ml/train/shards.ts';
import { train } from '../../../ml/train/trainer.ts';
import { useBackend } from '../../helpers/backends.ts';
import { MemoryStore, TINY } from './memory-store.ts';

/**
 * Data-parallel training: a batch split across helper threads gives the same losses and weights as
 * the whole batch in one thread (up to float rounding), and everything is released afterwards.
 */
async function source(): Promise<DatasetSource> {
  const images: TrainImage[] = [];
  for (const n of ['astronaut_128x128.png', 'motorcycle_200x150.png']) {
    const { data, info } = await sharp(path.join(TINY, n)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    images.push({ name: n, width: info.width, height: info.height, rgb: new Uint8Array(data) });
  }
  return { size: images.length, name: (i) => images[i]!.name, get: async (i) => images[i]! };
}

test('splitBatch keeps every sample once, in order, in near-equal shards', () => {
  const lr = Float32Array.from({ length: 5 * 2 }, (_, i) => i);
  const hr = Float32Array.from({ length: 5 * 8 }, (_, i) => i);
  const shards = splitBatch(lr, hr, 5, 2);
  assert.deepEqual(
    shards.map((s) => s.n),
    [3, 2],
  );
  assert.deepEqual([...shards[0]!.lr, ...shards[1]!.lr], [...lr]);
  assert.deepEqual([...shards[0]!.hr, ...shards[1]!.hr], [...hr]);
  assert.equal(splitBatch(lr, hr, 5, 9).length, 5, 'never more shards than samples');
});

test('training with a helper thread matches training in one thread', async () => {
  await useBackend('wasm');
  const data = await source();
  const config = makeTrainConfig({
    preset: 'tiny',
    iterations: 12,
    batch: 5,
    patch: 12,
    warmup: 2,
    seed: 9,
    checkpointEvery: 12,
  });
  const run = async (threads: number) => {
    const helpers = threads ? await GradientWorkers.start(threads, 'wasm', config) : undefined;
    const store = new MemoryStore();
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    try {
      for await (const e of train({ config, data, val: [], store, helpers }))
        if (e.type === 'progress') losses.push(e.loss);
    } finally {
      await helpers?.close();
    }
    assert.equal(tf.memory().numTensors, before, `threads ${threads}: tensors leaked`);
    return { losses, weights: decodeCheckpoint(store.checkpointAt(12), 'ckpt').weights };
  };
  const one = await run(0);
  const two = await run(1);
  assert.equal(two.losses.length, 12);
  for (const [i, l] of one.losses.entries()) {
    assert.ok(Math.abs(two.losses[i]! - l) <= 1e-4 * Math.abs(l), `iteration ${i + 1}: ${two.losses[i]} vs ${l}`);
  }
  let worst = 0;
  for (const [k, w] of one.weights)
    w.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - two.weights.get(k)![i]!))));
  assert.ok(worst < 1e-4, `weights differ by ${worst}`);
  assert.ok(one.losses[0] !== one.losses.at(-1), 'the run must actually train');
});
