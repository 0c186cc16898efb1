import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../network.ts';
import { CHARBONNIER_EPS, type TrainConfig } from './config.ts';

/**
 * Data-parallel training: a batch is split into shards whose losses and gradients are computed
 * separately (in other threads, by a platform's `GradientHelpers`) and combined, weighted by shard
 * size, into exactly the batch's mean loss and gradient.
 */
export interface Shard {
  readonly n: number;
  readonly lr: Float32Array;
  readonly hr: Float32Array;
}

export interface ShardResult {
  readonly loss: number;
  /** Gradient of the shard's mean loss, by parameter name, in the variables' (HWIO) layout. */
  readonly grads: Map<string, Float32Array>;
}

export interface GradientHelpers {
  /** How many shards the helpers take besides the caller's own. */
  readonly count: number;
  /** Loss and gradients of each shard at the given weights (by parameter name, HWIO). */
  compute(weights: ReadonlyMap<string, Float32Array>, shards: readonly Shard[]): Promise<ShardResult[]>;
  close(): Promise<void>;
}

/** The mean loss of a shard and its gradients by tfjs variable name. The caller disposes them. */
export function lossAndGrads(
  net: Network,
  cfg: TrainConfig,
  shard: Shard,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const s = cfg.network.scale;
  const p = cfg.patch;
  const x = tf.tensor4d(shard.lr, [shard.n, p, p, 3]);
  const y = tf.tensor4d(shard.hr, [shard.n, p * s, p * s, 3]);
  try {
    return tf.variableGrads(() => {
      const diff = tf.sub(net.forward(x), y);
      return (
        cfg.loss === 'l1' ? tf.mean(tf.abs(diff)) : tf.mean(tf.sqrt(tf.add(tf.square(diff), CHARBONNIER_EPS ** 2)))
      ) as tf.Scalar;
    }, [...net.params.values()]);
  } finally {
    tf.dispose([x, y]);
  }
}

/** Splits a batch into `parts` shards of near-equal size (the first ones one larger). */
export function splitBatch(lr: Float32Array, hr: Float32Array, batch: number, parts: number): Shard[] {
  const k = Math.max(1, Math.min(parts, batch));
  const lrPer = lr.length / batch;
  const hrPer = hr.length / batch;
  const shards: Shard[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const n = Math.floor(batch / k) + (i < batch % k ? 1 : 0);
    shards.push({
      n,
      lr: lr.slice(start * lrPer, (start + n) * lrPer),
      hr: hr.slice(start * hrPer, (start + n) * hrPer),
    });
    start += n;
  }
  return shards;
}
