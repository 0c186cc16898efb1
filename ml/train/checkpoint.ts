import { parameterShapes } from '../network.ts';
import { decodeSafeTensors, encodeSafeTensors, type SafeTensor } from '../safetensors.ts';
import { errors } from '../errors.ts';
import { parseTrainConfig, type TrainConfig } from './config.ts';

/**
 * A checkpoint is one .safetensors file: the weights (`model.*`, PyTorch layout), the optimizer
 * moments (`adam.m.*`, `adam.v.*`, flat), the EMA weights when used (`ema.*`), and in the metadata
 * everything else a resumed run needs: iteration, RNG state, optimizer step, LR scale, best score.
 */
export interface CheckpointState {
  readonly iteration: number;
  readonly rng: readonly number[];
  readonly adamStep: number;
  /** Multiplier on the schedule, lowered after non-finite steps. */
  readonly lrScale: number;
  readonly best: { readonly iteration: number; readonly psnrY: number; readonly ssimY: number } | null;
  readonly elapsedMs: number;
  readonly config: TrainConfig;
}

export interface Checkpoint {
  readonly state: CheckpointState;
  readonly weights: Map<string, Float32Array>;
  readonly adam: Map<string, Float32Array>;
  readonly ema?: Map<string, Float32Array> | undefined;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  const shapes = parameterShapes(c.state.config.network);
  for (const { name, shape } of shapes) tensors.set(`model.${name}`, { shape, data: c.weights.get(name)! });
  if (c.ema) for (const { name, shape } of shapes) tensors.set(`ema.${name}`, { shape, data: c.ema.get(name)! });
  for (const [name, data] of c.adam) tensors.set(`adam.${name}`, { shape: [data.length], data });
  return encodeSafeTensors(tensors, { format: 'sr-studio-checkpoint/1', state: JSON.stringify(c.state) });
}

export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  let parsed;
  try {
    parsed = decodeSafeTensors(bytes);
  } catch (e) {
    throw errors.badWeights(file, (e as Error).message);
  }
  if (parsed.metadata.format !== 'sr-studio-checkpoint/1' || !parsed.metadata.state) {
    throw errors.badWeights(file, 'it is not an SR Studio checkpoint');
  }
  const raw = JSON.parse(parsed.metadata.state) as CheckpointState;
  const state: CheckpointState = { ...raw, config: parseTrainConfig(raw.config) };
  const weights = new Map<string, Float32Array>();
  const adam = new Map<string, Float32Array>();
  let ema: Map<string, Float32Array> | undefined;
  for (const [name, t] of parsed.tensors) {
    if (name.startsWith('model.')) weights.set(name.slice(6), t.data);
    else if (name.startsWith('adam.')) adam.set(name.slice(5), t.data);
    else if (name.startsWith('ema.')) (ema ??= new Map()).set(name.slice(4), t.data);
  }
  for (const { name } of parameterShapes(state.config.network)) {
    if (!weights.has(name)) throw errors.weightsMismatch(file, `the tensor model.${name} is missing`);
  }
  return { state, weights, adam, ema };
}
