import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TrainConfig } from '../train/config.ts';
import type { GradientHelpers, Shard, ShardResult } from '../train/shards.ts';

/**
 * Data-parallel training on several CPU cores: tfjs's wasm backend runs one thread in Node, so
 * each helper is a worker thread with its own backend and network replica. Every step it receives
 * the current weights and one shard of the batch, and returns that shard's loss and gradients.
 */
export type GradRequest =
  | { type: 'init'; backend: string; config: TrainConfig }
  | { type: 'grads'; id: number; weights: Record<string, Float32Array>; shard: Shard };

export type GradResponse =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; grads: Record<string, Float32Array> }
  | { type: 'error'; id: number; message: string };

/** Helper threads worth starting for a CPU backend: one per core beyond the first. */
export function defaultThreads(backend: string): number {
  return backend === 'wasm' || backend === 'cpu' ? Math.max(0, os.availableParallelism() - 1) : 0;
}

export class GradientWorkers implements GradientHelpers {
  #workers: Worker[];
  #next = 0;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  get count(): number {
    return this.#workers.length;
  }

  static async start(count: number, backend: string, config: TrainConfig): Promise<GradientWorkers> {
    const workers = Array.from(
      { length: count },
      () => new Worker(new URL('./grad-worker-entry.mjs', import.meta.url)),
    );
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('error', reject);
              w.once('message', (m: GradResponse) =>
                m.type === 'ready' ? resolve() : reject(new Error(m.type === 'error' ? m.message : 'bad reply')),
              );
              w.postMessage({ type: 'init', backend, config } satisfies GradRequest);
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GradientWorkers(workers);
  }

  compute(weights: ReadonlyMap<string, Float32Array>, shards: readonly Shard[]): Promise<ShardResult[]> {
    const w = Object.fromEntries(weights);
    return Promise.all(
      shards.map((shard, k) => {
        const worker = this.#workers[k % this.#workers.length]!;
        const id = this.#next++;
        return new Promise<ShardResult>((resolve, reject) => {
          const onMessage = (m: GradResponse) => {
            if (m.type === 'ready' || m.id !== id) return;
            worker.off('message', onMessage);
            worker.off('error', reject);
            if (m.type === 'error') reject(new Error(`training helper thread: ${m.message}`));
            else resolve({ loss: m.loss, grads: new Map(Object.entries(m.grads)) });
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
          worker.postMessage({ type: 'grads', id, weights: w, shard } satisfies GradRequest);
        });
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers = [];
  }
}
