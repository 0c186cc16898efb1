import * as tf from '@tensorflow/tfjs-core';
import { PatchSampler, type DatasetSource, type PatchBatch } from '../dataset.ts';
import { degraderFor, describeDegrade, type JpegRoundTrip } from '../degrade.ts';
import type { RgbImage } from '../image.ts';
import { initialWeights, Network } from '../network.ts';
import { Rng } from '../random.ts';
import type { TileModel } from '../tiling.ts';
import { encodeModel } from '../weights.ts';
import { Adam } from './adam.ts';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointState } from './checkpoint.ts';
import { learningRateAt, type TrainConfig } from './config.ts';
import { TrainControl, type TrainEvent, type ValidationScores } from './events.ts';
import { lossAndGrads, splitBatch, type GradientHelpers, type Shard } from './shards.ts';
import { gradSquaredNorm, previewCrop, previewStrip, validate, type Evaluator, type ValImage } from './validation.ts';

/** Where a run's files go; the Node adapter writes a run folder, tests may keep them in memory. */
export interface RunStore {
  writeConfig(config: TrainConfig): Promise<void>;
  appendMetrics(record: Record<string, unknown>): Promise<void>;
  /** Saves atomically; keeps the newest N and the best. Returns where it went. */
  writeCheckpoint(iteration: number, bytes: Uint8Array, best: boolean): Promise<string>;
  readLatestCheckpoint(): Promise<{ bytes: Uint8Array; path: string } | undefined>;
  writePreview(iteration: number, image: RgbImage): Promise<string | undefined>;
  /** The best model so far as a weights file `upscale --model` takes. */
  writeModel(bytes: Uint8Array): Promise<string>;
}

export interface TrainOptions {
  readonly config: TrainConfig;
  readonly data: DatasetSource;
  readonly val: readonly ValImage[];
  readonly store: RunStore;
  readonly control?: TrainControl | undefined;
  readonly resume?: Checkpoint | undefined;
  /** Initial weights (PyTorch layout); default: from config.seed. */
  readonly initial?: ReadonlyMap<string, Float32Array> | undefined;
  /** The JPEG encoder the config's degradations need (ml/node/jpeg.ts in Node). */
  readonly jpeg?: JpegRoundTrip | undefined;
  /** Sees (and may replace) every batch before the step (tests). */
  readonly batchHook?: ((iteration: number, batch: PatchBatch) => PatchBatch) | undefined;
  /** Extra facts for the exported model's training summary (data folder, backend, command). */
  readonly summary?: Record<string, unknown> | undefined;
  /** Consecutive non-finite steps tolerated before stopping (default 5). */
  readonly maxBadSteps?: number | undefined;
  /** Progress records in metrics.jsonl every this many iterations (default 10). */
  readonly logEvery?: number | undefined;
  /** Other threads that compute shards of each batch (data-parallel training on several cores). */
  readonly helpers?: GradientHelpers | undefined;
  /** Runs validation and previews on another runtime (default: the training network itself). */
  readonly evaluator?: Evaluator | undefined;
}

/** The sampler's seed stream is kept apart from the initial weights' stream. */
export const dataSeed = (seed: number) => (seed ^ 0x5bd1e995) >>> 0;

/**
 * Trains a network and yields what happens. A non-finite loss or gradient never reaches the
 * weights: the step is skipped and the learning rate halved; after `maxBadSteps` in a row the last
 * good checkpoint is restored as the model and the run fails with a clear message. Cancelling saves
 * a checkpoint first. All tensors are released when the generator ends, however it ends.
 */
