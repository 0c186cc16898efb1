import { Rng } from '../random.ts';
import type { AdamState } from './engine.ts';
import { spectralGrad, spectralStep, type SpectralStep } from './spectral-norm.ts';

/**
 * The discriminator of a perceptual run: a patch discriminator on HR patches [n, 3, H, H] that says,
 * for each region of about 36 pixels, how real it looks (a map of logits [n, 1, H/8, H/8]). Each
 * stage is a 3×3 conv (pad 1, stride 1), LeakyReLU(0.2) and a 2×2 average pool, widening 3 → 16 →
 * 32 → 64; a last 3×3 conv gives one logit per position. The inner convs' weights are spectrally
 * normalised (spectral-norm.ts); the first and the last are not, as in Real-ESRGAN's discriminator,
 * so the scale of what it sees and of the logits it gives can be learned. The pool right after
 * each stage's conv keeps only the first conv at the HR size, and the widths are a quarter of
 * Real-ESRGAN's: on the CPU a perceptual step of the light x4 network (batch 16 × 32²) costs
 * about twice a pixel step, where widths 32 → 64 → 128 cost 3.5 times. The graphs that run it
 * are in ml/onnx/discriminator.ts; its state lives here, free of any runtime, so checkpoints
 * hold it.
 */
export const DISC_WIDTHS: readonly number[] = [16, 32, 64];
export const DISC_SLOPE = 0.2;
/**
 * The discriminator learns at this many times the network's learning rate (on the same schedule):
 * the two time-scale rule (Heusel et al., 2017; SAGAN's 4e-4 beside 1e-4). At the network's rate
 * this small discriminator barely starts to tell the bundled x4 photo model's output from the
 * photos in 300 steps (its loss 1.386 → 1.381 on 96 patch pairs), at four times it does
 * (→ 1.345), so the adversarial gradient carries a signal within a short fine-tune.
 */
export const DISC_LR_RATIO = 4;
/** Adam's β₁ and β₂ for the discriminator: Real-ESRGAN's (0.9, 0.99). */
export const DISC_BETA1 = 0.9;
export const DISC_BETA2 = 0.99;
const DISC_EPSILON = 1e-8;

export interface DiscLayer {
  /** `conv0`, `conv1`, … and `out`; its parameters are NAME.weight (OIHW) and NAME.bias. */
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  /** LeakyReLU and a 2×2 average pool follow the conv (all but the last layer). */
  readonly pooled: boolean;
  /** The weight is spectrally normalised (all but the first and the last layer). */
  readonly spectral: boolean;
}

/** The layers for the stage widths (the default is the one perceptual runs train; tests use narrower ones). */
export function discLayers(widths: readonly number[] = DISC_WIDTHS): DiscLayer[] {
  const layers: DiscLayer[] = widths.map((cout, i) => ({
    name: `conv${i}`,
    cin: i === 0 ? 3 : widths[i - 1]!,
    cout,
    pooled: true,
    spectral: i > 0,
  }));
  layers.push({ name: 'out', cin: widths.at(-1)!, cout: 1, pooled: false, spectral: false });
  return layers;
}

/** How many HR pixels one logit's position steps over. */
export const discStride = (layers: readonly DiscLayer[]) => 2 ** layers.filter((l) => l.pooled).length;

/** One tensor of the flat parameter vector. */
export interface DiscTensor {
  readonly name: string;
  readonly shape: number[];
  readonly offset: number;
  readonly size: number;
  /** A spectrally normalised weight's rows (cout); absent for the other weights and the biases. */
  readonly rows?: number;
}

/** The flat parameter vector's layout, in the graphs' order: each layer's weight, then its bias. */
export function discLayout(layers: readonly DiscLayer[]): DiscTensor[] {
  const out: DiscTensor[] = [];
  let offset = 0;
  for (const l of layers) {
    const size = l.cout * l.cin * 9;
    const shape = [l.cout, l.cin, 3, 3];
    out.push({ name: `${l.name}.weight`, shape, offset, size, ...(l.spectral ? { rows: l.cout } : {}) });
    offset += size;
    out.push({ name: `${l.name}.bias`, shape: [l.cout], offset, size: l.cout });
    offset += l.cout;
  }
  return out;
}

/** The discriminator's whole state, as a checkpoint keeps it. */
export interface DiscriminatorState {
  /** The weights W before normalisation, and the biases: OIHW, by name. */
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** Each spectrally normalised weight's power-iteration vector u [cout], by the weight's name. */
  readonly u: ReadonlyMap<string, Float32Array>;
  /** Adam's step and moments (`m.NAME`, `v.NAME`, flat, OIHW). */
  readonly adam: AdamState;
}

