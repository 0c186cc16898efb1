import type { JobEvent } from '../api/jobs.ts';
import type { ImageData64, JobId } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import type { AppState } from './app.svelte.ts';

export interface ModelResult {
  readonly image: ImageData64;
  readonly ms?: number | undefined;
}

/** "Compare two models on an image": both upscale the same image, shown side by side. */
export class CompareModelsSession {
  readonly #app: AppState;
  form = $state({ modelA: '', modelB: '', image: '' });
  #jobId = $state<JobId | null>(null);
  #fraction = $state(0);
  #results = $state.raw<ModelResult[]>([]);
  #bicubic = $state.raw<ImageData64 | null>(null);
  #summary = $state<string | null>(null);
  #error = $state<string | null>(null);
  #release: (() => void) | null = null;

  constructor(app: AppState) {
    this.#app = app;
  }

  get running(): boolean {
    return this.#jobId !== null;
  }
  get fraction(): number {
    return this.#fraction;
  }
  /** Model A's result, then model B's. */
  get results(): readonly ModelResult[] {
    return this.#results;
  }
  /** The same crop enlarged by bicubic interpolation, when the engine sends it. */
  get bicubic(): ImageData64 | null {
    return this.#bicubic;
  }
  get summary(): string | null {
    return this.#summary;
  }
  get error(): string | null {
    return this.#error;
  }
  readonly canStart = $derived(
    this.#jobId === null && !!this.form.modelA && !!this.form.modelB && this.form.image.trim() !== '',
  );

  async start(): Promise<void> {
    if (!this.canStart) return;
    this.#results = [];
    this.#bicubic = null;
    this.#summary = this.#error = null;
    this.#fraction = 0;
    try {
      const { jobId } = await this.#app.api.request('job:compare-models', {
        modelA: this.form.modelA,
        modelB: this.form.modelB,
        image: this.form.image.trim(),
      });
      this.#jobId = jobId;
      this.#release = this.#app.jobs.claim(jobId, (e) => this.#onEvent(e));
    } catch (e) {
      this.#error = plainError(e);
    }
  }

  async cancel(): Promise<void> {
    if (this.#jobId) await this.#app.attempt(this.#app.api.request('job:cancel', { jobId: this.#jobId }));
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:progress':
        this.#fraction = e.payload.fraction;
        break;
      case 'job:done': {
        const r = e.payload.result;
        if (r.kind === 'compare-models') {
          this.#results = [r.a, r.b].map((o) => ({ image: o.image, ms: o.ms }));
          this.#bicubic = r.bicubic;
        }
        this.#summary = e.payload.summary;
        this.#end();
        break;
      }
      case 'job:error':
        this.#error = e.payload.message;
        this.#end();
        break;
      case 'job:preview':
      case 'job:metrics':
      case 'job:state':
      case 'job:file-done':
      case 'job:file-error':
        break;
    }
  }

  #end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
  }
}
