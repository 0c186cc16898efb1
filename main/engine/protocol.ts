/**
 * The engine worker's protocol: requests from the host and events from the worker, each a
 * discriminated union on `type`, tied together by the request `id` the host picks. Paths here are
 * absolute and already validated by the host; the worker re-checks only what the engine checks.
 */
import type { BackendChoice } from '../../ml/backend-choice.ts';
import type { ImportedRuns } from '../../ml/node/imported-models.ts';
import type { ThroughMap } from '../../ml/node/through.ts';
import type { BackendPurpose, BackendReport, BackendSettings, CompareJob, Events, FeatureMapsResult, OutputFormat, PurposeBackend, TrainJob } from '../api.ts';

/** Passed as `workerData` when the worker starts. */
export interface WorkerOptions {
  /** The backend choice per purpose; each is started once, when the worker starts. */
  readonly backends: BackendSettings;
  /** Helper threads for training on CPU backends (null: one per core beyond the first). */
  readonly threads: number | null;
  /** The shortest time between two live previews of one job, in ms (0: every tile). */
  readonly previewIntervalMs: number;
  /**
   * Start both purposes' backends at once and report them (`ready`): the thread that answers the
   * status. Otherwise each starts with the first job that needs it (the training thread).
   */
  readonly report: boolean;
}

export interface UpscaleSpec {
  readonly files: readonly string[];
  readonly modelPath: string;
  readonly format: OutputFormat;
  readonly outputDir: string | null;
  readonly overwrite: boolean;
  /** Input pixels per tile (the engine's default when absent). */
  readonly tile?: number | undefined;
  /** How an imported ONNX model runs (its range and tile margin, as kept with it), by model path. */
  readonly imported?: ImportedRuns | undefined;
  /** Browser mode: what the host opened and checked, to be read and written through (ml/node/through.ts). */
  readonly through?: ThroughMap | undefined;
}

/** A training job as the UI asks for it, with the run's folder the host resolved. */
export interface TrainSpec extends Omit<TrainJob, 'outDir' | 'continueRun' | 'init'> {
  /** The weights file of the model to start from (the host resolved the id), or null. */
  readonly init?: string | null | undefined;
  /** A new run in a new folder inside `parent`, or an earlier run continued. */
  readonly run: { readonly kind: 'new'; readonly parent: string } | { readonly kind: 'continue'; readonly dir: string };
  /** Overrides for short runs (tests); the engine's defaults otherwise. */
  readonly tweaks?: { batch?: number; patch?: number; valEvery?: number; previewEvery?: number } | undefined;
  /** Browser mode: the folders and model the host opened and checked, to be read and written through (ml/node/through.ts). */
  readonly through?: ThroughMap | undefined;
}

/** A compare job as the UI asks for it, with the output folder the host resolved. */
export interface CompareSpec extends CompareJob {
  /** An empty (or new) folder for the runs and the report. */
  readonly outDir: string;
  /** Overrides for short runs (tests). */
  readonly tweaks?: { batch?: number; patch?: number; valEvery?: number; previewEvery?: number } | undefined;
  /** Browser mode: the folders the host opened and checked (the runs folder for `outDir`), to be read and written through. */
  readonly through?: ThroughMap | undefined;
}

export interface CompareModelsSpec {
  readonly modelA: string;
  readonly modelB: string;
  readonly image: string;
  /** The image is an original: the models enlarge its reduction, scored against it. */
  readonly groundTruth: boolean;
  /** A folder for the outputs (made if missing). */
  readonly outDir: string;
  /** How imported ONNX models among the two run (their range and tile margin, as kept with them), by model path. */
  readonly imported?: ImportedRuns | undefined;
  /** Browser mode: what the host opened and checked, to be read and written through (ml/node/through.ts). */
  readonly through?: ThroughMap | undefined;
}

export interface FeaturesSpec {
  readonly models: readonly [string, string];
  readonly image: string;
  readonly layer: number;
  readonly maxSide: number;
}

