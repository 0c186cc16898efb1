import { isActivationName } from '../activations.ts';
import { DEGRADE_NAMES, isDegradeName, type DegradeName } from '../degrade.ts';
import { errors } from '../errors.ts';
import { INIT_LR } from './init-mismatch.ts';
import {
  DEFAULT_ADV_WEIGHT,
  DEFAULT_LR,
  defaultLearningRate,
  isObjective,
  OBJECTIVES,
  PERCEPTUAL_LR,
  type Objective,
} from './objective.ts';
import { SETTING_RANGES } from './ranges.ts';
import {
  isPresetName,
  parseNetworkConfig,
  presetConfig,
  presetOf,
  type NetworkConfig,
  type PresetName,
} from '../network.ts';

/**
 * One typed, validated configuration per training run; it is copied into the run folder and into
 * every checkpoint, so a run can be resumed, compared and reproduced from it alone.
 */
export interface TrainConfig {
  readonly network: NetworkConfig;
  readonly preset?: PresetName | undefined;
  readonly iterations: number;
  readonly batch: number;
  /** LR patch side; the HR patch is patch × scale. */
  readonly patch: number;
  /** Peak learning rate (Adam). */
  readonly lr: number;
  readonly warmup: number;
  /** The cosine decay ends at lr × minLrRatio. */
  readonly minLrRatio: number;
  /** Gradient-norm clipping threshold (global L2 norm). */
  readonly clipNorm: number;
  /** EMA decay of the weights used for validation and export; 0 turns it off. */
  readonly emaDecay: number;
  readonly loss: 'l1' | 'charbonnier';
  readonly seed: number;
  readonly augment: boolean;
  /** How training LR inputs are made: `none` (clean bicubic) or a preset of ml/degrade.ts. */
  readonly degrade: DegradeName;
  readonly valEvery: number;
  readonly previewEvery: number;
  readonly checkpointEvery: number;
  readonly keepCheckpoints: number;
  /** Validation images are centre-cropped to at most this many HR pixels a side (0: whole). */
  readonly valMaxSide: number;
  /** The trained model the run's weights started from (train --init); absent: from scratch. */
  readonly init?: TrainInit | undefined;
  /**
   * What the network is trained for: pixel error alone (`pixel`, L1 or Charbonnier), or that plus
   * an adversarial loss from a discriminator trained beside it (`perceptual`), for crisper edges
   * and texture at some cost in PSNR. Absent in configs saved before it existed: pixel.
   */
  readonly objective: Objective;
  /** The adversarial loss's weight beside the pixel loss's 1 (perceptual runs only). */
  readonly advWeight?: number | undefined;
}

export { DEFAULT_ADV_WEIGHT, DEFAULT_LR, isObjective, OBJECTIVES, PERCEPTUAL_LR, type Objective };

/**
 * A perceptual run's HR patch side must be a multiple of this: the discriminator halves the
 * resolution three times (ml/onnx/discriminator.ts).
 */
export const PERCEPTUAL_PATCH_MULTIPLE = 8;

/** Where a run started from a trained model: its name or path, and how much of it was loaded. */
export interface TrainInit {
  /** A bundled or user model's name, or a weights file's absolute path. */
  readonly model: string;
  /** Another scale loads every layer but the upsampler, whose shape depends on the scale. */
  readonly loaded: 'all' | 'all but the upsampler';
  /** SHA-256 of the weights file, in hex. */
  readonly sha256?: string | undefined;
}

export const INIT_LOADED = ['all', 'all but the upsampler'] as const;

export { INIT_LR };

/** ε of the Charbonnier loss √(d² + ε²) (`--loss charbonnier`). */
export const CHARBONNIER_EPS = 1e-3;

