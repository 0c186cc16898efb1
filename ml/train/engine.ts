import * as tf from '@tensorflow/tfjs-core';
import type { PatchBatch } from '../dataset.ts';
import { Network } from '../network.ts';
import { Adam } from './adam.ts';
import { errors } from '../errors.ts';
import type { TrainConfig } from './config.ts';
import type { DiscriminatorState } from './discriminator.ts';
import type { GradientHelpers } from './shards.ts';
import { trainStep } from './step.ts';

/**
 * Where a run's training steps are computed. The trainer (ml/train/trainer.ts) owns the loop:
 * batches, the schedule, the guards against non-finite and exploding losses, validation,
 * checkpoints and events; an engine owns the weights, the optimizer state and the EMA, and computes
 * one step at a time. Two engines exist: tfjs (this file: any tfjs backend, with helper threads on
 * CPU backends) and ONNX Runtime (ml/node/onnx-trainer.ts: the whole step as one ONNX graph).
 * Checkpoints are the same for both, so a run can continue on the other.
 */
export interface StepOutcome {
  /** False when the step was refused (not finite, or above `maxLoss`): nothing changed. */
  readonly ok: boolean;
  readonly loss: number;
  /** Refused because the loss was above `maxLoss`. */
  readonly diverged?: boolean;
  /** A perceptual step's parts of the loss (`loss` is pixel + advWeight × adversarial). */
  readonly parts?: LossParts | undefined;
}

/** The losses of a perceptual step: the network's pixel and adversarial losses, and the discriminator's. */
export interface LossParts {
  readonly pixel: number;
  readonly adversarial: number;
  readonly discriminator: number;
}

/** Adam's state as checkpoints hold it: step count and `m.NAME` / `v.NAME` (conv weights HWIO, as tfjs variables). */
export interface AdamState {
  readonly step: number;
  readonly moments: ReadonlyMap<string, Float32Array>;
}

export interface StepEngine {
  readonly parameterCount: number;
  /** One optimisation step at learning rate `lr` (forward, loss, backward, clipping, Adam, EMA). */
  step(batch: PatchBatch, lr: number, maxLoss: number): Promise<StepOutcome>;
  /** The weights, PyTorch layout (OIHW). */
  weights(): Promise<Map<string, Float32Array>>;
  /** The EMA weights when the run keeps them. */
  emaWeights(): Promise<Map<string, Float32Array> | undefined>;
  adamState(): Promise<AdamState>;
  /** A perceptual run's discriminator (weights, power-iteration vectors, Adam); engines of pixel runs have none. */
  discriminatorState?(): Promise<DiscriminatorState | undefined>;
  /**
   * Replaces the weights (and EMA weights) and the optimizer state (null: a fresh optimizer), and
   * in a perceptual run the discriminator when given (absent: it stays as it is).
   */
  load(
    weights: ReadonlyMap<string, Float32Array>,
    ema: ReadonlyMap<string, Float32Array> | undefined,
    adam: AdamState | null,
    discriminator?: DiscriminatorState,
  ): Promise<void>;
  /** The network to validate on when no evaluator is given (the EMA's when kept); engines without one need an evaluator. */
  readonly evalNetwork?: Network | undefined;
  dispose(): Promise<void> | void;
}

export interface EngineStart {
  readonly config: TrainConfig;
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** EMA weights (when config.emaDecay > 0). */
  readonly ema: ReadonlyMap<string, Float32Array> | undefined;
  readonly adam: AdamState | null;
  /** A perceptual run's discriminator as a checkpoint kept it (absent: a fresh one from the run's seed). */
  readonly discriminator?: DiscriminatorState | undefined;
}

/** Makes a run's engine; the trainer calls it once, with the run's first weights. */
export type StepEngineFactory = (start: EngineStart) => Promise<StepEngine>;

/** The tfjs engine on the active tfjs backend; `helpers` compute shards of each batch in other threads. */
export function tfjsEngine(helpers?: GradientHelpers): StepEngineFactory {
  return async (s) => TfjsEngine.create(s, helpers);
}

class TfjsEngine implements StepEngine {
  readonly #cfg: TrainConfig;
  readonly #net: Network;
  readonly #adam: Adam;
  readonly #ema: Network | undefined;
  readonly #helpers: GradientHelpers | undefined;

  private constructor(cfg: TrainConfig, net: Network, ema: Network | undefined, helpers: GradientHelpers | undefined) {
    this.#cfg = cfg;
    this.#net = net;
    this.#adam = new Adam(net.params);
    this.#ema = ema;
    this.#helpers = helpers;
  }

  static async create(s: EngineStart, helpers: GradientHelpers | undefined): Promise<TfjsEngine> {
    // The discriminator's graphs are ONNX Runtime's alone.
    if (s.config.objective !== 'pixel') throw errors.objectiveNeedsOnnx(s.config.objective, tf.getBackend());
    const net = new Network(s.config.network, s.weights);
    const ema = s.config.emaDecay > 0 ? new Network(s.config.network, s.ema ?? s.weights, false) : undefined;
    const engine = new TfjsEngine(s.config, net, ema, helpers);
    if (s.adam) engine.#adam.load(s.adam.step, s.adam.moments);
    return engine;
  }

  get parameterCount(): number {
    return this.#net.parameterCount;
  }

  get evalNetwork(): Network {
    return this.#ema ?? this.#net;
  }

  async step(batch: PatchBatch, lr: number, maxLoss: number): Promise<StepOutcome> {
    const result = await trainStep(this.#net, this.#adam, batch, this.#cfg, lr, this.#helpers, maxLoss);
    if (result.ok && this.#ema) {
      const [ema, net, decay] = [this.#ema, this.#net, this.#cfg.emaDecay];
      tf.tidy(() => {
        for (const [name, e] of ema.params)
          e.assign(tf.add(tf.mul(e, decay), tf.mul(net.params.get(name)!, 1 - decay)));
      });
    }
    return result;
  }

  weights(): Promise<Map<string, Float32Array>> {
    return this.#net.weights();
  }

  async emaWeights(): Promise<Map<string, Float32Array> | undefined> {
    return this.#ema?.weights();
  }

  async adamState(): Promise<AdamState> {
    return { step: this.#adam.step, moments: await this.#adam.state() };
  }

  async load(
    weights: ReadonlyMap<string, Float32Array>,
    ema: ReadonlyMap<string, Float32Array> | undefined,
    adam: AdamState | null,
  ): Promise<void> {
    if (adam) this.#adam.load(adam.step, adam.moments);
    else this.#adam.reset();
    for (const [target, w] of [
      [this.#net, weights],
      [this.#ema, ema ?? weights],
    ] as const) {
      if (!target) continue;
      const fresh = new Network(target.config, w, false);
      tf.tidy(() => {
        for (const [name, v] of target.params) v.assign(fresh.params.get(name)!);
      });
      fresh.dispose();
    }
  }

  dispose(): void {
    this.#net.dispose();
    this.#ema?.dispose();
    this.#adam.dispose();
  }
}
