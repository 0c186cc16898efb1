/**
 * The app's one API between the user interface and the engine host, defined once. The Electron
 * preload (IPC) and the browser-mode client (WebSocket) both implement `StudioApi`, derived from
 * these maps; the renderer only ever sees `StudioApi`. Types only: no runtime code here.
 */
import type { ActivationName } from '../ml/activations.ts';
import type { BackendChoice, BackendProbe, ConcreteBackend, Purpose } from '../ml/backend-choice.ts';
import type { DegradeName } from '../ml/degrade.ts';
import type { NetworkConfig, PresetName } from '../ml/network.ts';
import type { CompareJobSpec } from '../ml/jobs/compare.ts';
import type { CompareModelsJobResult as CompareModelsResult, CompareModelsJobSpec } from '../ml/jobs/compare-models.ts';
import type { FeaturesJobSpec } from '../ml/jobs/features.ts';
import type { TrainJobResult, TrainJobSpec, ViewSettings } from '../ml/jobs/train.ts';
import type { UpscaleJobSpec } from '../ml/jobs/upscale.ts';
import type { RunPoint } from '../ml/node/runs.ts';
import type { CompareReport } from '../ml/train/compare.ts';
import type { Objective } from '../ml/train/objective.ts';
import type { TrainingSummary } from '../ml/weights.ts';
import type { ErrorCode, Facts } from '../ml/errors.ts';

import type { OutputFormat } from '../ml/node/image-io.ts';
import type { EnlargeFilter, TileSource as EngineTileSource } from '../ml/node/tiles.ts';
import type { VIEWS } from './channels.ts';

export type { OutputFormat, EnlargeFilter, Purpose };
export type JobId = string;

/**
 * The engine picks a backend per purpose (ml/backend-choice.ts): `upscale` (upscaling, comparing
 * models) and `train` (training, comparisons, feature maps). On a machine without a GPU, auto does
 * both on ONNX Runtime (where it is installed; else on WebAssembly).
 */
export type BackendSettings = { readonly [P in Purpose]: BackendChoice };

/** What one purpose runs on, or why its backend could not start. */
export type PurposeBackend =
  | {
      readonly ok: true;
      readonly choice: BackendChoice;
      readonly name: ConcreteBackend;
      readonly device: string;
      /** The backend in use and why, e.g. "onnx — ONNX Runtime 1.30.0 (CPU); skipped webgpu: no hardware GPU (…)". */
      readonly why: string;
      /** Training only: where validation and previews run when not on the training backend. */
      readonly validation: string | null;
    }
  | { readonly ok: false; readonly choice: BackendChoice; readonly error: string };

export type BackendStatus = { readonly [P in Purpose]: PurposeBackend };

/** Everything the engine found on this machine (the Settings view), and auto's pick per purpose. */
export interface BackendReport {
  readonly probes: readonly BackendProbe[];
  readonly auto: { readonly [P in Purpose]: { readonly name: ConcreteBackend; readonly why: string } };
}

export interface ModelInfo {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly bundled: boolean;
  /** The model the Upscale view starts with: the one `sr-studio upscale` uses at x2. */
  readonly isDefault: boolean;
  /** The network of an SR Studio model; absent for an imported ONNX model (see `imported`). */
  readonly config?: NetworkConfig | undefined;
  /** Counted from the weights (an imported model: from its initialisers). */
  readonly parameters: number;
  readonly training?: TrainingSummary | undefined;
  /** An ONNX model brought from elsewhere: it upscales but cannot be trained. */
  readonly imported?: ImportedModelSummary | undefined;
}

export interface ImportedModelSummary {
  readonly scale: number;
  /** The values it takes: 1 for 0–1, 255 for 0–255. */
  readonly range: 1 | 255;
  readonly dtype: 'float32' | 'float16';
  /** Context margin a tile needs, in input pixels. */
  readonly margin: number;
  /** The model file's size in bytes. */
  readonly bytes: number;
  /** The file it was imported from (an upload: the name it was dropped with). */
  readonly source: string;
  readonly producer: string;
  /** Where its range came from: chosen (given), its metadata, the probe, or a guess (the probe could not tell). */
  readonly rangeFrom?: 'given' | 'metadata' | 'probe' | 'guess' | undefined;
  /** The margin was chosen rather than found by the probe. */
  readonly marginGiven?: boolean | undefined;
}