/** Defaults; valEvery and previewEvery are the caps of the per-run cadence (about 10 and 20 a run). */
export const TRAIN_DEFAULTS = {
  iterations: 2000,
  batch: 16,
  patch: 32,
  warmup: 100,
  minLrRatio: 0.05,
  clipNorm: 1,
  emaDecay: 0,
  loss: 'l1',
  seed: 0,
  augment: true,
  degrade: 'none',
  objective: 'pixel',
  valEvery: 250,
  previewEvery: 100,
  checkpointEvery: 250,
  keepCheckpoints: 3,
  valMaxSide: 0,
} as const;

export { SETTING_RANGES };

type Input = Partial<Omit<TrainConfig, 'network' | 'degrade' | 'init' | 'objective' | 'advWeight'>> & {
  degrade?: unknown;
  objective?: unknown;
  advWeight?: unknown;
  init?: unknown;
  network?: unknown;
  preset?: unknown;
  scale?: unknown;
  activation?: unknown;
};

/** Fills defaults and checks every field; throws a user error naming the bad one. */
export function makeTrainConfig(input: Input): TrainConfig {
  let network: NetworkConfig;
  if (input.network !== undefined) network = parseNetworkConfig(input.network);
  else {
    const preset = input.preset ?? 'tiny';
    if (!isPresetName(preset))
      throw errors.badArgument(`Unknown preset ${JSON.stringify(preset)}; use tiny, light or standard.`);
    const activation = input.activation ?? 'tanhexp';
    if (!isActivationName(activation))
      throw errors.badArgument(`Unknown activation ${JSON.stringify(activation)}; use tanhexp, swish, mish or relu.`);
    network = parseNetworkConfig(presetConfig(preset, (input.scale ?? 2) as 2, activation));
  }
  const d = TRAIN_DEFAULTS;
  const objective = input.objective ?? d.objective;
  if (!isObjective(objective))
    throw errors.badArgument(`Unknown objective ${JSON.stringify(objective)}; use ${OBJECTIVES.join(' or ')}.`);
  const perceptual = objective === 'perceptual';
  if (!perceptual && input.advWeight !== undefined)
    throw errors.badArgument('The training setting advWeight applies to the perceptual objective only.');
  const defaultLr = defaultLearningRate(network.activation, { init: input.init != null, objective });
  const cfg: TrainConfig = {
    network,
    preset: presetOf(network),
    iterations: int('iterations', input.iterations ?? d.iterations, ...SETTING_RANGES.iterations),
    batch: int('batch', input.batch ?? d.batch, ...SETTING_RANGES.batch),
    patch: int('patch', input.patch ?? d.patch, ...SETTING_RANGES.patch),
    lr: num('lr', input.lr ?? defaultLr, ...SETTING_RANGES.lr),
    warmup: int('warmup', input.warmup ?? d.warmup, 0, 10_000_000),
    minLrRatio: num('minLrRatio', input.minLrRatio ?? d.minLrRatio, 0, 1),
    clipNorm: num('clipNorm', input.clipNorm ?? d.clipNorm, 1e-6, 1e6),
    emaDecay: num('emaDecay', input.emaDecay ?? d.emaDecay, ...SETTING_RANGES.emaDecay),
    loss:
      input.loss === 'charbonnier'
        ? 'charbonnier'
        : input.loss === undefined || input.loss === 'l1'
          ? 'l1'
          : bad('loss', input.loss),
    seed: int('seed', input.seed ?? d.seed, ...SETTING_RANGES.seed),
    augment: input.augment ?? d.augment,
    degrade: degradeName(input.degrade ?? d.degrade),
    valEvery: int(
      'valEvery',
      input.valEvery ?? cadence(input.iterations ?? d.iterations, 10, d.valEvery),
      ...SETTING_RANGES.valEvery,
    ),
    previewEvery: int(
      'previewEvery',
      input.previewEvery ?? cadence(input.iterations ?? d.iterations, 20, d.previewEvery),
      1,
      10_000_000,
    ),
    checkpointEvery: int('checkpointEvery', input.checkpointEvery ?? d.checkpointEvery, 1, 10_000_000),
    keepCheckpoints: int('keepCheckpoints', input.keepCheckpoints ?? d.keepCheckpoints, 1, 1000),
    valMaxSide: int('valMaxSide', input.valMaxSide ?? d.valMaxSide, ...SETTING_RANGES.valMaxSide),
    ...(input.init != null ? { init: trainInit(input.init) } : {}),
    objective,
    ...(perceptual
      ? { advWeight: num('advWeight', input.advWeight ?? DEFAULT_ADV_WEIGHT, ...SETTING_RANGES.advWeight) }
      : {}),
  };
  const side = cfg.patch * network.scale;
  if (perceptual && side % PERCEPTUAL_PATCH_MULTIPLE !== 0)
    throw errors.badArgument(
      `A perceptual run needs an HR patch (patch × scale) that is a multiple of ${PERCEPTUAL_PATCH_MULTIPLE}, not ${cfg.patch} × ${network.scale} = ${side}.`,
      'patch',
    );
  return cfg;
}