export async function* train(o: TrainOptions): AsyncGenerator<TrainEvent> {
  const cfg = o.config;
  const control = o.control ?? new TrainControl();
  const r = o.resume?.state;
  let initial = o.initial;
  /** The run's initial weights, made once (for the start, and for going back after a divergence before any checkpoint). */
  const initialOnce = () => (initial ??= initialWeights(cfg.network, cfg.seed));
  const net = new Network(cfg.network, o.resume?.weights ?? initialOnce());
  const adam = new Adam(net.params);
  const ema = cfg.emaDecay > 0 ? new Network(cfg.network, o.resume?.ema ?? (await net.weights()), false) : undefined;
  const evalNet = ema ?? net;
  const rng = new Rng(r ? r.rng : dataSeed(cfg.seed));
  const degrade = degraderFor(cfg.degrade, o.jpeg);
  const sampler = new PatchSampler(o.data, { scale: cfg.network.scale, patch: cfg.patch, batch: cfg.batch, augment: cfg.augment, degrade }, rng);
  const preview = o.val[0] ? previewCrop(o.val[0], cfg.network.scale) : undefined;
  let iteration = r?.iteration ?? 0;
  let lrScale = r?.lrScale ?? 1;
  let best = r?.best ?? null;
  let last: ValidationScores | null = null;
  let badSteps = 0;
  let stepMs = 0;
  let steps = 0;
  const elapsedBefore = r?.elapsedMs ?? 0;
  const t0 = performance.now();
  const elapsed = () => elapsedBefore + performance.now() - t0;
  const maxBad = o.maxBadSteps ?? 5;
  const recentLoss = new RecentLevel();
  const logEvery = o.logEvery ?? 10;
  if (r) adam.load(r.adamStep, o.resume!.adam);

  const state = (): CheckpointState => ({ iteration, rng: rng.state, adamStep: adam.step, lrScale, best, elapsedMs: elapsed(), config: cfg });
  const checkpoint = async (isBest: boolean) => {
    const bytes = encodeCheckpoint({ state: state(), weights: await net.weights(), adam: await adam.state(), ema: await ema?.weights() });
    return o.store.writeCheckpoint(iteration, bytes, isBest);
  };
  const exportModel = async (scores: ValidationScores | null, at = iteration) =>
    o.store.writeModel(
      encodeModel(cfg.network, await evalNet.weights(), {
        iterations: at,
        seed: cfg.seed,
        preset: cfg.preset,
        degrade: cfg.degrade,
        // The preset's ranges as they were when the model was trained.
        ...(cfg.degrade === 'none' ? {} : { degradations: describeDegrade(cfg.degrade) }),
        ...(scores ? { valPsnrY: scores.psnrY, valSsimY: scores.ssimY, bicubicPsnrY: scores.bicubicPsnrY, bicubicSsimY: scores.bicubicSsimY } : {}),
        seconds: Math.round(elapsed() / 1000),
        ...o.summary,
      }),
    );

  const openScorer = async (): Promise<{ model: Network | TileModel; close(): void | Promise<void> }> => {
    if (!o.evaluator) return { model: evalNet, close: () => undefined };
    const model = await o.evaluator.open(cfg.network, await evalNet.weights());
    return { model, close: () => model.dispose() };
  };

  try {
    if (!r) await o.store.writeConfig(cfg);
    yield { type: 'started', config: cfg, parameters: net.parameterCount, iteration, resumed: Boolean(r), trainImages: o.data.size, valImages: o.val.length };
    let itPerSec = 0;
    while (iteration < cfg.iterations) {
      if (control.paused) {
        yield { type: 'paused', iteration };
        await control.whilePaused();
        if (!control.cancelled) yield { type: 'resumed', iteration };
      }
      if (control.cancelled) break;
      const tStep = performance.now();
      let batch = await sampler.next();
      if (o.batchHook) batch = o.batchHook(iteration, batch);
      const lr = learningRateAt(cfg, iteration) * lrScale;
      const level = recentLoss.level();
      const result = await trainStep(net, adam, batch, cfg, lr, o.helpers, level * DIVERGENCE_FACTOR);
      iteration++;
      if (!result.ok) {
        badSteps++;
        lrScale /= 2;
        if (result.diverged) {
          // The weights that gave this loss are already off course: back to the last good ones.
          const back = await restoreLastGood(o.store, net, ema, adam, initialOnce());
          yield {
            type: 'warning',
            iteration,
            message: `Iteration ${iteration}: the loss jumped to ${result.loss.toPrecision(3)}, more than ${DIVERGENCE_FACTOR}× its usual level in this run (${level.toPrecision(3)}), so the weights went back to iteration ${back} and the learning rate was halved (now ×${lrScale}).`,
          };
        } else {
          yield {
            type: 'warning',
            iteration,
            message: `Iteration ${iteration}: the loss or gradient was not finite, so the step was skipped and the learning rate halved (now ×${lrScale}).`,
          };
        }
        if (badSteps >= maxBad) {
          const kept = await restoreLastGood(o.store, net, ema);
          const where = kept ? `the last good checkpoint (iteration ${kept}) was kept as the model` : 'no checkpoint had been saved yet';
          if (kept) await exportModel(null, kept);
          yield {
            type: 'failed',
            iteration,
            message: `Training stopped: ${badSteps} steps in a row had a non-finite or exploding loss even after lowering the learning rate; ${where}; try a lower --lr, or check the training images.`,
          };
          return;
        }
        continue;
      }
      badSteps = 0;
      recentLoss.add(result.loss);
      if (ema) updateEma(ema, net, cfg.emaDecay);
      const dt = performance.now() - tStep;
      stepMs += dt;
      steps++;
      itPerSec = itPerSec ? 0.9 * itPerSec + 0.1 * (1000 / dt) : 1000 / dt;
      const etaMs = ((cfg.iterations - iteration) / itPerSec) * 1000;
      yield { type: 'progress', iteration, loss: result.loss, lr, itPerSec, elapsedMs: elapsed(), etaMs };
      if (iteration % logEvery === 0 || iteration === cfg.iterations) {
        await o.store.appendMetrics({ iteration, loss: result.loss, lr, itPerSec: round(itPerSec, 3), elapsedMs: Math.round(elapsed()) });
      }
      let isBest = false;
      const validating = o.val.length > 0 && (iteration % cfg.valEvery === 0 || iteration === cfg.iterations);
      const previewing = preview !== undefined && (iteration % cfg.previewEvery === 0 || iteration === cfg.iterations);
      let scores: ValidationScores | undefined;
      let image: RgbImage | undefined;
      if (validating || previewing) {
        // Validation and the preview share one model on the evaluator's runtime.
        const scorer = await openScorer();
        try {
          if (validating) scores = await validate(scorer.model, o.val);
          if (previewing) image = await previewStrip(scorer.model, preview!);
        } finally {
          await scorer.close();
        }
      }
      if (scores) {
        last = scores;
        const { images: _, ...summary } = scores;
        await o.store.appendMetrics({ iteration, val: summary, elapsedMs: Math.round(elapsed()) });
        yield { type: 'validation', iteration, ...scores };
        if (!best || scores.psnrY > best.psnrY) {
          best = { iteration, psnrY: scores.psnrY, ssimY: scores.ssimY };
          isBest = true;
          await exportModel(scores);
        }
      }
      if (image) yield { type: 'preview', iteration, image, path: await o.store.writePreview(iteration, image) };
      if (isBest || iteration % cfg.checkpointEvery === 0 || iteration === cfg.iterations) {
        yield { type: 'checkpoint', iteration, path: await checkpoint(isBest), best: isBest };
      }
    }
    const cancelled = iteration < cfg.iterations;
    if (cancelled) yield { type: 'checkpoint', iteration, path: await checkpoint(false), best: false };
    const modelPath = o.val.length && best ? undefined : await exportModel(null);
    yield {
      type: 'finished',
      iteration,
      reason: cancelled ? 'cancelled' : 'completed',
      elapsedMs: elapsed(),
      best,
      last,
      modelPath,
      msPerIteration: steps ? stepMs / steps : 0,
    };
  } finally {
    net.dispose();
    ema?.dispose();
    adam.dispose();
  }
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * A step whose loss is more than this many times the run's level is a divergence: two orders of
 * magnitude, where a hard batch is a few times the level at most.
 */
export const DIVERGENCE_FACTOR = 100;

/**
 * The level a divergence is judged against: the lowest the median of 10 consecutive good losses
 * has been in this run (none until there are 2). Judged against the lowest level rather than the
 * latest, a loss that climbs a few times per step is caught too, before it has climbed far.
 */
class RecentLevel {
  readonly #losses: number[] = [];
  #floor = Infinity;
  add(loss: number): void {
    this.#losses.push(loss);
    if (this.#losses.length > 10) this.#losses.shift();
    if (this.#losses.length >= 2) {
      const s = [...this.#losses].sort((a, b) => a - b);
      this.#floor = Math.min(this.#floor, s[Math.floor(s.length / 2)]!);
    }
  }
  level(): number {
    return this.#floor;
  }
}

/**
 * One optimisation step; returns ok: false (weights untouched) when anything is not finite. With
 * helpers, the batch is split into shards: this thread computes the first while the helpers compute
 * the rest at the same weights, and the size-weighted sum is the whole batch's gradient.
 */
export async function trainStep(
  net: Network,
  adam: Adam,
  batch: PatchBatch,
  cfg: TrainConfig,
  lr: number,
  helpers: GradientHelpers | undefined,
  maxLoss = Infinity,
): Promise<{ ok: boolean; loss: number; diverged?: boolean }> {
  const shards = splitBatch(batch.lr, batch.hr, cfg.batch, 1 + (helpers?.count ?? 0));
  const [own, ...rest] = shards as [Shard, ...Shard[]];
  const remote = rest.length && helpers ? helpers.compute(await variableData(net), rest) : Promise.resolve([]);
  const { value, grads } = lossAndGrads(net, cfg, own);
  const combined: Record<string, tf.Tensor> = {};
  try {
    const others = await remote;
    const w0 = own.n / cfg.batch;
    let loss = (await value.data())[0]! * w0;
    others.forEach((r, k) => (loss += r.loss * (rest[k]!.n / cfg.batch)));
    for (const [name, v] of net.params) {
      combined[v.name] = tf.tidy(() =>
        others.reduce((acc, r, k) => tf.add(acc, tf.mul(tf.tensor(r.grads.get(name)!, v.shape), rest[k]!.n / cfg.batch)), tf.mul(grads[v.name]!, w0)),
      );
    }
    const sq = gradSquaredNorm(combined);
    const sqNorm = (await sq.data())[0]!;
    sq.dispose();
    if (!Number.isFinite(loss) || !Number.isFinite(sqNorm)) return { ok: false, loss };
    if (loss > maxLoss) return { ok: false, loss, diverged: true };
    const norm = Math.sqrt(sqNorm);
    adam.apply(net.params, combined, lr, norm > cfg.clipNorm ? cfg.clipNorm / norm : 1);
    return { ok: true, loss };
  } finally {
    tf.dispose([value, ...Object.values(grads), ...Object.values(combined)]);
  }
}

/** Every parameter's current values, by name, in the variables' own layout. */
async function variableData(net: Network): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of net.params) out.set(name, (await v.data()) as Float32Array);
  return out;
}

function updateEma(ema: Network, net: Network, decay: number): void {
  tf.tidy(() => {
    for (const [name, e] of ema.params) e.assign(tf.add(tf.mul(e, decay), tf.mul(net.params.get(name)!, 1 - decay)));
  });
}

/**
 * Loads the newest checkpoint's weights into `net` (and its EMA weights into `ema`, which is what
 * gets exported then; with `adam`, its optimizer state too); returns its iteration, or 0 if there
 * is none. With `initial`, a run without a checkpoint goes back to its initial weights (and a fresh
 * optimizer) instead.
 */
async function restoreLastGood(store: RunStore, net: Network, ema?: Network, adam?: Adam, initial?: ReadonlyMap<string, Float32Array>): Promise<number> {
  const latest = await store.readLatestCheckpoint();
  const c = latest ? decodeCheckpoint(latest.bytes, latest.path) : undefined;
  if (!c && !initial) return 0;
  if (adam && c) adam.load(c.state.adamStep, c.adam);
  else adam?.reset();
  const weights = c?.weights ?? initial!;
  for (const [target, w] of [[net, weights], [ema, c?.ema ?? weights]] as const) {
    if (!target) continue;
    const fresh = new Network(target.config, w, false);
    tf.tidy(() => {
      for (const [name, v] of target.params) v.assign(fresh.params.get(name)!);
    });
    fresh.dispose();
  }
  return c?.state.iteration ?? 0;
}
