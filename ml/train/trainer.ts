import { PatchSampler, type DatasetSource, type PatchBatch } from '../dataset.ts';
import { errors } from '../errors.ts';
import { degraderFor, describeDegrade, type JpegRoundTrip } from '../degrade.ts';
import type { RgbImage } from '../image.ts';
import { initialWeights, type Network } from '../network.ts';
import { Rng } from '../random.ts';
import type { TileModel } from '../tiling.ts';
import { encodeModel } from '../weights.ts';
import { replacesBest } from './best.ts';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointState } from './checkpoint.ts';
import { learningRateAt, type TrainConfig } from './config.ts';
import { initialDiscriminator } from './discriminator.ts';
import { TrainControl, type TrainEvent, type ValidationScores } from './events.ts';
import { tfjsEngine, type StepEngine, type StepEngineFactory } from './engine.ts';
import type { GradientHelpers } from './shards.ts';
import { previewCrop, previewStrip, validate, type Evaluator, type ValImage } from './validation.ts';

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
  /** An earlier run's checkpoint to continue from (the run goes on exactly as if it had never stopped). */
  readonly from?: Checkpoint | undefined;
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
  /** Other threads that compute shards of each batch (data-parallel training on several cores; tfjs engine only). */
  readonly helpers?: GradientHelpers | undefined;
  /** What computes each step (default: tfjs on the active backend, with `helpers`). */
  readonly engine?: StepEngineFactory | undefined;
  /** Runs validation and previews on another runtime (default: the training network itself). */
  readonly evaluator?: Evaluator | undefined;
}

/** The sampler's seed stream is kept apart from the initial weights' stream. */
export const dataSeed = (seed: number) => (seed ^ 0x5bd1e995) >>> 0;

/**
 * Trains a network and yields what happens. A non-finite loss or gradient never reaches the
 * weights: the step is skipped and the learning rate halved; after `maxBadSteps` in a row the last
 * good checkpoint is restored as the model and the run fails with a clear message. Cancelling saves
 * a checkpoint first. The engine (its tensors, or its ONNX Runtime session) is released when the
 * generator ends, however it ends.
 */
