import { parameterShapes } from '../network.ts';
import { decodeSafeTensors, encodeSafeTensors, type SafeTensor } from '../safetensors.ts';
import { errors } from '../errors.ts';
import { parseTrainConfig, type TrainConfig } from './config.ts';
import { discLayers, discLayout, type DiscriminatorState } from './discriminator.ts';

/**
 * A checkpoint is one .safetensors file: the weights (`model.*`, PyTorch layout), the optimizer
 * moments (`adam.m.*`, `adam.v.*`, flat), the EMA weights when used (`ema.*`), a perceptual run's
 * discriminator (`disc.model.*` its weights before normalisation, `disc.u.*` its power-iteration
 * vectors, `disc.adam.m.*` and `disc.adam.v.*` its moments), and in the metadata everything else a
 * resumed run needs: iteration, RNG state, optimizer steps, LR scale, best score.
 */
export interface CheckpointState {
  readonly iteration: number;
  readonly rng: readonly number[];
  readonly adamStep: number;
  /** Multiplier on the schedule, lowered after non-finite steps. */
  readonly lrScale: number;
  readonly best: BestScores | null;
  readonly elapsedMs: number;
  readonly config: TrainConfig;
  /** The discriminator's Adam step (perceptual runs). */
  readonly discAdamStep?: number | undefined;
}

/** The validation whose weights are the run's model (ml/train/best.ts says which). */
export interface BestScores {
  readonly iteration: number;
  readonly psnrY: number;
  readonly ssimY: number;
  /** The detail measure (absent in checkpoints written before it was recorded). */
  readonly detail?: number | undefined;
}

export interface Checkpoint {
  readonly state: CheckpointState;
  readonly weights: Map<string, Float32Array>;
  readonly adam: Map<string, Float32Array>;
  readonly ema?: Map<string, Float32Array> | undefined;
  /** A perceptual run's discriminator (its Adam step is the state's discAdamStep). */
  readonly discriminator?: DiscriminatorState | undefined;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  const shapes = parameterShapes(c.state.config.network);
  for (const { name, shape } of shapes) tensors.set(`model.${name}`, { shape, data: c.weights.get(name)! });
  if (c.ema) for (const { name, shape } of shapes) tensors.set(`ema.${name}`, { shape, data: c.ema.get(name)! });
  for (const [name, data] of c.adam) tensors.set(`adam.${name}`, { shape: [data.length], data });
  const d = c.discriminator;
  if (d) {
    for (const e of discLayout(discLayers())) {
      tensors.set(`disc.model.${e.name}`, { shape: e.shape, data: d.weights.get(e.name)! });
      if (e.rows) tensors.set(`disc.u.${e.name}`, { shape: [e.rows], data: d.u.get(e.name)! });
    }
    for (const [name, data] of d.adam.moments) tensors.set(`disc.adam.${name}`, { shape: [data.length], data });
  }
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
  const disc = {
    weights: new Map<string, Float32Array>(),
    u: new Map<string, Float32Array>(),
    adam: new Map<string, Float32Array>(),
  };
  for (const [name, t] of parsed.tensors) {
    if (name.startsWith('model.')) weights.set(name.slice(6), t.data);
    else if (name.startsWith('adam.')) adam.set(name.slice(5), t.data);
    else if (name.startsWith('ema.')) (ema ??= new Map()).set(name.slice(4), t.data);
    else if (name.startsWith('disc.model.')) disc.weights.set(name.slice(11), t.data);
    else if (name.startsWith('disc.u.')) disc.u.set(name.slice(7), t.data);
    else if (name.startsWith('disc.adam.')) disc.adam.set(name.slice(10), t.data);
  }
  for (const { name } of parameterShapes(state.config.network)) {
    if (!weights.has(name)) throw errors.weightsMismatch(file, `the tensor model.${name} is missing`);
  }
  if (state.config.objective !== 'perceptual') return { state, weights, adam, ema };
  const needed = discLayout(discLayers()).flatMap((e) => [
    `disc.model.${e.name}`,
    ...(e.rows ? [`disc.u.${e.name}`] : []),
    `disc.adam.m.${e.name}`,
    `disc.adam.v.${e.name}`,
  ]);
  const missing = needed.find((k) => !parsed.tensors.has(k));
  if (missing) throw errors.weightsMismatch(file, `the discriminator's tensor ${missing} is missing`);
  const discriminator: DiscriminatorState = {
    weights: disc.weights,
    u: disc.u,
    adam: { step: state.discAdamStep ?? 0, moments: disc.adam },
  };
  return { state, weights, adam, ema, discriminator };
}
