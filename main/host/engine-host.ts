/**
 * Owns the engine workers: one for the short jobs (upscaling, model comparison, feature maps), which
 * also reports the backends and answers probes, started with the host; and one for trainings and
 * comparisons, started with the first and ended when none has come for a while. So an upscale
 * never waits for a training: both share the CPU, and the training's progress says so
 * (cpu-sharing.ts). Jobs of one thread still run one at a time, the others told what they wait for.
 * Passes jobs to the workers under the job id it gives them, and their events on to the page as they are,
 * restarts the short jobs' worker if it dies (each job a dying worker was running gets a
 * job:error), and on close cancels every job and waits, so a training run saves its checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../ml/errors.ts';
import type {
  BackendReport,
  BackendSettings,
  BackendStatus,
  EventChannel,
  Events,
  FeatureMapsResult,
  JobId,
} from '../api.ts';
import {
  jobIdOf,
  type JobError,
  type JobRequest,
  type JobType,
  type RequestEvent,
  type WorkerBackends,
  type WorkerEvent,
  type WorkerOptions,
  type WorkerRequest,
} from '../engine/protocol.ts';
import { CpuSharing, TRAINING_JOBS } from './cpu-sharing.ts';
import { forPage, type DisplayName } from './wording.ts';

export type Emit = <C extends EventChannel>(channel: C, payload: Events[C]) => void;
/** A job as the host submits it: a request without its id (the host gives it one). */
export type JobInput = JobRequest extends infer R ? (R extends JobRequest ? Omit<R, 'jobId'> : never) : never;

/** What the request handlers need from the engine (tests substitute their own). */
export interface Engine {
  backend(): Promise<BackendStatus>;
  readonly busy: boolean;
  startJob(job: JobInput): JobId;
  /** Runs a request whose answer is not a job's (feature maps); rejects with its message. */
  call(job: Extract<JobInput, { type: 'features' }>): Promise<FeatureMapsResult>;
  control(jobId: JobId, action: 'pause' | 'resume' | 'cancel'): void;
  /** Every backend's probe and auto's picks (answered beside a running job). */
  probe(): Promise<BackendReport>;
  /** Restarts the engine on other backends or thread counts; refused while a job runs. */
  configure(config: EngineConfig): Promise<void>;
  close(): Promise<void>;
}

/** What the engine is started with, from the settings. */
export interface EngineConfig {
  readonly backends: BackendSettings;
  readonly threads: number | null;
}

export interface EngineHostOptions extends EngineConfig {
  readonly emit: Emit;
  /** Shortest time between two tile previews of a job (default 150 ms). */
  readonly previewIntervalMs?: number | undefined;
  readonly workerUrl?: URL | undefined;
  /** How long the training worker stays after its last job ends (default 120 s). */
  readonly keepWarmMs?: number | undefined;
  /** How long close() waits for jobs to stop (default 120 s). */
  readonly closeTimeoutMs?: number | undefined;
  /** Shows a path in an error as the user knows it (default: as it is); the errors are worded for the app. */
  readonly name?: DisplayName | undefined;
}

/** The short jobs' worker, or the training one. */
type Lane = 'short' | 'training';
const laneOf = (type: JobType | 'probe'): Lane => (type !== 'probe' && TRAINING_JOBS.has(type) ? 'training' : 'short');

interface Pending {
  readonly type: JobType | 'probe';
  readonly resolve?: (result: unknown) => void;
  readonly reject?: (e: Error) => void;
}

const DEFAULT_WORKER = new URL('../engine/worker-entry.mjs', import.meta.url);
const MAX_QUICK_RESTARTS = 3;

export class EngineHost implements Engine {
  readonly #opts: EngineHostOptions;
  #config: EngineConfig;
  readonly #workers: { [L in Lane]?: Worker } = {};
  #backend!: Promise<BackendStatus>;
  readonly #pending = new Map<JobId, Pending>();
  readonly #sharing: CpuSharing;
  #closed = false;
  #quickRestarts = 0;
  #idle: (() => void) | undefined;
  #cooling: NodeJS.Timeout | undefined;

