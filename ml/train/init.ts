/**
 * Starting a run from a trained model (train --init): which of its weights a run can take, and the
 * one sentence that says why a model does not fit. A model of the same shape and activation fits;
 * at another scale every layer but the upsampler (`up.0`, whose output channels are 3·scale²) is
 * taken, and the upsampler starts as the run's own seed makes it.
 */
import { initialWeights, type NetworkConfig } from '../network.ts';
import type { TrainInit } from './config.ts';

export { initMismatch } from './init-mismatch.ts';

/** The layers whose shapes depend on the scale. */
const UPSAMPLER = /^up\.0\./;

/**
 * The run's initial weights from a model that fits (initMismatch said nothing): all of them at the
 * same scale; at another, every layer but the upsampler, which is `initialWeights(run, seed)`'s.
 */
export function initFromModel(
  model: { readonly config: NetworkConfig; readonly weights: ReadonlyMap<string, Float32Array> },
  run: NetworkConfig,
  seed: number,
): { weights: Map<string, Float32Array>; loaded: TrainInit['loaded'] } {
  if (model.config.scale === run.scale)
    return { weights: new Map([...model.weights].map(([k, v]) => [k, v.slice()])), loaded: 'all' };
  const weights = initialWeights(run, seed);
  for (const [k, v] of model.weights) if (!UPSAMPLER.test(k)) weights.set(k, v.slice());
  return { weights, loaded: 'all but the upsampler' };
}
