import * as tf from '@tensorflow/tfjs-core';
import { conv3x3 } from './conv.ts';
import { ACTIVATIONS, isActivationName, type ActivationName } from './activations.ts';
import { errors } from './errors.ts';
import { PRESETS, type PresetName } from './presets.ts';
import { Rng } from './random.ts';

export { PRESETS, PRESET_NAMES, isPresetName, presetOf, type PresetName } from './presets.ts';

/**
 * The residual-in-residual super-resolution network:
 *   head conv → G groups of B residual blocks (conv–act–conv + skip), each group closed by a conv
 *   and a group skip → body conv + long skip → upsampler conv + pixel shuffle
 *   → plus the bilinearly interpolated input (global skip).
 *
 * Parameters carry PyTorch's names (`head.weight`, `body.0.body.1.c2.bias`, `up.0.weight`, …) so
 * weights files load into the PyTorch module of the same shape. In memory, conv weights are
 * tfjs's HWIO; the weights file stores PyTorch's OIHW.
 */
export const SCALES = [2, 3, 4] as const;
export type Scale = (typeof SCALES)[number];

export interface NetworkConfig {
  readonly scale: Scale;
  readonly features: number;
  readonly groups: number;
  readonly blocks: number;
  readonly activation: ActivationName;
}

export function isScale(n: unknown): n is Scale {
  return typeof n === 'number' && (SCALES as readonly number[]).includes(n);
}

export function presetConfig(preset: PresetName, scale: Scale, activation: ActivationName): NetworkConfig {
  return { ...PRESETS[preset], scale, activation };
}

const intIn = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Checks an untrusted value (a file's metadata, an IPC payload) and returns a config. */
export function parseNetworkConfig(v: unknown): NetworkConfig {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const bad = (what: string) => errors.badArgument(`The network configuration has ${what}.`);
  if (!isScale(o.scale)) throw bad(`an unsupported scale ${JSON.stringify(o.scale)} (use 2, 3 or 4)`);
  if (!intIn(o.features, 1, 512)) throw bad(`an invalid feature count ${JSON.stringify(o.features)}`);
  if (!intIn(o.groups, 1, 64)) throw bad(`an invalid group count ${JSON.stringify(o.groups)}`);
  if (!intIn(o.blocks, 1, 64)) throw bad(`an invalid block count ${JSON.stringify(o.blocks)}`);
  if (!isActivationName(o.activation)) throw bad(`an unknown activation ${JSON.stringify(o.activation)}`);
  return { scale: o.scale, features: o.features, groups: o.groups, blocks: o.blocks, activation: o.activation };
}

/** One conv layer's parameter names and PyTorch (OIHW) shapes. */
export interface ConvSpec {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /**
   * Initial weight scale on top of Kaiming: residual-branch convs start at 0.1, and the upsampler at
   * 0.01, so the untrained network's output is the bilinear skip plus a little, not plus noise.
   */
  readonly init: number;
}

export function convSpecs(c: NetworkConfig): ConvSpec[] {
  const f = c.features;
  const specs: ConvSpec[] = [{ name: 'head', cin: 3, cout: f, init: 1 }];
  for (let g = 0; g < c.groups; g++) {
    for (let b = 0; b < c.blocks; b++) {
      specs.push({ name: `body.${g}.body.${b}.c1`, cin: f, cout: f, init: 1 });
      specs.push({ name: `body.${g}.body.${b}.c2`, cin: f, cout: f, init: 0.1 });
    }
    specs.push({ name: `body.${g}.body.${c.blocks}`, cin: f, cout: f, init: 0.1 });
  }
  specs.push({ name: `body.${c.groups}`, cin: f, cout: f, init: 0.1 });
  specs.push({ name: 'up.0', cin: f, cout: 3 * c.scale * c.scale, init: 0.01 });
  return specs;
}

/** Every parameter's name and PyTorch shape, in PyTorch's state_dict order. */
export function parameterShapes(c: NetworkConfig): Array<{ name: string; shape: number[] }> {
  return convSpecs(c).flatMap((s) => [
    { name: `${s.name}.weight`, shape: [s.cout, s.cin, 3, 3] },
    { name: `${s.name}.bias`, shape: [s.cout] },
  ]);
}

/** Receptive radius in input pixels: one per 3×3 conv, plus one for the bilinear skip. */
export function receptiveRadius(c: NetworkConfig): number {
  return convSpecs(c).length + 1;
}

export function parameterCount(c: NetworkConfig): number {
  return parameterShapes(c).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Rearranges [n, h, w, c·r²] to [n, h·r, w·r, c] in PyTorch's PixelShuffle channel order. */
export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const co = c / (r * r);
  return tf.tidy(() =>
    tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, co, r, r]), [0, 1, 4, 2, 5, 3]), [n, h * r, w * r, co]),
  );
}

/** Initial parameters from a seed: Kaiming-normal weights (× each conv's init scale), zero biases. */
export function initialWeights(c: NetworkConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const s of convSpecs(c)) {
    const std = Math.sqrt(2 / (9 * s.cin)) * s.init;
    const w = new Float32Array(9 * s.cin * s.cout);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    out.set(`${s.name}.weight`, w); // OIHW
    out.set(`${s.name}.bias`, new Float32Array(s.cout));
  }
  return out;
}

/** OIHW ↔ HWIO for a 3×3 kernel. */
export function oihwToHwio(w: Float32Array, cout: number, cin: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++) for (let k = 0; k < 9; k++) out[(k * cin + i) * cout + o] = w[(o * cin + i) * 9 + k]!;
  return out;
}

