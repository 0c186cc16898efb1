import { errors, firstLine } from '../errors.ts';
import { convSpecs, hwioToOihw, oihwToHwio, parameterCount } from '../network.ts';
import { discStepModel } from '../onnx/discriminator.ts';
import { flatLayout, trainStepModel } from '../onnx/train-graph.ts';
import type { PatchBatch } from '../dataset.ts';
import type { TrainConfig } from '../train/config.ts';
import {
  DISC_LR_RATIO,
  Discriminator,
  discLayers,
  initialDiscriminator,
  type DiscriminatorState,
} from '../train/discriminator.ts';
import type { AdamState, EngineStart, StepEngine, StepEngineFactory, StepOutcome } from '../train/engine.ts';
import { loadOrt, type Ort } from './onnx-runtime.ts';

/**
 * The training engine on ONNX Runtime: the whole step (forward, loss, backward, clipping, Adam,
 * EMA) is one ONNX graph (ml/onnx/train-graph.ts) run by onnxruntime-node's CPU kernels with its
 * own threads on every core. The weights, Adam's moments and the EMA stay here as flat float32
 * arrays in PyTorch's layout; each step feeds them in and takes the updated ones out only when the
 * loss and the gradient are finite (and the loss is below the divergence bound), so a refused step
 * changes nothing.
 *
 * A perceptual run has a second graph, the discriminator's step (ml/onnx/discriminator.ts): each
 * step prepares the discriminator's normalised weights (one power iteration), runs the network's
 * step with them (its output's adversarial gradient joins the pixel loss's), then the
 * discriminator's step on the real patches and the network's output, and keeps both updates only
 * when everything in both is finite. The discriminator learns at DISC_LR_RATIO times the network's
 * learning rate.
 */
export interface OnnxTrainerOptions {
  /** Intra-op threads (default: ONNX Runtime's, one per core). */
  readonly threads?: number | undefined;
}

const BETA1 = 0.9;
const BETA2 = 0.999;

export function onnxEngine(options: OnnxTrainerOptions = {}): StepEngineFactory {
  return (start) => OnnxEngine.create(start, options);
}

type Session = import('onnxruntime-node').InferenceSession;

class OnnxEngine implements StepEngine {
  readonly #ort: Ort;
  readonly #session: Session;
  /** A perceptual run's discriminator, and its step's session. */
  readonly #disc: { readonly model: Discriminator; readonly session: Session } | undefined;
  readonly #cfg: TrainConfig;
  readonly #layout: ReturnType<typeof flatLayout>;
  #params: Float32Array;
  #m: Float32Array;
  #v: Float32Array;
  #ema: Float32Array | undefined;
  #step: number;

  private constructor(ort: Ort, session: Session, disc: Session | undefined, s: EngineStart) {
    this.#ort = ort;
    this.#session = session;
    this.#disc = disc && {
      model: new Discriminator(s.discriminator ?? initialDiscriminator(s.config.seed)),
      session: disc,
    };
    this.#cfg = s.config;
    this.#layout = flatLayout(s.config.network);
    this.#params = this.#flat(s.weights);
    this.#ema = s.config.emaDecay > 0 ? this.#flat(s.ema ?? s.weights) : undefined;
    [this.#m, this.#v, this.#step] = this.#moments(s.adam);
  }

