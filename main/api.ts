/**
 * The app's one API between the user interface and the engine host, defined once. The Electron
 * preload (IPC) and the browser-mode client (WebSocket) both implement `StudioApi`, derived from
 * these maps; the renderer only ever sees `StudioApi`. Types only: no runtime code here.
 */
import type { ActivationName } from '../ml/activations.ts';
import type { BackendChoice, BackendProbe, ConcreteBackend } from '../ml/backend-choice.ts';
import type { DegradeName } from '../ml/degrade.ts';
import type { NetworkConfig, PresetName, Scale } from '../ml/network.ts';
import type { TrainingSummary } from '../ml/weights.ts';

export type OutputFormat = 'png' | 'jpg' | 'webp' | 'tiff' | 'avif';
export type JobId = string;

export interface BackendStatus {
  /** The backend in use and why, e.g. "webgpu — NVIDIA H100 via Vulkan" or "wasm — no GPU adapter found". */
  readonly name: ConcreteBackend;
  readonly device: string;
  readonly why: string;
  readonly probes: readonly BackendProbe[];
}

export interface ModelInfo {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly bundled: boolean;
  /** The model the Upscale view starts with: the one `sr-studio upscale` uses at x2. */
  readonly isDefault: boolean;
  readonly config: NetworkConfig;
  readonly parameters: number;
  readonly training?: TrainingSummary | undefined;
}

export interface FileEntry {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
}

export interface Settings {
  readonly outputDir: string | null;
  readonly backend: BackendChoice;
  readonly recentModels: readonly string[];
}

/** An image sent to the UI: PNG bytes as a data URL, with its size. */
export interface ImageData64 {
  readonly dataUrl: string;
  readonly width: number;
  readonly height: number;
}

export interface UpscaleJob {
  readonly files: readonly string[];
  readonly modelId: string;
  readonly format: OutputFormat;
  readonly outputDir: string | null;
  readonly overwrite: boolean;
}

export interface TrainJob {
  readonly data: string;
  readonly val: string | null;
  readonly preset: PresetName;
  readonly scale: Scale;
  readonly activation: ActivationName;
  readonly iterations: number;
  readonly outDir: string | null;
  /** How training inputs are made (`sr-studio train --degrade`); none when absent. */
  readonly degrade?: DegradeName | undefined;
}

export interface CompareJob {
  readonly data: string;
  readonly val: string;
  readonly acts: readonly [ActivationName, ActivationName];
  readonly preset: PresetName;
  readonly scale: Scale;
  readonly iterations: number;
  readonly seeds: number;
}

export interface CompareModelsJob {
  readonly modelA: string;
  readonly modelB: string;
  readonly image: string;
}

/** Requests: channel → [argument, result]. Every handler validates its argument. */
export interface Requests {
  'app:status': [void, { version: string; backend: BackendStatus; settings: Settings }];
  'settings:set': [Partial<Settings>, Settings];
  'dialog:open-images': [void, string[]];
  'dialog:open-folder': [{ title: string }, string | null];
  'files:expand': [{ paths: string[] }, { files: FileEntry[]; problems: string[] }];
  'image:thumbnail': [{ path: string; maxSide: number }, ImageData64];
  'image:load': [{ path: string }, ImageData64];
  'models:list': [void, ModelInfo[]];
  'models:import': [{ path: string }, ModelInfo];
  'models:export': [{ modelId: string; to: string }, void];
  'activations:curves': [{ names: ActivationName[]; xMin: number; xMax: number; points: number }, Record<string, { x: number[]; f: number[]; df: number[] }>];
  'features:maps': [{ modelIds: [string, string]; image: string; layer: number }, Array<{ layers: string[]; maps: ImageData64[]; deadShare: number[] }>];
  'job:upscale': [UpscaleJob, { jobId: JobId }];
  'job:train': [TrainJob, { jobId: JobId }];
  'job:compare': [CompareJob, { jobId: JobId }];
  'job:compare-models': [CompareModelsJob, { jobId: JobId }];
  'job:pause': [{ jobId: JobId }, void];
  'job:resume': [{ jobId: JobId }, void];
  'job:cancel': [{ jobId: JobId }, void];
  'shell:reveal': [{ path: string }, void];
  /** Browser mode only: a dropped file's bytes, saved to the session's inbox folder. */
  'files:upload': [{ name: string; base64: string }, FileEntry];
}

/** Events pushed to the UI: channel → payload. */
export interface Events {
  'job:progress': { jobId: JobId; fraction: number; message: string; file?: string | undefined; fileFraction?: number | undefined };
  /** A tile of an upscale (x, y in output pixels), or a training preview strip. */
  'job:preview': { jobId: JobId; file?: string | undefined; x: number; y: number; width: number; height: number; image: ImageData64; fullWidth?: number; fullHeight?: number };
  /** Training/compare metrics: loss points and validation points. */
  'job:metrics': {
    jobId: JobId;
    run?: string | undefined;
    iteration: number;
    loss?: number | undefined;
    psnrY?: number | undefined;
    ssimY?: number | undefined;
    bicubicPsnrY?: number | undefined;
    itPerSec?: number | undefined;
    etaMs?: number | undefined;
  };
  'job:file-done': { jobId: JobId; file: string; output: string; width: number; height: number; result: ImageData64 };
  'job:file-error': { jobId: JobId; file: string; message: string };
  'job:done': { jobId: JobId; summary: string; result?: unknown };
  'job:error': { jobId: JobId; message: string };
  /** Electron's app menu: images or a folder chosen with Open images… / Open folder…. */
  'app:open': { paths: string[] };
  /** Electron's app menu: switch the view (Ctrl/Cmd+1…5). */
  'app:view': { view: ViewName };
}

export type ViewName = 'upscale' | 'train' | 'compare' | 'activations' | 'models';

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

/**
 * The browser-mode wire format over the WebSocket (JSON text frames). The URL carries the session
 * token (`?token=…`), checked on the HTTP request and the WebSocket upgrade alike.
 */
export type ClientMessage = { id: number; channel: RequestChannel; arg: unknown };
export type ServerMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { event: EventChannel; payload: unknown };
