/**
 * Whether a trained model can start a run (train --init, the Train view's "Start from"), in one
 * sentence when it cannot. Free of tfjs, so the user interface says it as the CLI does;
 * also the lower default learning rate such a run gets.
 */
import type { NetworkConfig } from '../network.ts';
import { presetOf } from '../presets.ts';

/**
 * The default peak learning rate of a run that starts from a trained model, for every activation:
 * a quarter to a fifth of the from-scratch rates, since the weights are already near a good
 * solution and the full rate first undoes part of what they learned.
 */
export const INIT_LR = 1e-4;

type Shape = Pick<NetworkConfig, 'features' | 'groups' | 'blocks' | 'activation'>;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "16 features in 1 group of 3 blocks (tiny)". */
function shapeOf(c: Shape): string {
  const preset = presetOf(c);
  return `${plural(c.features, 'feature')} in ${plural(c.groups, 'group')} of ${plural(c.blocks, 'block')}${preset ? ` (${preset})` : ''}`;
}

/** "light (32 features, 3 groups of 4 blocks)". */
function runShape(c: Shape): string {
  const shape = `${plural(c.features, 'feature')}, ${plural(c.groups, 'group')} of ${plural(c.blocks, 'block')}`;
  const preset = presetOf(c);
  return preset ? `${preset} (${shape})` : `a custom network (${shape})`;
}

/**
 * Why the model named `name` cannot start a run of `run`'s network, in one sentence; undefined
 * when it can (the scale may differ).
 */
export function initMismatch(name: string, model: Shape, run: Shape): string | undefined {
  const shape = model.features !== run.features || model.groups !== run.groups || model.blocks !== run.blocks;
  const act = model.activation !== run.activation;
  if (!shape && !act) return undefined;
  if (shape && act) {
    return `${name} has ${shapeOf(model)} and uses ${model.activation}, but this run is ${runShape(run)} with ${run.activation}; pick a model of the same preset and activation, or start from scratch.`;
  }
  if (shape)
    return `${name} has ${shapeOf(model)}, but this run is ${runShape(run)}; pick a model of the same preset, or start from scratch.`;
  return `${name} uses ${model.activation}, but this run uses ${run.activation}; pick a model with the same activation, or start from scratch.`;
}