/** What checking and probing an ONNX model found, before it is imported (models:probe). */
export interface ImportProbe {
  /** The name it would be imported as. */
  readonly name: string;
  readonly scale: number;
  /** The range it was found to take; with rangeFrom 'guess', only a guess, for the user to choose. */
  readonly range: 1 | 255;
  readonly rangeFrom: 'given' | 'metadata' | 'probe' | 'guess';
  /** The tile margin the probe found, in input pixels. */
  readonly margin: number;
  /** False when even the largest margin tried left a tile's centre different. */
  readonly marginFound: boolean;
  /** The largest margin that can be set (a fixed input size leaves room for only so much). */
  readonly maxMargin: number;
  readonly fixedSize: { readonly width: number; readonly height: number } | null;
  readonly dtype: 'float32' | 'float16';
  readonly parameters: number;
  readonly bytes: number;
  readonly producer: string;
}

/** How an imported ONNX model runs, chosen at import or later: the values it takes and the tile margin. */
export interface ImportedModelSettings {
  readonly range: 1 | 255;
  readonly margin: number;
}

export interface FileEntry {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
}

export interface Settings {
  readonly outputDir: string | null;
  readonly backends: BackendSettings;
  /** Helper threads for training on CPU backends; null: one per core beyond the first. */
  readonly threads: number | null;
  readonly recentModels: readonly string[];
}

/** An image sent to the UI: PNG bytes as a data URL, with its size. */
export interface ImageData64 {
  readonly dataUrl: string;
  readonly width: number;
  readonly height: number;
}

/**
 * An image for the viewer, served as a tile pyramid (ml/node/tiles.ts): a file, or the file enlarged
 * to `width` × `height` (a whole multiple of its own size) with a named filter (each pixel repeated,
 * or the engine's bicubic), aligned pixel for pixel with a network's output of that size. The page
 * names files by path only; where the host reads them is its own business.
 */
export type TileSource = Omit<EngineTileSource, 'read'>;

/**
 * A source's pyramid: level 0 is `width` × `height`, level k is ceil(width / 2^k) × ceil(height / 2^k),
 * down to the level that fits in one tile; tile (col, row) of a level covers its pixels
 * [col·tileSize, (col+1)·tileSize) × [row·tileSize, (row+1)·tileSize), clipped at the edges.
 */
export interface TilePyramid {
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  readonly levels: number;
  /** Changes when the file does. */
  readonly version: string;
}

/*
 * Each job's request is its spec in ml/jobs, less what the host and the engine fill in (the
 * backend, threads, the files opened for it); models are named by a `models:list` id. A field
 * added to a spec there is a field of the request here.
 */

/** ml/jobs/upscale.ts: image files, the model's id, the output format and folder (null: next to each photo). */
export type UpscaleJob = Omit<UpscaleJobSpec<string>, 'backend' | 'threads' | 'through' | 'tile' | 'overlap'>;

type SpecRun<K extends TrainJobSpec['run']['kind']> = Extract<TrainJobSpec['run'], { readonly kind: K }>;

/**
 * Where a training goes, as the spec's `run` names it: a new run in a new folder under `parent`
 * (null: the app's runs folder, which the host fills in), or an earlier run continued in its own
 * folder (`dir`, a `runs:list` entry's). The app never names a new run's own folder.
 */
export type TrainRun =
  | (Omit<SpecRun<'new'>, 'dir' | 'parent'> & { readonly parent: SpecRun<'new'>['parent'] | null })
  | SpecRun<'continue'>;

/**
 * ml/jobs/train.ts: the Train view's settings, the photos, where the run goes (`run`), and the model
 * to start from (`init`, a `models:list` id; null: from scratch; ignored when continuing).
 */
export interface TrainJob
  extends ViewSettings,
    Required<Pick<TrainJobSpec, 'data' | 'val'>>,
    Pick<TrainJobSpec, 'init'> {
  readonly run: TrainRun;
}

/** One point a listed run recorded (ml/node/runs.ts): a loss, or a validation's scores. */
export type { RunPoint };

