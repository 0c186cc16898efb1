/**
 * Starting a run from a trained model (train --init): which of its weights a run can take, and the
 * one sentence that says why a model does not fit. A model of the same shape and activation fits;
 * at another scale every layer but the upsampler (`up.0`, whose output channels are 3·scale²) is
 * taken, and the upsampler starts as the run's own seed makes it.
 */
import { initialWeights, presetOf, type NetworkConfig } from '../network.ts';
import type { TrainInit } from './config.ts';

/** The layers whose shapes depend on the scale. */
const UPSAMPLER = /^up\.0\./;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "16 features in 1 group of 3 blocks (tiny)". */
function shapeOf(c: NetworkConfig): string {
  const preset = presetOf(c);
  return `${plural(c.features, 'feature')} in ${plural(c.groups, 'group')} of ${plural(c.blocks, 'block')}${preset ? ` (${preset})` : ''}`;
}

/** "light (32 features, 3 groups of 4 blocks)". */
function runShape(c: NetworkConfig): string {
  const shape = `${plural(c.features, 'feature')}, ${plural(c.groups, 'group')} of ${plural(c.blocks, 'block')}`;
  const preset = presetOf(c);
  return preset ? `${preset} (${shape})` : `a custom network (${shape})`;
}

/**
 * Why the model named `name` cannot start a run of `run`'s network, in one sentence; undefined
 * when it can (the scale may differ).
 */
export function initMismatch(name: string, model: NetworkConfig, run: NetworkConfig): string | undefined {
  const shape = model.features !== run.features || model.groups !== run.groups || model.blocks !== run.blocks;
  const act = model.activation !== run.activation;
  if (!shape && !act) return undefined;
  if (shape && act) {
    return `${name} has ${shapeOf(model)} and uses ${model.activation}, but this run is ${runShape(run)} with ${run.activation}; pick a model of the same preset and activation, or start from scratch.`;
  }
  if (shape) return `${name} has ${shapeOf(model)}, but this run is ${runShape(run)}; pick a model of the same preset, or start from scratch.`;
  return `${name} uses ${model.activation}, but this run uses ${run.activation}; pick a model with the same activation, or start from scratch.`;
}

/**
 * The run's initial weights from a model that fits (initMismatch said nothing): all of them at the
 * same scale; at another, every layer but the upsampler, which is `initialWeights(run, seed)`'s.
 */
export function initFromModel(
  model: { readonly config: NetworkConfig; readonly weights: ReadonlyMap<string, Float32Array> },
  run: NetworkConfig,
  seed: number,
): { weights: Map<string, Float32Array>; loaded: TrainInit['loaded'] } {
  if (model.config.scale === run.scale) return { weights: new Map([...model.weights].map(([k, v]) => [k, v.slice()])), loaded: 'all' };
  const weights = initialWeights(run, seed);
  for (const [k, v] of model.weights) if (!UPSAMPLER.test(k)) weights.set(k, v.slice());
  return { weights, loaded: 'all but the upsampler' };
}