export function hwioToOihw(w: Float32Array, cout: number, cin: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++) for (let k = 0; k < 9; k++) out[(o * cin + i) * 9 + k] = w[(k * cin + i) * cout + o]!;
  return out;
}

/** A variable that owns its value: the initial tensor is released once copied in. */
function toVariable(t: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** The feature maps `Network.forward` can tap, in order: the head conv's output, then each residual block's activation output. */
export function tapNames(c: NetworkConfig): string[] {
  const names = ['head'];
  for (let g = 0; g < c.groups; g++) for (let b = 0; b < c.blocks; b++) names.push(`body.${g}.body.${b}.act`);
  return names;
}

export class Network {
  readonly config: NetworkConfig;
  /** Trainable variables by PyTorch name; conv weights in HWIO. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly #specs: ConvSpec[];
  #disposed = false;

  /** `weights` are PyTorch-layout (OIHW) arrays by name, e.g. from initialWeights or a weights file. */
  constructor(config: NetworkConfig, weights: ReadonlyMap<string, Float32Array>, trainable = true) {
    this.config = config;
    this.#specs = convSpecs(config);
    const params = new Map<string, tf.Variable>();
    for (const s of this.#specs) {
      const w = weights.get(`${s.name}.weight`);
      const b = weights.get(`${s.name}.bias`);
      if (!w || !b) throw new Error(`missing parameter ${s.name}`);
      params.set(
        `${s.name}.weight`,
        toVariable(tf.tensor4d(oihwToHwio(w, s.cout, s.cin), [3, 3, s.cin, s.cout]), trainable),
      );
      params.set(`${s.name}.bias`, toVariable(tf.tensor1d(b), trainable));
    }
    this.params = params;
  }

  static create(config: NetworkConfig, seed = 0): Network {
    return new Network(config, initialWeights(config, seed));
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  #conv(name: string, x: tf.Tensor4D): tf.Tensor4D {
    return conv3x3(x, this.params.get(`${name}.weight`) as tf.Tensor4D, this.params.get(`${name}.bias`) as tf.Tensor1D);
  }

  /**
   * x: [n, h, w, 3] in [0, 1] → [n, h·s, w·s, 3]. The caller owns the result. Intermediates are
   * released block by block, so inference holds a few feature maps at a time; under gradient
   * recording tfjs keeps its own copies of what the backward pass needs.
   *
   * `taps`: the feature maps named by `tapNames(config)` (the head conv's output and each residual
   * block's activation output) are also put in this map, kept for the caller, who disposes them.
   */
  forward(x: tf.Tensor4D, opts: { taps?: Map<string, tf.Tensor4D> } = {}): tf.Tensor4D {
    if (this.#disposed) throw new Error('network was disposed');
    const c = this.config;
    const activation = ACTIVATIONS[c.activation];
    const taps = opts.taps;
    const tap = <T extends tf.Tensor4D>(name: string, t: T): T => {
      if (taps) taps.set(name, tf.keep(t.clone()));
      return t;
    };
    const act = (name: string, t: tf.Tensor4D) => tap(`${name}.act`, activation(t) as tf.Tensor4D);
    /** Replaces `prev` by `next`, releasing `prev` unless it must be kept. */
    const step = (prev: tf.Tensor4D, keep: tf.Tensor4D, f: () => tf.Tensor4D) => {
      const next = tf.tidy(f);
      if (prev !== keep) prev.dispose();
      return next;
    };
    const h = tf.tidy(() => tap('head', this.#conv('head', x)));
    let group = h;
    for (let g = 0; g < c.groups; g++) {
      let y = group;
      for (let b = 0; b < c.blocks; b++) {
        const p = `body.${g}.body.${b}`;
        const yIn = y;
        y = step(y, group, () => tf.add<tf.Tensor4D>(yIn, this.#conv(`${p}.c2`, act(p, this.#conv(`${p}.c1`, yIn)))));
      }
      const groupIn = group;
      const yOut = y;
      const next = tf.tidy(() => tf.add<tf.Tensor4D>(groupIn, this.#conv(`body.${g}.body.${c.blocks}`, yOut)));
      if (yOut !== group) yOut.dispose();
      if (group !== h) group.dispose();
      group = next;
    }
    const last = group;
    const body = tf.tidy(() => tf.add<tf.Tensor4D>(h, this.#conv(`body.${c.groups}`, last)));
    if (last !== h) last.dispose();
    h.dispose();
    const out = tf.tidy(() => {
      const up = pixelShuffle(this.#conv('up.0', body), c.scale);
      const [, ih, iw] = x.shape;
      return tf.add<tf.Tensor4D>(up, tf.image.resizeBilinear(x, [ih * c.scale, iw * c.scale], false, true));
    });
    body.dispose();
    return out;
  }

  get receptiveRadius(): number {
    return receptiveRadius(this.config);
  }

  /** PyTorch-layout (OIHW) copies of every parameter, for saving. */
  async weights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const s of this.#specs) {
      const w = (await this.params.get(`${s.name}.weight`)!.data()) as Float32Array;
      out.set(`${s.name}.weight`, hwioToOihw(w, s.cout, s.cin));
      out.set(`${s.name}.bias`, Float32Array.from((await this.params.get(`${s.name}.bias`)!.data()) as Float32Array));
    }
    return out;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of this.params.values()) v.dispose();
  }
}