  constructor(opts: EngineHostOptions) {
    this.#opts = opts;
    this.#config = { backends: opts.backends, threads: opts.threads };
    this.#sharing = new CpuSharing({
      progress: (e) => this.#emitJobEvent(e),
      trainingRuns: (training) =>
        this.#workers.short?.postMessage({ type: 'beside', training } satisfies WorkerRequest),
    });
    this.#start('short');
  }

  /** Engine worker threads alive now: the short jobs' one, and the training one while it is warm. */
  get threadCount(): number {
    return Object.values(this.#workers).length;
  }

  #start(lane: Lane): Worker {
    const report = lane === 'short';
    let ready: (b: BackendStatus) => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    if (report) {
      this.#backend = new Promise<BackendStatus>((res, rej) => ((ready = res), (failed = rej)));
      this.#backend.catch(() => undefined);
    }
    const data: WorkerOptions = { ...this.#config, previewIntervalMs: this.#opts.previewIntervalMs ?? 150, report };
    const worker = new Worker(this.#opts.workerUrl ?? DEFAULT_WORKER, { workerData: data, execArgv: [] });
    const started = Date.now();
    this.#workers[lane] = worker;
    if (report && this.#sharing.trainingRuns)
      worker.postMessage({ type: 'beside', training: true } satisfies WorkerRequest);
    worker.on('message', (e: WorkerEvent) => {
      if ('channel' in e) this.#onJobEvent(e);
      else if (e.type === 'ready') ready(this.#status(e.backend));
      else if (e.type === 'init-error') failed(this.#error(e.error));
      else this.#onJobEvent(e);
    });
    worker.on('error', (e) => console.error('The engine worker failed:', e));
    worker.on('exit', (code) => {
      if (this.#workers[lane] !== worker) return; // replaced or ended on purpose
      delete this.#workers[lane];
      failed(new Error('The engine stopped before it was ready.'));
      const why = `The engine stopped unexpectedly (exit code ${code})`;
      for (const [jobId, p] of this.#pending)
        if (laneOf(p.type) === lane)
          this.#finish(jobId, p, { error: `${why}; it has been restarted, so start the job again.` });
      // The training worker starts again with the next training.
      if (this.#closed || lane === 'training') return;
      this.#quickRestarts = Date.now() - started < 10_000 ? this.#quickRestarts + 1 : 0;
      if (this.#quickRestarts <= MAX_QUICK_RESTARTS) this.#start(lane);
      else console.error(`${why} ${this.#quickRestarts} times in a row; not restarting it.`);
    });
    return worker;
  }

  /** The engine's error as the page gets it: the app's sentence, its code and facts. */
  #shown(e: JobError): ReturnType<typeof forPage> {
    return forPage(e, this.#opts.name);
  }

  #word(e: JobError): string {
    return this.#shown(e).message;
  }

  /** The engine's error to throw in the host: its code and facts, said in the app's words. */
  #error(e: JobError): UserError {
    const error = new UserError(e.code, e.facts);
    error.message = this.#word(e);
    return error;
  }

  /** The worker's backends as the app shows them: a backend that failed to start, in one sentence. */
  #status(b: WorkerBackends): BackendStatus {
    const one = (p: WorkerBackends[keyof WorkerBackends]) =>
      p.ok ? p : { ok: false as const, choice: p.choice, error: this.#word(p.error) };
    return { upscale: one(b.upscale), train: one(b.train) };
  }

  #onJobEvent(e: RequestEvent): void {
    const p = this.#pending.get(jobIdOf(e));
    if (!p) return;
    if (p.type === 'probe') this.#emitJobEvent(e);
    else this.#sharing.see(p.type, e, (x) => this.#emitJobEvent(x));
  }

  /** A job's events go to the page as they are; its errors are worded first, and its end ends it here. */
  #emitJobEvent(e: RequestEvent): void {
    const jobId = jobIdOf(e);
    const p = this.#pending.get(jobId);
    if (!p) return;
    if ('channel' in e) {
      if (e.channel === 'job:done') return this.#finish(jobId, p, { event: e.payload });
      if (!p.resolve) this.#opts.emit(e.channel, e.payload as never);
      return;
    }
    switch (e.type) {
      case 'answer':
        return this.#finish(jobId, p, { result: e.result });
      case 'error':
        return this.#finish(jobId, p, { error: e.error });
      case 'file-error':
        return this.#opts.emit('job:file-error', { jobId, file: e.file, ...this.#shown(e.error) });
      case 'run-error': {
        const shown = this.#shown(e.error);
        const message = `${e.run}: ${shown.message}`;
        return this.#opts.emit('job:progress', { jobId, fraction: e.fraction, ...shown, message });
      }
    }
  }

  /** `error`: the engine's, or the host's own sentence (the engine stopped). */
  #finish(
    jobId: JobId,
    p: Pending,
    how: { result?: unknown; event?: Events['job:done']; error?: JobError | string },
  ): void {
    this.#pending.delete(jobId);
    if (how.error !== undefined) {
      const e = how.error;
      if (p.reject) p.reject(typeof e === 'string' ? new Error(e) : this.#error(e));
      else this.#opts.emit('job:error', { jobId, ...(typeof e === 'string' ? { message: e } : this.#shown(e)) });
    } else if (p.resolve) p.resolve(how.result);
    else if (how.event) this.#opts.emit('job:done', how.event);
    this.#sharing.ended(jobId);
    if (laneOf(p.type) === 'training') this.#coolDown();
    if (!this.#pending.size) this.#idle?.();
  }

  /** Ends the training worker once no training has come for keepWarmMs (its memory goes with it). */
  #coolDown(): void {
    clearTimeout(this.#cooling);
    if ([...this.#pending.values()].some((p) => laneOf(p.type) === 'training')) return;
    this.#cooling = setTimeout(() => this.#end('training'), this.#opts.keepWarmMs ?? 120_000);
    this.#cooling.unref();
  }

  #end(lane: Lane): Promise<number> | undefined {
    const worker = this.#workers[lane];
    delete this.#workers[lane];
    return worker?.terminate();
  }

  #post(job: JobInput | { type: 'probe' }, pending: Omit<Pending, 'jobId' | 'type'>): JobId {
    const lane = laneOf(job.type);
    if (lane === 'training') clearTimeout(this.#cooling);
    const worker = this.#closed
      ? undefined
      : (this.#workers[lane] ?? (lane === 'training' ? this.#start(lane) : undefined));
    if (!worker) throw new Error('The engine is not running; restart SR Studio.');
    const jobId = randomUUID();
    this.#pending.set(jobId, { type: job.type, ...pending });
    worker.postMessage({ ...job, jobId } as WorkerRequest);
    return jobId;
  }

  backend(): Promise<BackendStatus> {
    return this.#backend;
  }

  get busy(): boolean {
    return this.#pending.size > 0;
  }

  startJob(job: JobInput): JobId {
    return this.#post(job, {});
  }

  call(job: Extract<JobInput, { type: 'features' }>): Promise<FeatureMapsResult> {
    return new Promise((resolve, reject) =>
      this.#post(job, { resolve: (r) => resolve(r as FeatureMapsResult), reject }),
    );
  }

  probe(): Promise<BackendReport> {
    return new Promise((resolve, reject) =>
      this.#post({ type: 'probe' }, { resolve: (r) => resolve(r as BackendReport), reject }),
    );
  }

  control(jobId: JobId, action: 'pause' | 'resume' | 'cancel'): void {
    const p = this.#pending.get(jobId);
    if (!p) throw new Error(`No job with the id ${JSON.stringify(jobId)} is running; it may have finished already.`);
    this.#workers[laneOf(p.type)]?.postMessage({ type: action, jobId } satisfies WorkerRequest);
  }

  async configure(config: EngineConfig): Promise<void> {
    const same = (a: EngineConfig, b: EngineConfig) =>
      a.threads === b.threads && a.backends.upscale === b.backends.upscale && a.backends.train === b.backends.train;
    if (same(config, this.#config)) return;
    if (this.busy)
      throw new Error(
        'A job is running; wait for it to finish (or cancel it) before changing the backends or threads.',
      );
    this.#config = config;
    clearTimeout(this.#cooling);
    const old = [this.#end('short'), this.#end('training')];
    this.#start('short');
    await Promise.all(old);
  }

  /** Cancels every job (training saves a checkpoint), waits for them to stop, then ends the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#cooling);
    if (this.#pending.size) {
      const stopped = new Promise<void>((r) => (this.#idle = r));
      for (const [jobId, p] of this.#pending)
        this.#workers[laneOf(p.type)]?.postMessage({ type: 'cancel', jobId } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stopped,
        new Promise<void>((r) => (timer = setTimeout(r, this.#opts.closeTimeoutMs ?? 120_000))),
      ]);
      clearTimeout(timer);
    }
    await Promise.all([this.#end('short'), this.#end('training')]);
  }
}