export type JobRequest =
  | { readonly type: 'upscale'; readonly id: number; readonly spec: UpscaleSpec }
  | { readonly type: 'train'; readonly id: number; readonly spec: TrainSpec }
  | { readonly type: 'compare'; readonly id: number; readonly spec: CompareSpec }
  | { readonly type: 'compare-models'; readonly id: number; readonly spec: CompareModelsSpec }
  | { readonly type: 'features'; readonly id: number; readonly spec: FeaturesSpec };

/** Controls name the job they act on by its request id. */
export type ControlRequest = { readonly type: 'pause' | 'resume' | 'cancel'; readonly id: number };

/** Answered at once, beside any running job, with a done event whose result is a BackendReport. */
export type ProbeRequest = { readonly type: 'probe'; readonly id: number };

/**
 * Whether a training runs in the other engine thread: upscaling started meanwhile takes fewer
 * ONNX Runtime threads, leaving cores to the training.
 */
export type BesideRequest = { readonly type: 'beside'; readonly training: boolean };

export type WorkerRequest = JobRequest | ControlRequest | ProbeRequest | BesideRequest;
export type JobType = JobRequest['type'];

/** An api.ts event payload with the job id replaced by the worker request id. */
type WithId<C extends keyof Events> = Omit<Events[C], 'jobId'> & { readonly id: number };

/**
 * An error as the engine reports it: its code and facts (the file, the backend, the reason), and
 * the command line's wording; the host words it for the app (main/host/wording.ts).
 */
export interface JobError {
  readonly code: string;
  readonly message: string;
  readonly file?: string | undefined;
  readonly facts?: Readonly<Record<string, string>> | undefined;
}

/**
 * A purpose's backend as the worker reports it (api.ts PurposeBackend), a failure to start with
 * the engine's error as it is: the host words it, once, for the status and for each job it fails.
 */
export type WorkerBackend = Extract<PurposeBackend, { ok: true }> | { readonly ok: false; readonly choice: BackendChoice; readonly error: JobError };
export type WorkerBackends = { readonly [P in BackendPurpose]: WorkerBackend };

export type WorkerEvent =
  | { readonly type: 'ready'; readonly backend: WorkerBackends }
  | { readonly type: 'init-error'; readonly error: JobError }
  | ({ readonly type: 'progress' } & WithId<'job:progress'>)
  | ({ readonly type: 'state' } & WithId<'job:state'>)
  | ({ readonly type: 'preview' } & WithId<'job:preview'>)
  | ({ readonly type: 'metrics' } & WithId<'job:metrics'>)
  | ({ readonly type: 'file-done' } & WithId<'job:file-done'>)
  | { readonly type: 'file-error'; readonly id: number; readonly file: string; readonly error: JobError }
  | ({ readonly type: 'done' } & WithId<'job:done'>)
  | { readonly type: 'error'; readonly id: number; readonly error: JobError }
  /** The answer to a request that is not a job (a probe, feature maps). */
  | { readonly type: 'answer'; readonly id: number; readonly result: BackendReport | FeatureMapsResult };

/** Worker event type → the api.ts event channel it becomes. */
export const EVENT_CHANNEL = {
  progress: 'job:progress',
  state: 'job:state',
  preview: 'job:preview',
  metrics: 'job:metrics',
  'file-done': 'job:file-done',
  'file-error': 'job:file-error',
  done: 'job:done',
  error: 'job:error',
} as const satisfies Record<Exclude<WorkerEvent['type'], 'ready' | 'init-error' | 'answer'>, keyof Events>;

/** Every event that belongs to a request (a job's events, and answers). */
export type JobEvent = Extract<WorkerEvent, { id: number }>;

export function isJobEvent(e: WorkerEvent): e is JobEvent {
  return e.type === 'answer' || Object.hasOwn(EVENT_CHANNEL, e.type);
}
