/**
 * Does training learn? A short run on the real photos in photos/tiny (three for training,
 * one held out for validation, as the CLI splits them) must lower the training loss and raise the
 * validation PSNR-Y. This one runs on the wasm backend: the same run on cpu takes ten times as long.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { loadTrainingData } from '../../../ml/node/training-data.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { train } from '../../../ml/train/trainer.ts';
import { useBackend } from '../../helpers/backends.ts';
import { MemoryStore, TINY, collect, mean, ofType } from './memory-store.ts';

before(async () => {
  await useBackend('wasm', 'train');
});

test('150 iterations on the tiny photos lower the training loss and raise validation PSNR-Y past bicubic (wasm)', async () => {
  assert.equal(tf.getBackend(), 'wasm');
  const cfg = makeTrainConfig({
    preset: 'tiny',
    scale: 2,
    iterations: 150,
    batch: 8,
    patch: 16,
    lr: 2e-3,
    warmup: 20,
    valEvery: 10,
    seed: 0,
  });
  const data = await loadTrainingData({ data: TINY, scale: 2, patch: cfg.patch, seed: cfg.seed, valMaxSide: 0 });
  assert.equal(data.val.length, 1, 'one tiny photo is held out for validation');
  const store = new MemoryStore();
  const events = await collect(train({ config: cfg, data: data.train, val: data.val, store }));
  assert.equal(events.at(-1)?.type, 'end');

  const losses = ofType(events, 'progress').map((p) => p.loss);
  assert.equal(losses.length, 150);
  const first = mean(losses.slice(0, 10));
  const last = mean(losses.slice(-10));
  assert.ok(last < 0.9 * first, `training loss: first 10 average ${first.toFixed(4)}, last 10 ${last.toFixed(4)}`);

  const vals = ofType(events, 'validation');
  assert.equal(vals.length, 15);
  const v0 = vals[0]!;
  const v1 = vals.at(-1)!;
  const trace = vals.map((v) => `${v.iteration}: ${v.psnrY.toFixed(2)}`).join(', ');
  assert.ok(v1.psnrY > v0.psnrY + 0.5, `val PSNR-Y should rise by more than 0.5 dB: ${trace}`);
  assert.ok(
    v1.psnrY > v1.bicubicPsnrY,
    `after 150 iterations the network beats bicubic (${v1.bicubicPsnrY.toFixed(2)} dB): ${trace}`,
  );
  assert.ok(v1.ssimY > v0.ssimY, `val SSIM-Y ${v0.ssimY} → ${v1.ssimY}`);

  // The exported best model records the best validation score.
  const end = events.at(-1)!;
  assert.ok(end.type === 'end' && end.best);
  assert.equal(end.best.psnrY, Math.max(...vals.map((v) => v.psnrY)));
});
