import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initialWeights, Network } from '../network.ts';
import { parseTrainConfig } from '../train/config.ts';
import { lossAndGrads } from '../train/shards.ts';
import { initBackend } from './backends.ts';
import type { GradRequest, GradResponse } from './grad-workers.ts';

/** A helper thread of data-parallel training: computes one shard's loss and gradients per request. */
let net: Network | undefined;
let config: ReturnType<typeof parseTrainConfig> | undefined;

const port = parentPort!;
port.on('message', async (m: GradRequest) => {
  try {
    if (m.type === 'init') {
      await initBackend(m.backend, 'train');
      config = parseTrainConfig(m.config);
      net = new Network(config.network, initialWeights(config.network, 0));
      port.postMessage({ type: 'ready' } satisfies GradResponse);
      return;
    }
    const n = net!;
    tf.tidy(() => {
      for (const [name, v] of n.params) v.assign(tf.tensor(m.weights[name]!, v.shape));
    });
    const { value, grads } = lossAndGrads(n, config!, m.shard);
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of n.params) out[name] = (await grads[v.name]!.data()) as Float32Array;
    const loss = (await value.data())[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    port.postMessage(
      { type: 'grads', id: m.id, loss, grads: out } satisfies GradResponse,
      Object.values(out).map((a) => a.buffer as ArrayBuffer),
    );
  } catch (e) {
    port.postMessage({
      type: 'error',
      id: m.type === 'grads' ? m.id : -1,
      message: (e as Error).message,
    } satisfies GradResponse);
  }
});