  static async create(s: EngineStart, options: OnnxTrainerOptions): Promise<OnnxEngine> {
    const o = await loadOrt();
    if (!o.ok) throw errors.backendFailed('onnx', o.reason);
    const c = s.config;
    const layers = discLayers();
    const perceptual = c.objective === 'perceptual';
    const model = trainStepModel({
      network: c.network,
      batch: c.batch,
      patch: c.patch,
      loss: c.loss,
      clipNorm: c.clipNorm,
      emaDecay: c.emaDecay,
      beta1: BETA1,
      beta2: BETA2,
      ...(perceptual ? { adversarial: { layers, weight: c.advWeight! } } : {}),
    });
    const open = async (bytes: Uint8Array) => {
      try {
        return await o.ort.InferenceSession.create(bytes, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          // Without the memory pattern, values are allocated from the arena as they are made and
          // freed after their last use: about half the peak memory (1.2 against 2.2 GB for the
          // standard preset at batch 16 × 48²), at the same speed.
          enableMemPattern: false,
          ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
        });
      } catch (e) {
        throw errors.backendFailed('onnx', `it could not load the training step (${firstLine(e)})`);
      }
    };
    const session = await open(model);
    let disc: Session | undefined;
    try {
      if (perceptual) disc = await open(discStepModel({ layers, batch: c.batch, side: c.patch * c.network.scale }));
      return new OnnxEngine(o.ort, session, disc, s);
    } catch (e) {
      await session.release();
      await disc?.release();
      throw e;
    }
  }

  get parameterCount(): number {
    return parameterCount(this.#cfg.network);
  }

  /** Named OIHW arrays → one flat vector in the graph's order. */
  #flat(weights: ReadonlyMap<string, Float32Array>): Float32Array {
    const out = new Float32Array(this.#layout.reduce((a, e) => a + e.size, 0));
    for (const e of this.#layout) {
      const w = weights.get(e.name);
      if (!w || w.length !== e.size) throw new Error(`parameter ${e.name} is missing or the wrong size`);
      out.set(w, e.offset);
    }
    return out;
  }

  #named(flat: Float32Array): Map<string, Float32Array> {
    return new Map(this.#layout.map((e) => [e.name, flat.slice(e.offset, e.offset + e.size)]));
  }

  /** Checkpoint moments (conv weights HWIO, as tfjs variables hold them) → flat OIHW vectors. */
  #moments(adam: AdamState | null): [Float32Array, Float32Array, number] {
    const size = this.#layout.reduce((a, e) => a + e.size, 0);
    if (!adam) return [new Float32Array(size), new Float32Array(size), 0];
    const shapes = this.#convShapes();
    const flat = (prefix: 'm' | 'v') => {
      const out = new Float32Array(size);
      for (const e of this.#layout) {
        const data = adam.moments.get(`${prefix}.${e.name}`);
        if (!data || data.length !== e.size)
          throw new Error(`optimizer state ${prefix}.${e.name} is missing or the wrong size`);
        const conv = shapes.get(e.name);
        out.set(conv ? hwioToOihw(data, conv.cout, conv.cin) : data, e.offset);
      }
      return out;
    };
    return [flat('m'), flat('v'), adam.step];
  }

  #convShapes(): Map<string, { cin: number; cout: number }> {
    return new Map(convSpecs(this.#cfg.network).map((s) => [`${s.name}.weight`, { cin: s.cin, cout: s.cout }]));
  }

  async step(batch: PatchBatch, lr: number, maxLoss: number): Promise<StepOutcome> {
    const T = this.#ort.Tensor;
    const { batch: n, patch: p } = this.#cfg;
    const s = this.#cfg.network.scale;
    const P = this.#params.length;
    const t = this.#step + 1;
    const disc = this.#disc;
    const prepared = disc?.model.prepare();
    const feeds: Record<string, import('onnxruntime-node').Tensor> = {
      lr: new T('float32', batch.lr, [n, p, p, 3]),
      hr: new T('float32', batch.hr, [n, p * s, p * s, 3]),
      params: new T('float32', this.#params, [P]),
      adam_m: new T('float32', this.#m, [P]),
      adam_v: new T('float32', this.#v, [P]),
      // Adam's scalars as tfjs computes them: in float64, then rounded to float32 in the kernel.
      learning_rate: new T('float32', Float32Array.of(lr), []),
      bias_correction1: new T('float32', Float32Array.of(1 - BETA1 ** t), []),
      bias_correction2: new T('float32', Float32Array.of(1 - BETA2 ** t), []),
    };
    if (this.#ema) feeds.ema = new T('float32', this.#ema, [P]);
    if (prepared) feeds.d_weights = new T('float32', prepared.normalized, [prepared.normalized.length]);
    const out = await this.#session.run(feeds);
    const owned = Object.values(feeds);
    try {
      const loss = (out.loss!.data as Float32Array)[0]!;
      const sq = (out.grad_sq_norm!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss) || !Number.isFinite(sq)) return { ok: false, loss };
      if (loss > maxLoss) return { ok: false, loss, diverged: true };
      let parts: StepOutcome['parts'];
      let discPending: ReturnType<Discriminator['update']>;
      if (disc && prepared) {
        // The discriminator's step on the real patches and the network's output before its update.
        const side = p * s;
        const dFeeds = {
          hr: feeds.hr!,
          fake: new T('float32', out.output!.data as Float32Array, [n, 3, side, side]),
          d_weights: feeds.d_weights!,
        };
        owned.push(dFeeds.fake);
        const d = await disc.session.run(dFeeds);
        const dLoss = (d.d_loss!.data as Float32Array)[0]!;
        discPending = Number.isFinite(dLoss)
          ? disc.model.update(prepared, d.d_grad!.data as Float32Array, lr * DISC_LR_RATIO)
          : undefined;
        if (!discPending) return { ok: false, loss: dLoss };
        parts = {
          pixel: (out.pixel_loss!.data as Float32Array)[0]!,
          adversarial: (out.adv_loss!.data as Float32Array)[0]!,
          discriminator: dLoss,
        };
      }
      this.#params = out.params_out!.data as Float32Array;
      this.#m = out.adam_m_out!.data as Float32Array;
      this.#v = out.adam_v_out!.data as Float32Array;
      if (this.#ema) this.#ema = out.ema_out!.data as Float32Array;
      this.#step = t;
      if (disc && discPending) disc.model.commit(discPending);
      return { ok: true, loss, ...(parts ? { parts } : {}) };
    } finally {
      for (const v of owned) v.dispose();
    }
  }

  async weights(): Promise<Map<string, Float32Array>> {
    return this.#named(this.#params);
  }

  async emaWeights(): Promise<Map<string, Float32Array> | undefined> {
    return this.#ema && this.#named(this.#ema);
  }

  async adamState(): Promise<AdamState> {
    const shapes = this.#convShapes();
    const moments = new Map<string, Float32Array>();
    for (const [prefix, flat] of [
      ['m', this.#m],
      ['v', this.#v],
    ] as const) {
      for (const e of this.#layout) {
        const data = flat.slice(e.offset, e.offset + e.size);
        const conv = shapes.get(e.name);
        moments.set(`${prefix}.${e.name}`, conv ? oihwToHwio(data, conv.cout, conv.cin) : data);
      }
    }
    return { step: this.#step, moments };
  }

  async discriminatorState(): Promise<DiscriminatorState | undefined> {
    return this.#disc?.model.state();
  }

  async load(
    weights: ReadonlyMap<string, Float32Array>,
    ema: ReadonlyMap<string, Float32Array> | undefined,
    adam: AdamState | null,
    discriminator?: DiscriminatorState,
  ): Promise<void> {
    this.#params = this.#flat(weights);
    if (this.#ema) this.#ema = this.#flat(ema ?? weights);
    [this.#m, this.#v, this.#step] = this.#moments(adam);
    if (this.#disc && discriminator) this.#disc.model.load(discriminator);
  }

  async dispose(): Promise<void> {
    await this.#session.release();
    await this.#disc?.session.release();
  }
}
