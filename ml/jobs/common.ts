/** What the training and comparison jobs share: opening their photos, and the helpers of a run. */
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors, UserError, type ErrorData } from '../errors.ts';
import { evaluatorFor } from '../node/evaluator.ts';
import { defaultThreads, GradientWorkers } from '../node/grad-workers.ts';
import { onnxEngine } from '../node/onnx-trainer.ts';
import { loadTrainingData, type TrainingData } from '../node/training-data.ts';
import type { TrainConfig } from '../train/config.ts';
import type { TrainEvent } from '../train/events.ts';
import type { Through } from '../node/through.ts';
import { tfjsEngine, type StepEngineFactory } from '../train/engine.ts';
import type { Evaluator } from '../train/validation.ts';

export type DataEvent =
  | { readonly type: 'note'; readonly message: string }
  | { readonly type: 'data-warning'; readonly message: string };

/** The training photos (and validation photos, or a held-out tenth) for a run's config, each note passed on. */
export async function openData(
  /** opened: the folders name handles a front end opened (through.ts), read only through them. */
  folders: { readonly data: string; readonly val?: string | null | undefined; readonly opened?: boolean | undefined },
  config: TrainConfig,
  emit: (e: DataEvent) => void | Promise<void>,
): Promise<TrainingData> {
  const data = await loadTrainingData({
    data: folders.data,
    val: folders.val ?? undefined,
    scale: config.network.scale,
    patch: config.patch,
    seed: config.seed,
    valMaxSide: config.valMaxSide,
    onWarning: (message) => void emit({ type: 'data-warning', message }),
    opened: folders.opened,
  });
  for (const message of data.notes) await emit({ type: 'note', message });
  return data;
}

/** Refuses an objective the backend cannot train, before anything is written (perceptual: ONNX Runtime only). */
export function checkObjective(backend: ConcreteBackend, config: TrainConfig): void {
  if (config.objective !== 'pixel' && backend !== 'onnx') throw errors.objectiveNeedsOnnx(config.objective, backend);
}

/**
 * What computes a run's steps, and where validation runs: on onnx the ONNX Runtime engine, with its
 * own threads (1 + `threads` when given, else one per core); on the tfjs CPU backends the tfjs
 * engine with helper threads (`threads`, default one per core beyond the first), each taking a
 * shard of every batch; elsewhere the tfjs engine alone. `close` ends the helper threads.
 */
export async function startRunHelpers(backend: ConcreteBackend, threads: number | null, config: TrainConfig) {
  checkObjective(backend, config);
  const evaluator: Evaluator | undefined = await evaluatorFor(backend);
  if (backend === 'onnx') {
    const engine: StepEngineFactory = onnxEngine({ threads: threads === null ? undefined : threads + 1 });
    return { engine, helpers: undefined, evaluator, threads: 1, close: async () => undefined };
  }
  const n = threads ?? defaultThreads(backend);
  const cpu = backend === 'wasm' || backend === 'cpu';
  const helpers = n > 0 && cpu ? await GradientWorkers.start(n, backend, config) : undefined;
  return {
    engine: tfjsEngine(helpers),
    helpers,
    evaluator,
    threads: (helpers?.count ?? 0) + 1,
    close: async () => helpers?.close(),
  };
}

/** An error with the paths in its facts named as the user named them. */
export const namedError = (e: ErrorData, t: Through): ErrorData => t.named(new UserError(e.code, e.facts)).data;

/** A trainer's event with the paths and messages in it named as the user named them (through.ts). */
export function namedTrainEvent(e: TrainEvent, t: Through): TrainEvent {
  switch (e.type) {
    case 'checkpoint':
      return { ...e, path: t.named(e.path) };
    case 'preview':
      return e.path === undefined ? e : { ...e, path: t.named(e.path) };
    case 'warning':
      return { ...e, message: t.named(e.message) };
    case 'failed':
      return { ...e, message: t.named(e.message), error: namedError(e.error, t) };
    case 'end':
      return e.modelPath === undefined ? e : { ...e, modelPath: t.named(e.modelPath) };
    default:
      return e;
  }
}
