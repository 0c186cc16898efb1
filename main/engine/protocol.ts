/**
 * The engine worker's protocol: requests from the host and events from the worker, tied together
 * by the job id the host picks (the one the page knows the job by). Paths here are
 * absolute and already validated by the host; the worker re-checks only what the engine checks.
 */
import type { BackendChoice, Purpose } from '../../ml/backend-choice.ts';
import type { ErrorData } from '../../ml/errors.ts';
import type { CompareJobSpec } from '../../ml/jobs/compare.ts';
import type { CompareModelsJobSpec } from '../../ml/jobs/compare-models.ts';
import type { FeaturesJobSpec } from '../../ml/jobs/features.ts';
import type { TrainJobSpec } from '../../ml/jobs/train.ts';
import type { UpscaleJobSpec } from '../../ml/jobs/upscale.ts';
import type { BackendReport, BackendSettings, FeatureMapsResult, JobEvent, JobId, PurposeBackend } from '../api.ts';

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

/**
 * What the worker fills in itself for every job: the started backend, its threads, the pause and
 * cancel control, and how the run was started. A job's request is its ml/jobs spec without these;
 * paths are absolute, and in browser mode `through` names what the host opened and checked, to be
 * read and written through (ml/node/through.ts).
 */
type FilledByWorker = 'backend' | 'threads' | 'control' | 'command';

/** ml/jobs/upscale.ts, the model named by its file. */
export type UpscaleSpec = Omit<UpscaleJobSpec<string>, FilledByWorker>;
/** ml/jobs/train.ts, the model to start from (`init`) named by its weights file. */
export type TrainSpec = Omit<TrainJobSpec, FilledByWorker>;
/** ml/jobs/compare.ts. */
export type CompareSpec = Omit<CompareJobSpec, FilledByWorker>;
/** ml/jobs/compare-models.ts, the models named by their files. */
export type CompareModelsSpec = Omit<CompareModelsJobSpec, FilledByWorker>;
/** ml/jobs/features.ts, the models named by their files. */
export type FeaturesSpec = FeaturesJobSpec;

/** Every request names its job by the id the host gave it, the id the page knows it by. */
export type JobRequest =
  | { readonly type: 'upscale'; readonly jobId: JobId; readonly spec: UpscaleSpec }
  | { readonly type: 'train'; readonly jobId: JobId; readonly spec: TrainSpec }
  | { readonly type: 'compare'; readonly jobId: JobId; readonly spec: CompareSpec }
  | { readonly type: 'compare-models'; readonly jobId: JobId; readonly spec: CompareModelsSpec }
  | { readonly type: 'features'; readonly jobId: JobId; readonly spec: FeaturesSpec };

export type ControlRequest = { readonly type: 'pause' | 'resume' | 'cancel'; readonly jobId: JobId };

/** Answered at once, beside any running job, with an answer whose result is a BackendReport. */
export type ProbeRequest = { readonly type: 'probe'; readonly jobId: JobId };

/**
 * Whether a training runs in the other engine thread: upscaling started meanwhile takes fewer
 * ONNX Runtime threads, leaving cores to the training.
 */
export type BesideRequest = { readonly type: 'beside'; readonly training: boolean };

export type WorkerRequest = JobRequest | ControlRequest | ProbeRequest | BesideRequest;
export type JobType = JobRequest['type'];

/**
 * An error as the engine reports it: its code and facts (the file, the backend, the reason), no
 * sentence; the host words it for the app (main/host/wording.ts).
 */
export type JobError = ErrorData;

/**
 * A purpose's backend as the worker reports it (api.ts PurposeBackend), a failure to start with
 * the engine's error as it is: the host words it, once, for the status and for each job it fails.
 */
export type WorkerBackend =
  | Extract<PurposeBackend, { ok: true }>
  | { readonly ok: false; readonly choice: BackendChoice; readonly error: JobError };
export type WorkerBackends = { readonly [P in Purpose]: WorkerBackend };

/**
 * What the worker posts. A job's events are the page's own (api.ts JobEvent, with the job's id),
 * passed on by the host as they are; only its errors come as the engine's, for the host to word.
 */
export type WorkerEvent =
  | { readonly type: 'ready'; readonly backend: WorkerBackends }
  | { readonly type: 'init-error'; readonly error: JobError }
  | Exclude<JobEvent, { channel: 'job:error' | 'job:file-error' }>
  | { readonly type: 'file-error'; readonly jobId: JobId; readonly file: string; readonly error: JobError }
  | { readonly type: 'error'; readonly jobId: JobId; readonly error: JobError }
  /**
   * One run of a comparison stopped on an error, and the comparison goes on: the run as messages
   * name it (`runLabel`), where the job's progress is, and the error, for the host to word as a
   * progress line.
   */
  | {
      readonly type: 'run-error';
      readonly jobId: JobId;
      readonly run: string;
      readonly fraction: number;
      readonly error: JobError;
    }
  /** The answer to a request that is not a job (a probe, feature maps). */
  | { readonly type: 'answer'; readonly jobId: JobId; readonly result: BackendReport | FeatureMapsResult };

/** The worker's events that belong to one request (all but ready and init-error). */
export type RequestEvent = Exclude<WorkerEvent, { type: 'ready' | 'init-error' }>;

/** The request a worker event belongs to. */
export const jobIdOf = (e: RequestEvent): JobId => ('channel' in e ? e.payload.jobId : e.jobId);