/** Reads a config back from JSON (a run folder or a checkpoint). */
export function parseTrainConfig(v: unknown): TrainConfig {
  if (typeof v !== 'object' || v === null) throw errors.badArgument('The training configuration is not an object.');
  return makeTrainConfig(v as Input);
}

/** About `times` validations (or previews) per run, at most every `most` iterations, at least every 10. */
function cadence(iterations: unknown, times: number, most: number): number {
  const n = typeof iterations === 'number' && iterations > 0 ? iterations : 1;
  return Math.min(most, Math.max(Math.min(10, n), Math.round(n / times)));
}

function trainInit(v: unknown): TrainInit {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const { model, loaded, sha256 } = o;
  if (typeof model !== 'string' || model === '' || model.length > 4096) bad('init.model', model);
  if (!(INIT_LOADED as readonly unknown[]).includes(loaded)) bad('init.loaded', loaded);
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)))
    bad('init.sha256', sha256);
  return {
    model: model as string,
    loaded: loaded as TrainInit['loaded'],
    ...(sha256 !== undefined ? { sha256: sha256 as string } : {}),
  };
}

function degradeName(v: unknown): DegradeName {
  if (isDegradeName(v)) return v;
  throw errors.badArgument(`Unknown degradation ${JSON.stringify(v)}; use ${DEGRADE_NAMES.join(', ')}.`);
}

function bad(name: string, v: unknown, range?: readonly [number, number], whole = false): never {
  const want = range
    ? ` must be ${whole ? 'a whole number' : 'a number'} from ${range[0]} to ${range[1]}`
    : ' has an invalid value';
  throw errors.badArgument(`The training setting ${name}${want}, not ${JSON.stringify(v)}.`);
}
function num(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) bad(name, v, [lo, hi]);
  return v as number;
}
function int(name: string, v: unknown, lo: number, hi: number): number {
  if (!Number.isInteger(v)) bad(name, v, [lo, hi], true);
  return num(name, v, lo, hi);
}

/**
 * Warm-up (linear from lr/warmup) then cosine decay to lr × minLrRatio at the last iteration.
 * `iteration` is the 0-based step index: the last step is iterations − 1.
 */
export function learningRateAt(cfg: TrainConfig, iteration: number): number {
  if (iteration < cfg.warmup) return (cfg.lr * (iteration + 1)) / cfg.warmup;
  const span = Math.max(1, cfg.iterations - 1 - cfg.warmup);
  const t = Math.min(1, (iteration - cfg.warmup) / span);
  const floor = cfg.lr * cfg.minLrRatio;
  return floor + (cfg.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** A short name for the run's folder that encodes its settings. */
export function runName(cfg: TrainConfig): string {
  const n = cfg.network;
  const shape = cfg.preset ?? `f${n.features}g${n.groups}b${n.blocks}`;
  const degrade = cfg.degrade === 'none' ? '' : `_${cfg.degrade}`;
  const objective = cfg.objective === 'pixel' ? '' : `_${cfg.objective}`;
  return `${shape}_x${n.scale}_${n.activation}${degrade}${objective}_p${cfg.patch}b${cfg.batch}_it${cfg.iterations}_s${cfg.seed}`;
}