/** An earlier training run, as the Train view lists it. */
export interface RunInfo {
  readonly dir: string;
  /** The folder's name: the settings and when it started. */
  readonly name: string;
  readonly preset: PresetName | null;
  readonly scale: number;
  readonly activation: ActivationName;
  readonly iterations: number;
  readonly degrade: DegradeName;
  /** What it trains the network for (pixel error, or perceptual), and a perceptual run's adversarial weight. */
  readonly objective: Objective;
  readonly advWeight: number | null;
  /** The training and validation folders it was started with (null when it predates recording them). */
  readonly data: string | null;
  readonly val: string | null;
  /**
   * finished: all iterations done; stopped: cancelled, with a checkpoint at `iteration`; failed: it
   * ended with an error; interrupted: its process ended without saying (crash, killed); running:
   * a job is training it now. A run can be continued unless finished or running.
   */
  readonly state: 'finished' | 'stopped' | 'failed' | 'interrupted' | 'running';
  /** The iteration the next continue starts from (its newest checkpoint; 0 when there is none). */
  readonly iteration: number;
  readonly best: { readonly iteration: number; readonly psnrY: number } | null;
  readonly modelPath: string | null;
  readonly message: string | null;
  readonly updated: string;
}

/** ml/jobs/compare.ts: two activations trained alike with the Compare view's settings; the host picks the folder. */
export interface CompareJob
  extends Omit<ViewSettings, 'activation' | 'degrade'>,
    Pick<CompareJobSpec, 'data' | 'seeds'> {
  readonly val: string;
  readonly acts: readonly [ActivationName, ActivationName];
}

/**
 * Two models enlarge a whole image. Models are named by id: a listed model's, or `run:` and the
 * path of a model file the app's own runs wrote (a comparison's `models`). With `groundTruth` the
 * image is taken as the original: the models enlarge its reduction and are scored against it.
 */
export type CompareModelsJob = Pick<CompareModelsJobSpec, 'modelA' | 'modelB' | 'image'> &
  Partial<Pick<CompareModelsJobSpec, 'groundTruth'>>;

/** ml/jobs/features.ts: two models' feature maps of one layer on the centre crop of an image (the host sets the crop). */
export type FeaturesJob = Omit<FeaturesJobSpec, 'models' | 'maxSide'> & { readonly models: readonly [string, string] };

/** job:done's result of a compare-models job, and one of its two outputs. */
export type {
  CompareModelsJobResult as CompareModelsResult,
  ModelOutput as CompareModelsOutput,
} from '../ml/jobs/compare-models.ts';

/** What each kind of job leaves, in its job:done event. */
export interface UpscaleResult {
  readonly upscaled: number;
  readonly failed: number;
  readonly cancelled: boolean;
  readonly outputs: readonly string[];
}

/** How a training ended (ml/jobs/train.ts), without the timings. */
export type TrainResult = Omit<TrainJobResult, 'elapsedMs' | 'msPerIteration' | 'message' | 'error'>;

export interface CompareResult extends CompareReport {
  readonly dir: string;
  /** bicubic | each activation | ground truth on the same crops. */
  readonly sheet: ImageData64 | null;
  /** Each activation's trained model of the first seed (for comparing them on whole images). */
  readonly models: Readonly<Record<string, string>>;
}

export type FeatureMapsResult = Array<{ layers: string[]; maps: ImageData64[]; deadShare: number[] }>;

export type JobKind = 'upscale' | 'train' | 'compare' | 'compare-models';

export type JobResult =
  | ({ readonly kind: 'upscale' } & UpscaleResult)
  | ({ readonly kind: 'train' } & TrainResult)
  | ({ readonly kind: 'compare' } & CompareResult)
  | ({ readonly kind: 'compare-models' } & CompareModelsResult)
  /** Cancelled while it waited in the queue. */
  | { readonly kind: 'cancelled' };

/** An upscaled photo in the history (results:list), as the Results list shows it. */
export interface ResultInfo {
  readonly output: string;
  /** The input's name as the user knows it (an upload's dropped name). */
  readonly name: string;
  /** The input, while it is still there to compare against (uploads go when SR Studio restarts). */
  readonly input: string | null;
  readonly width: number;
  readonly height: number;
  /** When it was written (ISO 8601). */
  readonly at: string;
}

/** A job the engine holds (running, paused or queued), for a page that reconnects. */
export interface JobInfo {
  readonly jobId: JobId;
  readonly kind: JobKind;
  readonly state: 'queued' | 'running' | 'paused';
  readonly spec: UpscaleJob | TrainJob | CompareJob | CompareModelsJob;
  /** Everything the job has reported so far that a view draws (progress, metrics, the latest previews), in order. */
  readonly events: readonly ReplayedEvent[];
}