export async function* train(o: TrainOptions): AsyncGenerator<TrainEvent> {
  const cfg = o.config;
  const control = o.control ?? new TrainControl();
  const r = o.from?.state;
  let initial = o.initial;
  /** The run's initial weights, made once (for the start, and for going back after a divergence before any checkpoint). */
  const initialOnce = () => (initial ??= initialWeights(cfg.network, cfg.seed));
  const rng = new Rng(r ? r.rng : dataSeed(cfg.seed));
  const degrade = degraderFor(cfg.degrade, o.jpeg);
  const sampler = new PatchSampler(
    o.data,
    { scale: cfg.network.scale, patch: cfg.patch, batch: cfg.batch, augment: cfg.augment, degrade },
    rng,
  );
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
  // Made last, so nothing above can throw with an engine to release.
  const weights = o.from?.weights ?? initialOnce();
  const engine: StepEngine = await (o.engine ?? tfjsEngine(o.helpers))({
    config: cfg,
    weights,
    ema: cfg.emaDecay > 0 ? (o.from?.ema ?? weights) : undefined,
    adam: r ? { step: r.adamStep, moments: o.from!.adam } : null,
    discriminator: o.from?.discriminator,
  });
  const evalWeights = async () => (await engine.emaWeights()) ?? (await engine.weights());

  const checkpoint = async (isBest: boolean) => {
    const adam = await engine.adamState();
    const discriminator = await engine.discriminatorState?.();
    const state: CheckpointState = {
      iteration,
      rng: rng.state,
      adamStep: adam.step,
      lrScale,
      best,
      elapsedMs: elapsed(),
      config: cfg,
      ...(discriminator ? { discAdamStep: discriminator.adam.step } : {}),
    };
    const bytes = encodeCheckpoint({
      state,
      weights: await engine.weights(),
      adam: new Map(adam.moments),
      ema: await engine.emaWeights(),
      discriminator,
    });
    return o.store.writeCheckpoint(iteration, bytes, isBest);
  };
  const exportModel = async (scores: ValidationScores | null, at = iteration) =>
    o.store.writeModel(
      encodeModel(cfg.network, await evalWeights(), {
        iterations: at,
        seed: cfg.seed,
        preset: cfg.preset,
        degrade: cfg.degrade,
        ...(cfg.init ? { init: cfg.init } : {}),
        ...(cfg.objective === 'pixel' ? {} : { objective: cfg.objective, advWeight: cfg.advWeight }),
        // The preset's ranges as they were when the model was trained.
        ...(cfg.degrade === 'none' ? {} : { degradations: describeDegrade(cfg.degrade) }),
        ...(scores
          ? {
              valPsnrY: scores.psnrY,
              valSsimY: scores.ssimY,
              valDetail: scores.detail,
              bicubicPsnrY: scores.bicubicPsnrY,
              bicubicSsimY: scores.bicubicSsimY,
            }
          : {}),
        seconds: Math.round(elapsed() / 1000),
        ...o.summary,
      }),
    );

  const openScorer = async (): Promise<{ model: Network | TileModel; close(): void | Promise<void> }> => {
    if (!o.evaluator) {
      if (!engine.evalNetwork)
        throw new Error('this training engine validates through an evaluator, and none was given');
      return { model: engine.evalNetwork, close: () => undefined };
    }
    const model = await o.evaluator.open(cfg.network, await evalWeights());
    return { model, close: () => model.dispose() };
  };

  /** Validates and/or draws the preview on one model, records the scores and keeps the best model. */
  async function* evaluate(
    validating: boolean,
    previewing: boolean,
  ): AsyncGenerator<TrainEvent, { isBest: boolean; image?: RgbImage }> {
    let scores: ValidationScores | undefined;
    let image: RgbImage | undefined;
    // Validation and the preview share one model on the evaluator's runtime.
    const scorer = await openScorer();
    try {
      if (validating) scores = await validate(scorer.model, o.val);
      if (previewing) image = await previewStrip(scorer.model, preview!);
    } finally {
      await scorer.close();
    }
    if (!scores) return { isBest: false, ...(image ? { image } : {}) };
    last = scores;
    const { images: _, ...summary } = scores;
    await o.store.appendMetrics({ iteration, val: summary, elapsedMs: Math.round(elapsed()) });
    yield { type: 'validation', iteration, ...scores };
    const isBest = replacesBest(cfg.objective, best, { iteration, psnrY: scores.psnrY });
    if (isBest) {
      best = { iteration, psnrY: scores.psnrY, ssimY: scores.ssimY, detail: scores.detail };
      await exportModel(scores);
    }
    return { isBest, ...(image ? { image } : {}) };
  }

  try {
    if (!r) await o.store.writeConfig(cfg);
    yield {
      type: 'started',
      config: cfg,
      parameters: engine.parameterCount,
      iteration,
      continued: Boolean(r),
      trainImages: o.data.size,
      valImages: o.val.length,
    };
    if (!r && cfg.init && o.val.length > 0) {
      // A run that starts from a model is first scored as it starts, so its first validation is the
      // starting model's quality, and the model it ends with is never worse than that on this set.
      const e = yield* evaluate(true, preview !== undefined);
      if (e.image)
        yield { type: 'preview', iteration, image: e.image, path: await o.store.writePreview(iteration, e.image) };
    }
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
      const result = await engine.step(batch, lr, level * DIVERGENCE_FACTOR);
      iteration++;
      if (!result.ok) {
        badSteps++;
        lrScale /= 2;
        if (result.diverged) {
          // The weights that gave this loss are already off course: back to the last good ones.
          const back = await restoreLastGood(o.store, engine, {
            initial: initialOnce(),
            ...(cfg.objective === 'perceptual' ? { discriminator: () => initialDiscriminator(cfg.seed) } : {}),
          });
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
          const kept = await restoreLastGood(o.store, engine);
          if (kept) await exportModel(null, kept);
          const error = errors.trainingDiverged(badSteps, kept || undefined);
          yield { type: 'failed', iteration, message: error.message, error: error.data };
          return;
        }
        continue;
      }
      badSteps = 0;
      recentLoss.add(result.loss);
      const dt = performance.now() - tStep;
      stepMs += dt;
      steps++;
      itPerSec = itPerSec ? 0.9 * itPerSec + 0.1 * (1000 / dt) : 1000 / dt;
      const etaMs = ((cfg.iterations - iteration) / itPerSec) * 1000;
      const parts = result.parts;
      yield {
        type: 'progress',
        iteration,
        loss: result.loss,
        lr,
        itPerSec,
        elapsedMs: elapsed(),
        etaMs,
        ...(parts ? { parts } : {}),
      };
      if (iteration % logEvery === 0 || iteration === cfg.iterations) {
        await o.store.appendMetrics({
          iteration,
          loss: result.loss,
          ...(parts ? { parts } : {}),
          lr,
          itPerSec: round(itPerSec, 3),
          elapsedMs: Math.round(elapsed()),
        });
      }
      const validating = o.val.length > 0 && (iteration % cfg.valEvery === 0 || iteration === cfg.iterations);
      const previewing = preview !== undefined && (iteration % cfg.previewEvery === 0 || iteration === cfg.iterations);
      let isBest = false;
      let image: RgbImage | undefined;
      if (validating || previewing) {
        const e = yield* evaluate(validating, previewing);
        isBest = e.isBest;
        image = e.image;
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
      type: 'end',
      iteration,
      reason: cancelled ? 'cancelled' : 'finished',
      elapsedMs: elapsed(),
      best,
      last,
      modelPath,
      msPerIteration: steps ? stepMs / steps : 0,
    };
  } finally {
    await engine.dispose();
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
 * Loads the newest checkpoint's weights (and EMA weights, which is what gets exported then) into
 * the engine; returns its iteration, or 0 if there is none. With `initial` (going back after a
 * divergence), the optimizer state and a perceptual run's discriminator go back too, and a run
 * without a checkpoint goes back to its initial weights with a fresh optimizer and discriminator;
 * without it (the run stops), the optimizer and the discriminator are left alone.
 */
async function restoreLastGood(
  store: RunStore,
  engine: StepEngine,
  o: {
    initial?: ReadonlyMap<string, Float32Array>;
    /** A perceptual run's discriminator at its start (going back after a divergence). */
    discriminator?: () => NonNullable<Checkpoint['discriminator']>;
  } = {},
): Promise<number> {
  const latest = await store.readLatestCheckpoint();
  const c = latest ? decodeCheckpoint(latest.bytes, latest.path) : undefined;
  if (!c && !o.initial) return 0;
  const weights = c?.weights ?? o.initial!;
  const adam = o.initial ? (c ? { step: c.state.adamStep, moments: c.adam } : null) : await engine.adamState();
  const discriminator = o.discriminator && (c?.discriminator ?? o.discriminator());
  await engine.load(weights, c?.ema ?? weights, adam, discriminator);
  return c?.state.iteration ?? 0;
}
