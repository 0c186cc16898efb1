import type { JobEvent } from '../api/jobs.ts';
import type { ActivationName, DegradeName, ImageData64, JobId, PresetName, Scale } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import { stringField } from '../lib/shapes.ts';
import type { AppState } from './app.svelte.ts';
import { RunSeries } from './series.svelte.ts';

export type RunState = 'idle' | 'running' | 'paused' | 'done' | 'failed';

export interface TrainForm {
  data: string;
  val: string;
  preset: PresetName;
  scale: Scale;
  activation: ActivationName;
  iterations: number;
  degrade: DegradeName;
}

/** The Train view: one training job, its live curves, preview and the model it leaves. */
export class TrainSession {
  readonly #app: AppState;
  /** The form, bound directly by the view's fields. */
  form = $state<TrainForm>({ data: '', val: '', preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 2000, degrade: 'none' });
  readonly loss = new RunSeries();
  readonly psnr = new RunSeries();
  #jobId = $state<JobId | null>(null);
  #state = $state<RunState>('idle');
  #iteration = $state(0);
  #total = $state(0);
  #fraction = $state(0);
  #message = $state('');
  #itPerSec = $state<number | null>(null);
  #etaMs = $state<number | null>(null);
  #preview = $state.raw<ImageData64 | null>(null);
  #summary = $state<string | null>(null);
  #modelPath = $state<string | null>(null);
  /** The finished model's id once it is among the user's models. */
  #modelId = $state<string | null>(null);
  #error = $state<string | null>(null);
  #release: (() => void) | null = null;

  constructor(app: AppState) {
    this.#app = app;
  }

  get state(): RunState {
    return this.#state;
  }
  get active(): boolean {
    return this.#state === 'running' || this.#state === 'paused';
  }
  get iteration(): number {
    return this.#iteration;
  }
  get total(): number {
    return this.#total;
  }
  get fraction(): number {
    return this.#fraction;
  }
  get message(): string {
    return this.#message;
  }
  get itPerSec(): number | null {
    return this.#itPerSec;
  }
  get etaMs(): number | null {
    return this.#etaMs;
  }
  get preview(): ImageData64 | null {
    return this.#preview;
  }
  get summary(): string | null {
    return this.#summary;
  }
  get modelPath(): string | null {
    return this.#modelPath;
  }
  get error(): string | null {
    return this.#error;
  }
  readonly canStart = $derived(!this.active && this.form.data.trim() !== '' && this.form.iterations > 0);
  /** The finished model as the app lists it, for export. */
  readonly model = $derived.by(() =>
    this.#app.models.find((m) => (this.#modelId !== null && m.id === this.#modelId) || (this.#modelPath !== null && m.path === this.#modelPath)),
  );

  async start(): Promise<void> {
    if (!this.canStart) return;
    const f = this.form;
    this.loss.clear();
    this.psnr.clear();
    this.#preview = null;
    this.#summary = this.#modelPath = this.#modelId = this.#error = null;
    this.#iteration = 0;
    this.#total = f.iterations;
    this.#fraction = 0;
    this.#itPerSec = this.#etaMs = null;
    this.#message = 'Starting…';
    this.#state = 'running';
    try {
      const { jobId } = await this.#app.api.request('job:train', {
        data: f.data.trim(),
        val: f.val.trim() || null,
        preset: f.preset,
        scale: f.scale,
        activation: f.activation,
        iterations: Math.round(f.iterations),
        outDir: null,
        degrade: f.degrade,
      });
      this.#jobId = jobId;
      this.#release = this.#app.jobs.claim(jobId, (e) => this.#onEvent(e));
    } catch (e) {
      this.#fail(plainError(e));
    }
  }

  /** Copies the finished model into the user's models, so Upscale and Export can use it. */
  async addModel(): Promise<void> {
    if (!this.#modelPath) return;
    const model = await this.#app.modelImport.importPath(this.#modelPath);
    if (model) this.#modelId = model.id;
  }

  async pause(): Promise<void> {
    if (this.#jobId && this.#state === 'running') {
      if ((await this.#app.attempt(this.#app.api.request('job:pause', { jobId: this.#jobId }))) !== null) this.#state = 'paused';
    }
  }

  async resume(): Promise<void> {
    if (this.#jobId && this.#state === 'paused') {
      if ((await this.#app.attempt(this.#app.api.request('job:resume', { jobId: this.#jobId }))) !== null) this.#state = 'running';
    }
  }

  async cancel(): Promise<void> {
    if (this.#jobId) await this.#app.attempt(this.#app.api.request('job:cancel', { jobId: this.#jobId }));
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:progress':
        this.#fraction = e.payload.fraction;
        this.#message = e.payload.message;
        break;
      case 'job:metrics': {
        const m = e.payload;
        this.#iteration = Math.max(this.#iteration, m.iteration);
        if (m.loss !== undefined) this.loss.add('loss', m.iteration, m.loss);
        if (m.psnrY !== undefined) this.psnr.add('network', m.iteration, m.psnrY);
        if (m.bicubicPsnrY !== undefined) this.psnr.add('bicubic', m.iteration, m.bicubicPsnrY);
        if (m.itPerSec !== undefined) this.#itPerSec = m.itPerSec;
        if (m.etaMs !== undefined) this.#etaMs = m.etaMs;
        if (this.#total > 0) this.#fraction = Math.max(this.#fraction, m.iteration / this.#total);
        break;
      }
      case 'job:preview':
        this.#preview = e.payload.image;
        break;
      case 'job:done':
        this.#summary = e.payload.summary;
        this.#modelPath = stringField(e.payload.result, ['modelPath', 'model', 'path', 'checkpoint']);
        this.#state = 'done';
        this.#etaMs = null;
        this.#end();
        void this.#app.refreshModels();
        this.#app.toasts.show(e.payload.summary, 'success');
        break;
      case 'job:error':
        this.#fail(e.payload.message);
        this.#end();
        break;
      case 'job:file-done':
      case 'job:file-error':
        break;
    }
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#error = message;
    this.#app.toasts.show(message, 'error');
  }

  #end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
  }
}