/** Requests: channel → [argument, result]. Every handler validates its argument. */
export interface Requests {
  'app:status': [void, { version: string; backend: BackendStatus; settings: Settings }];
  /** Probes every backend (the GPU probe is cached per machine); for the Settings view. */
  'backends:probe': [void, BackendReport];
  'settings:set': [Partial<Settings>, Settings];
  'dialog:open-images': [void, string[]];
  'dialog:open-folder': [{ title: string }, string | null];
  'files:expand': [{ paths: string[] }, { files: FileEntry[]; problems: string[] }];
  'image:thumbnail': [{ path: string; maxSide: number }, ImageData64];
  /** Whether an image can be upscaled: its size, or a one-sentence refusal (empty, not an image, too small). */
  'image:check': [{ path: string }, { width: number; height: number }];
  'image:load': [{ path: string }, ImageData64];
  /** The tile pyramid of an image for the viewer (made on demand, the first time a little slower). */
  'image:info': [TileSource, TilePyramid];
  /** One tile of a source's pyramid as PNG. */
  'image:tile': [TileSource & { level: number; col: number; row: number }, ImageData64];
  'models:list': [void, ModelInfo[]];
  /** An ONNX model checked and probed, not imported: what was found, for the user to confirm or change. */
  'models:probe': [{ path: string }, ImportProbe];
  /** Imports a model; an ONNX model's range and tile margin may be chosen (else as found). */
  'models:import': [{ path: string; range?: 1 | 255 | undefined; margin?: number | undefined }, ModelInfo];
  /** Changes how an imported ONNX model runs (kept with it, for every later upscale). */
  'models:adjust': [{ modelId: string } & ImportedModelSettings, ModelInfo];
  'models:export': [{ modelId: string; to: string }, void];
  /**
   * Browser mode: writes the model as a file for this request (weights as they are, or exported to
   * ONNX) and answers with what to download.
   */
  'models:download': [{ modelId: string; format: 'safetensors' | 'onnx' }, { path: string; name: string }];
  'activations:curves': [
    { names: ActivationName[]; xMin: number; xMax: number; points: number },
    Record<string, { x: number[]; f: number[]; df: number[] }>,
  ];
  'features:maps': [FeaturesJob, FeatureMapsResult];
  /** Earlier training runs in the app's runs folder, newest first. */
  'runs:list': [void, RunInfo[]];
  /** What a listed run recorded (its metrics.jsonl), in order, for the charts of a run that goes on. */
  'runs:metrics': [{ dir: string }, RunPoint[]];
  /**
   * Upscaled photos that are still there, newest first (kept across restarts), and browser mode's
   * results folder, where upscales go when no output folder is typed (null in the desktop app).
   */
  'results:list': [void, { folder: string | null; results: ResultInfo[] }];
  /** Forgets the list of results; the files stay. */
  'results:clear': [void, void];
  /** The jobs the engine holds now (a reloaded page re-attaches to them). */
  'jobs:list': [void, JobInfo[]];
  'job:upscale': [UpscaleJob, { jobId: JobId }];
  'job:train': [TrainJob, { jobId: JobId }];
  'job:compare': [CompareJob, { jobId: JobId }];
  'job:compare-models': [CompareModelsJob, { jobId: JobId }];
  /** The training pauses after the step in hand; job:state says when it has. */
  'job:pause': [{ jobId: JobId }, { jobId: JobId; state: 'pausing' }];
  'job:resume': [{ jobId: JobId }, { jobId: JobId; state: 'running' }];
  'job:cancel': [{ jobId: JobId }, { jobId: JobId; state: 'cancelling' }];
  'shell:reveal': [{ path: string }, void];
  /**
   * Browser mode only: asks to upload a dropped file, by name and size in bytes. The answer is the
   * address to PUT the file's bytes to (once, within a minute), which answers an `UploadReply`.
   */
  'files:upload': [{ name: string; bytes: number }, { url: string }];
}

