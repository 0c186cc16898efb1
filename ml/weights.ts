import { isActivationName } from './activations.ts';
import { errors } from './errors.ts';
import { parameterShapes, parseNetworkConfig, type NetworkConfig } from './network.ts';
import { decodeSafeTensors, encodeSafeTensors, type SafeTensor } from './safetensors.ts';

/**
 * SR Studio weights files: .safetensors with PyTorch names and layouts (OIHW conv weights), so a file
 * loads into the PyTorch module of the same shape with load_state_dict(strict=True). `__metadata__`
 * holds the architecture config, activation, scale and a training summary, each a string.
 */
export const WEIGHTS_FORMAT = 'sr-studio/1';

export interface TrainingSummary {
  /** The iteration these weights are from (a run keeps its best validation's). */
  readonly iterations?: number;
  /** How many iterations the run had trained when it last stopped or finished. */
  readonly trainedIterations?: number;
  readonly data?: string;
  /** The validation photos the scores below are on (absent: a held-out share of `data`, or not recorded). */
  readonly val?: string;
  readonly valPsnrY?: number;
  readonly valSsimY?: number;
  readonly bicubicPsnrY?: number;
  readonly backend?: string;
  readonly seconds?: number;
  readonly command?: string;
  /** The run's `degrade` setting (absent in files written before it existed: none). */
  readonly degrade?: string;
  /** The degradations' ranges when the model was trained (`describeDegrade`), when not none. */
  readonly degradations?: string;
  /**
   * What the run trained it for (ml/train/objective.ts): `perceptual` (sharp: an adversarial loss
   * beside the pixel loss), or `pixel` (faithful), which files leave out, as those written before it did.
   */
  readonly objective?: string;
  /** The adversarial loss's weight of a perceptual run. */
  readonly advWeight?: number;
  /** The detail measure on the validation photos (ml/metrics.ts): mean |∇Y| of the output over the ground truth's. */
  readonly valDetail?: number;
  /** The model the run started from (train --init): its name or path, what was loaded, its SHA-256. */
  readonly init?: { readonly model: string; readonly loaded: string; readonly sha256?: string };
  /**
   * Scores on the validation photos with the LR saved as JPEG, by quality ("75", "90"), beside
   * bicubic on the same input; written when a model is published (scripts/model-card.ts).
   */
  readonly jpeg?: Readonly<
    Record<string, { readonly psnrY: number; readonly ssimY: number; readonly bicubicPsnrY: number }>
  >;
  readonly [k: string]: unknown;
}

export interface ModelFile {
  readonly config: NetworkConfig;
  /** PyTorch-layout (OIHW) arrays by parameter name. */
  readonly weights: ReadonlyMap<string, Float32Array>;
  readonly training?: TrainingSummary | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

export function encodeModel(
  config: NetworkConfig,
  weights: ReadonlyMap<string, Float32Array>,
  training?: TrainingSummary,
): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  for (const { name, shape } of parameterShapes(config)) {
    const data = weights.get(name);
    if (!data) throw new Error(`missing parameter ${name}`);
    tensors.set(name, { shape, data });
  }
  const metadata: Record<string, string> = {
    format: WEIGHTS_FORMAT,
    arch: 'rir',
    config: JSON.stringify(config),
    activation: config.activation,
    scale: String(config.scale),
  };
  if (training) metadata.training = JSON.stringify(training);
  return encodeSafeTensors(tensors, metadata);
}

/**
 * Reads a weights file and checks every name, shape and dtype against its config (from the
 * metadata, or inferred from the shapes for files written elsewhere, which must then name the
 * activation). `file` names the file in error messages. `expect` pins properties the caller needs.
 */
export function decodeModel(bytes: Uint8Array, file: string, expect: Partial<NetworkConfig> = {}): ModelFile {
  let parsed;
  try {
    parsed = decodeSafeTensors(bytes);
  } catch (e) {
    throw errors.badWeights(file, (e as Error).message);
  }
  const { tensors, metadata } = parsed;
  let config: NetworkConfig;
  try {
    config = metadata.config ? parseNetworkConfig(JSON.parse(metadata.config)) : inferConfig(tensors, metadata);
  } catch (e) {
    throw errors.badWeights(file, (e as Error).message.replace(/\.$/, ''));
  }
  for (const key of ['scale', 'activation', 'features', 'groups', 'blocks'] as const) {
    if (expect[key] !== undefined && expect[key] !== config[key]) {
      throw errors.weightsMismatch(file, `it has ${key} ${config[key]} where ${expect[key]} is needed`);
    }
  }
  const expected = parameterShapes(config);
  const weights = new Map<string, Float32Array>();
  for (const { name, shape } of expected) {
    const t = tensors.get(name);
    if (!t) throw errors.weightsMismatch(file, `the tensor ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw errors.weightsMismatch(file, `${name} has shape [${t.shape}] where [${shape}] is expected`);
    }
    weights.set(name, t.data);
  }
  const extra = [...tensors.keys()].find((k) => !weights.has(k));
  if (extra) throw errors.weightsMismatch(file, `it has an unexpected tensor ${extra}`);
  let training: TrainingSummary | undefined;
  try {
    training = metadata.training ? (JSON.parse(metadata.training) as TrainingSummary) : undefined;
  } catch {
    training = undefined;
  }
  return { config, weights, training, metadata };
}

function inferConfig(
  tensors: ReadonlyMap<string, SafeTensor>,
  metadata: Readonly<Record<string, string>>,
): NetworkConfig {
  const head = tensors.get('head.weight');
  const up = tensors.get('up.0.weight');
  if (!head || !up) throw new Error('it has no head.weight or up.0.weight tensor');
  let groups = 0;
  while (tensors.has(`body.${groups}.body.0.c1.weight`)) groups++;
  let blocks = 0;
  while (tensors.has(`body.0.body.${blocks}.c1.weight`)) blocks++;
  const scale = Math.round(Math.sqrt((up.shape[0] ?? 0) / 3));
  const activation = metadata.activation;
  if (!isActivationName(activation)) throw new Error('its metadata does not name the activation');
  return parseNetworkConfig({ scale, features: head.shape[0], groups, blocks, activation });
}
