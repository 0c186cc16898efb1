import * as tf from '@tensorflow/tfjs-core';
import type { PatchBatch } from '../dataset.ts';
import type { Network } from '../network.ts';
import type { Adam } from './adam.ts';
import type { TrainConfig } from './config.ts';
import { lossAndGrads, splitBatch, type GradientHelpers, type Shard } from './shards.ts';
import { gradSquaredNorm } from './validation.ts';

/**
 * One optimisation step; returns ok: false (weights untouched) when anything is not finite. With
 * helpers, the batch is split into shards: this thread computes the first while the helpers compute
 * the rest at the same weights, and the size-weighted sum is the whole batch's gradient.
 */
export async function trainStep(
  net: Network,
  adam: Adam,
  batch: PatchBatch,
  cfg: TrainConfig,
  lr: number,
  helpers: GradientHelpers | undefined,
  maxLoss = Infinity,
): Promise<{ ok: boolean; loss: number; diverged?: boolean }> {
  const shards = splitBatch(batch.lr, batch.hr, cfg.batch, 1 + (helpers?.count ?? 0));
  const [own, ...rest] = shards as [Shard, ...Shard[]];
  const remote = rest.length && helpers ? helpers.compute(await variableData(net), rest) : Promise.resolve([]);
  const { value, grads } = lossAndGrads(net, cfg, own);
  const combined: Record<string, tf.Tensor> = {};
  try {
    const others = await remote;
    const w0 = own.n / cfg.batch;
    let loss = (await value.data())[0]! * w0;
    others.forEach((r, k) => (loss += r.loss * (rest[k]!.n / cfg.batch)));
    for (const [name, v] of net.params) {
      combined[v.name] = tf.tidy(() =>
        others.reduce(
          (acc, r, k) => tf.add(acc, tf.mul(tf.tensor(r.grads.get(name)!, v.shape), rest[k]!.n / cfg.batch)),
          tf.mul(grads[v.name]!, w0),
        ),
      );
    }
    const sq = gradSquaredNorm(combined);
    const sqNorm = (await sq.data())[0]!;
    sq.dispose();
    if (!Number.isFinite(loss) || !Number.isFinite(sqNorm)) return { ok: false, loss };
    if (loss > maxLoss) return { ok: false, loss, diverged: true };
    const norm = Math.sqrt(sqNorm);
    adam.apply(net.params, combined, lr, norm > cfg.clipNorm ? cfg.clipNorm / norm : 1);
    return { ok: true, loss };
  } finally {
    tf.dispose([value, ...Object.values(grads), ...Object.values(combined)]);
  }
}

/** Every parameter's current values, by name, in the variables' own layout. */
async function variableData(net: Network): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of net.params) out.set(name, (await v.data()) as Float32Array);
  return out;
}