/** Events pushed to the UI: channel → payload. */
export interface Events {
  /** A line that says an error (one run of a comparison stopped on it) carries its code and facts too. */
  'job:progress': {
    jobId: JobId;
    fraction: number;
    message: string;
    file?: string | undefined;
    fileFraction?: number | undefined;
  } & ErrorFields;
  /** A job's state changed: queued (waiting behind another job; the message says for what), running, paused. */
  'job:state': { jobId: JobId; state: 'queued' | 'running' | 'paused'; message: string };
  /** A tile of an upscale (x, y in output pixels), or a training preview strip (a comparison sends none). */
  'job:preview': {
    jobId: JobId;
    file?: string | undefined;
    x: number;
    y: number;
    width: number;
    height: number;
    image: ImageData64;
    fullWidth?: number;
    fullHeight?: number;
  };
  /**
   * Training/compare metrics: loss points and validation points. A comparison's points name their
   * run's activation and seed; its etaMs is the whole comparison's time left.
   */
  'job:metrics': {
    jobId: JobId;
    act?: ActivationName | undefined;
    seed?: number | undefined;
    iteration: number;
    loss?: number | undefined;
    psnrY?: number | undefined;
    ssimY?: number | undefined;
    /** The detail measure: mean |∇Y| of the output over the ground truth's. */
    detail?: number | undefined;
    bicubicPsnrY?: number | undefined;
    itPerSec?: number | undefined;
    etaMs?: number | undefined;
  };
  'job:file-done': {
    jobId: JobId;
    file: string;
    output: string;
    width: number;
    height: number;
    result: ImageData64;
    warning?: string;
  };
  /** One file of a batch failed (the others go on): the sentence, and the error's code and facts when a user can cause it. */
  'job:file-error': { jobId: JobId; file: string; message: string } & ErrorFields;
  'job:done': { jobId: JobId; summary: string; result: JobResult };
  /** The job failed: the sentence, and the error's code and facts when a user can cause it. */
  'job:error': { jobId: JobId; message: string } & ErrorFields;
  /** Electron's app menu: images or a folder chosen with Open images… / Open folder…. */
  'app:open': { paths: string[] };
  /** Electron's app menu: switch the view (Ctrl/Cmd+1…6). */
  'app:view': { view: ViewName };
}

/** The channels of a job's events: each payload names its job by `jobId`. */
export type JobChannel = Extract<EventChannel, `job:${string}`>;
/** One event of a job, as the engine makes it and the page gets it: its channel and payload. */
export type JobEvent = { [C in JobChannel]: { readonly channel: C; readonly payload: Events[C] } }[JobChannel];
/** The job events a reconnecting page is given again (job:done and job:error end a job instead). */
export type ReplayedEvent = Exclude<JobEvent, { channel: 'job:done' | 'job:error' }>;

/** One of the app's views (main/channels.ts VIEWS). */
export type ViewName = (typeof VIEWS)[number]['id'];

export type RequestChannel = keyof Requests;
export type EventChannel = keyof Events;
export type RequestArg<C extends RequestChannel> = Requests[C][0];
export type RequestResult<C extends RequestChannel> = Requests[C][1];

/** What the renderer gets: one call per request channel, one subscription per event channel. */
export interface StudioApi {
  request<C extends RequestChannel>(channel: C, arg: RequestArg<C>): Promise<RequestResult<C>>;
  on<C extends EventChannel>(channel: C, listener: (payload: Events[C]) => void): () => void;
  /** 'electron' or 'browser' (served on 127.0.0.1 with a token). */
  readonly mode: 'electron' | 'browser';
}

/** The answer to an upload's PUT: the file as saved in the session's inbox, or why not in one sentence. */
export type UploadReply =
  | { readonly ok: true; readonly file: FileEntry }
  | { readonly ok: false; readonly error: string };

/**
 * What the UI gets beside an error's sentence: for an error a user can cause, its code and facts
 * (the file, the field; paths shown by the names the user knows), by which the UI places the error
 * beside its control, never by its words. Absent for an unexpected error.
 */
export interface ErrorFields {
  readonly code?: ErrorCode | undefined;
  readonly facts?: Facts | undefined;
}

/** A failed request as the UI gets it: one sentence (`error`) and, beside it, the error's code and facts. */
export type RequestFailure = { readonly error: string } & ErrorFields;

/**
 * The browser-mode wire format over the WebSocket `/ws` (JSON text frames). The page's session
 * cookie authenticates it (set from the printed address's `?token=…` on first load); other clients
 * may pass `?token=…` instead.
 */
export type ClientMessage = { id: number; channel: RequestChannel; arg: unknown };
export type ServerMessage =
  | { id: number; ok: true; result: unknown }
  | ({ id: number; ok: false } & RequestFailure)
  | { event: EventChannel; payload: unknown };