/** The run's discriminator at its start: He-normal weights, zero biases, random unit vectors u, from the run's seed. */
export function initialDiscriminator(seed: number, layers: readonly DiscLayer[] = discLayers()): DiscriminatorState {
  const rng = new Rng((seed ^ 0x2545f491) >>> 0);
  const weights = new Map<string, Float32Array>();
  const u = new Map<string, Float32Array>();
  const moments = new Map<string, Float32Array>();
  for (const e of discLayout(layers)) {
    const data = new Float32Array(e.size);
    if (e.shape.length === 4) {
      const std = Math.sqrt(2 / (e.size / e.shape[0]!));
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    if (e.rows) {
      const v = Float64Array.from({ length: e.rows }, () => rng.normal());
      const norm = Math.hypot(...v);
      u.set(
        e.name,
        Float32Array.from(v, (x) => x / norm),
      );
    }
    weights.set(e.name, data);
    moments.set(`m.${e.name}`, new Float32Array(e.size));
    moments.set(`v.${e.name}`, new Float32Array(e.size));
  }
  return { weights, u, adam: { step: 0, moments } };
}

/** A step of the discriminator prepared: its normalised weights for the graphs, and what its update needs. */
export interface DiscPrepared {
  /** Ŵ (and the biases), flat in discLayout's order: the graphs' `d_weights`. */
  readonly normalized: Float32Array;
  readonly spectral: ReadonlyMap<string, SpectralStep>;
}

/**
 * The discriminator as the engine holds it: flat float32 vectors in discLayout's order. A step is
 * prepare (one power iteration per weight) → the graphs → update (the gradient through σ, then
 * Adam), and nothing is kept until `commit`, so a refused step changes nothing.
 */
export class Discriminator {
  readonly layers: readonly DiscLayer[];
  readonly #layout: ReturnType<typeof discLayout>;
  #params: Float32Array = new Float32Array(0);
  #m: Float32Array = new Float32Array(0);
  #v: Float32Array = new Float32Array(0);
  #u = new Map<string, Float32Array>();
  #step = 0;

  constructor(state: DiscriminatorState, layers: readonly DiscLayer[] = discLayers()) {
    this.layers = layers;
    this.#layout = discLayout(layers);
    this.load(state);
  }

  /** Replaces the whole state (a checkpoint's). */
  load(state: DiscriminatorState): void {
    const u = new Map<string, Float32Array>();
    for (const e of this.#layout) {
      if (!e.rows) continue;
      const x = state.u.get(e.name);
      if (!x || x.length !== e.rows)
        throw new Error(`discriminator vector u of ${e.name} is missing or the wrong size`);
      u.set(e.name, Float32Array.from(x));
    }
    this.#params = this.#flat(state.weights, '');
    this.#m = this.#flat(state.adam.moments, 'm.');
    this.#v = this.#flat(state.adam.moments, 'v.');
    this.#u = u;
    this.#step = state.adam.step;
  }

  get size(): number {
    return this.#params.length;
  }

  get step(): number {
    return this.#step;
  }

  #flat(named: ReadonlyMap<string, Float32Array>, prefix: string): Float32Array {
    const last = this.#layout.at(-1)!;
    const out = new Float32Array(last.offset + last.size);
    for (const e of this.#layout) {
      const w = named.get(prefix + e.name);
      if (!w || w.length !== e.size)
        throw new Error(`discriminator tensor ${prefix}${e.name} is missing or the wrong size`);
      out.set(w, e.offset);
    }
    return out;
  }

  prepare(): DiscPrepared {
    const normalized = Float32Array.from(this.#params);
    const spectral = new Map<string, SpectralStep>();
    for (const e of this.#layout) {
      if (!e.rows) continue;
      const s = spectralStep(this.#params.subarray(e.offset, e.offset + e.size), e.rows, this.#u.get(e.name)!);
      normalized.set(s.normalized, e.offset);
      spectral.set(e.name, s);
    }
    return { normalized, spectral };
  }

  /**
   * Adam at `lr` on the gradient with respect to the normalised weights (`grad`, flat), taken
   * through σ to the weights themselves; undefined when a value is not finite.
   */
  update(prepared: DiscPrepared, grad: Float32Array, lr: number): DiscPending | undefined {
    const t = this.#step + 1;
    const c1 = 1 - DISC_BETA1 ** t;
    const c2 = 1 - DISC_BETA2 ** t;
    const params = new Float32Array(this.size);
    const m = new Float32Array(this.size);
    const v = new Float32Array(this.size);
    for (const e of this.#layout) {
      const gSlice = grad.subarray(e.offset, e.offset + e.size);
      const g = e.rows ? spectralGrad(gSlice, prepared.spectral.get(e.name)!) : gSlice;
      for (let k = 0; k < e.size; k++) {
        const i = e.offset + k;
        const gi = g[k]!;
        const m1 = DISC_BETA1 * this.#m[i]! + (1 - DISC_BETA1) * gi;
        const v1 = DISC_BETA2 * this.#v[i]! + (1 - DISC_BETA2) * gi * gi;
        m[i] = m1;
        v[i] = v1;
        params[i] = this.#params[i]! - (lr * (m1 / c1)) / (Math.sqrt(v1 / c2) + DISC_EPSILON);
      }
    }
    if (!params.every(Number.isFinite)) return undefined;
    const u = new Map([...prepared.spectral].map(([name, s]) => [name, s.u]));
    return { params, m, v, u, step: t };
  }

  commit(p: DiscPending): void {
    [this.#params, this.#m, this.#v, this.#u, this.#step] = [p.params, p.m, p.v, new Map(p.u), p.step];
  }

  state(): DiscriminatorState {
    const named = (flat: Float32Array, prefix: string) =>
      this.#layout.map((e) => [prefix + e.name, flat.slice(e.offset, e.offset + e.size)] as const);
    return {
      weights: new Map(named(this.#params, '')),
      u: new Map([...this.#u].map(([k, x]) => [k, Float32Array.from(x)])),
      adam: { step: this.#step, moments: new Map([...named(this.#m, 'm.'), ...named(this.#v, 'v.')]) },
    };
  }
}

/** A discriminator update computed but not yet kept. */
export interface DiscPending {
  readonly params: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly u: ReadonlyMap<string, Float32Array>;
  readonly step: number;
}
