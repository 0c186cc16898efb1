/**
 * Owns the engine worker: starts it, turns jobs into worker requests (job id ↔ request id), turns
 * worker events into api.ts events, restarts the worker if it dies (each job it was running gets a
 * job:error), and on close cancels every job and waits, so a training run saves its checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { BackendReport, BackendSettings, BackendStatus, EventChannel, Events, FeatureMapsResult, JobId } from '../api.ts';
import { EVENT_CHANNEL, isJobEvent, type JobError, type JobRequest, type WorkerBackends, type WorkerEvent, type WorkerOptions, type WorkerRequest } from '../engine/protocol.ts';
import { wordForApp } from './wording.ts';

export type Emit = <C extends EventChannel>(channel: C, payload: Events[C]) => void;
/** A job as the host submits it: a request without its id. */
export type JobInput = JobRequest extends infer R ? (R extends JobRequest ? Omit<R, 'id'> : never) : never;

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
  /** How long close() waits for jobs to stop (default 120 s). */
  readonly closeTimeoutMs?: number | undefined;
  /** Words the engine's errors for the user (default: the app's wording with paths as they are). */
  readonly word?: ((e: JobError) => string) | undefined;
}

interface Pending {
  readonly jobId: JobId;
  readonly resolve?: (result: unknown) => void;
  readonly reject?: (e: Error) => void;
}

const DEFAULT_WORKER = new URL('../engine/worker-entry.mjs', import.meta.url);
const MAX_QUICK_RESTARTS = 3;

export class EngineHost implements Engine {
  readonly #opts: EngineHostOptions;
  #config: EngineConfig;
  #worker: Worker | undefined;
  #backend!: Promise<BackendStatus>;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #ids = new Map<JobId, number>();
  #closed = false;
  #quickRestarts = 0;
  #idle: (() => void) | undefined;

  constructor(opts: EngineHostOptions) {
    this.#opts = opts;
    this.#config = { backends: opts.backends, threads: opts.threads };
    this.#start();
  }

  #start(): void {
    let ready!: (b: BackendStatus) => void;
    let failed!: (e: Error) => void;
    this.#backend = new Promise<BackendStatus>((res, rej) => ((ready = res), (failed = rej)));
    this.#backend.catch(() => undefined);
    const data: WorkerOptions = { ...this.#config, previewIntervalMs: this.#opts.previewIntervalMs ?? 150 };
    const worker = new Worker(this.#opts.workerUrl ?? DEFAULT_WORKER, { workerData: data, execArgv: [] });
    const started = Date.now();
    this.#worker = worker;
    worker.on('message', (e: WorkerEvent) => {
      if (e.type === 'ready') ready(this.#status(e.backend));
      else if (e.type === 'init-error') failed(new Error(this.#word(e.error)));
      else if (isJobEvent(e)) this.#onJobEvent(e);
    });
    worker.on('error', (e) => console.error('The engine worker failed:', e));
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return; // replaced on purpose
      this.#worker = undefined;
      failed(new Error('The engine stopped before it was ready.'));
      const why = `The engine stopped unexpectedly (exit code ${code})`;
      for (const [id, p] of this.#pending) this.#finish(id, p, { error: `${why}; it has been restarted, so start the job again.` });
      if (this.#closed) return;
      this.#quickRestarts = Date.now() - started < 10_000 ? this.#quickRestarts + 1 : 0;
      if (this.#quickRestarts <= MAX_QUICK_RESTARTS) this.#start();
      else console.error(`${why} ${this.#quickRestarts} times in a row; not restarting it.`);
    });
  }

  #word(e: JobError): string {
    return (this.#opts.word ?? wordForApp)(e);
  }

  /** The worker's backends as the app shows them: a backend that failed to start, in one sentence. */
  #status(b: WorkerBackends): BackendStatus {
    const one = (p: WorkerBackends[keyof WorkerBackends]) => (p.ok ? p : { ok: false as const, choice: p.choice, error: this.#word(p.error) });
    return { upscale: one(b.upscale), train: one(b.train) };
  }

  #onJobEvent(e: Extract<WorkerEvent, { id: number }>): void {
    const p = this.#pending.get(e.id);
    if (!p) return;
    const jobId = p.jobId;
    switch (e.type) {
      case 'answer':
        return this.#finish(e.id, p, { result: e.result });
      case 'done':
        return this.#finish(e.id, p, { event: { jobId, summary: e.summary, result: e.result } });
      case 'error':
        return this.#finish(e.id, p, { error: this.#word(e.error) });
      case 'file-error':
        return this.#opts.emit('job:file-error', { jobId, file: e.file, message: this.#word({ ...e.error, file: e.error.file ?? e.file }) });
      default: {
        const { type, id: _, ...rest } = e;
        if (!p.resolve) this.#opts.emit(EVENT_CHANNEL[type], { ...rest, jobId } as never);
      }
    }
  }

  #finish(id: number, p: Pending, how: { result?: unknown; event?: Events['job:done']; error?: string }): void {
    this.#pending.delete(id);
    this.#ids.delete(p.jobId);
    if (how.error !== undefined) {
      if (p.reject) p.reject(new Error(how.error));
      else this.#opts.emit('job:error', { jobId: p.jobId, message: how.error });
    } else if (p.resolve) p.resolve(how.result);
    else if (how.event) this.#opts.emit('job:done', how.event);
    if (!this.#pending.size) this.#idle?.();
  }

  #post(job: JobInput | { type: 'probe' }, pending: Omit<Pending, 'jobId'>): JobId {
    if (this.#closed || !this.#worker) throw new Error('The engine is not running; restart SR Studio.');
    const id = this.#nextId++;
    const jobId = randomUUID();
    this.#pending.set(id, { jobId, ...pending });
    this.#ids.set(jobId, id);
    this.#worker.postMessage({ ...job, id } as WorkerRequest);
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
    return new Promise((resolve, reject) => this.#post(job, { resolve: (r) => resolve(r as FeatureMapsResult), reject }));
  }

  probe(): Promise<BackendReport> {
    return new Promise((resolve, reject) => this.#post({ type: 'probe' }, { resolve: (r) => resolve(r as BackendReport), reject }));
  }

  control(jobId: JobId, action: 'pause' | 'resume' | 'cancel'): void {
    const id = this.#ids.get(jobId);
    if (id === undefined) throw new Error(`No job with the id ${JSON.stringify(jobId)} is running; it may have finished already.`);
    this.#worker?.postMessage({ type: action, id } satisfies WorkerRequest);
  }

  async configure(config: EngineConfig): Promise<void> {
    const same = (a: EngineConfig, b: EngineConfig) => a.threads === b.threads && a.backends.upscale === b.backends.upscale && a.backends.train === b.backends.train;
    if (same(config, this.#config)) return;
    if (this.busy) throw new Error('A job is running; wait for it to finish (or cancel it) before changing the backends or threads.');
    this.#config = config;
    const old = this.#worker;
    this.#worker = undefined;
    this.#start();
    await old?.terminate();
  }

  /** Cancels every job (training saves a checkpoint), waits for them to stop, then ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (this.#pending.size && worker) {
      const stopped = new Promise<void>((r) => (this.#idle = r));
      for (const id of this.#pending.keys()) worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, this.#opts.closeTimeoutMs ?? 120_000)))]);
      clearTimeout(timer);
    }
    this.#worker = undefined;
    await worker?.terminate();
  }
}
