import type { JobEvent } from '../api/jobs.ts';
import type { CompareModelsResult, JobId } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import type { AppState } from './app.svelte.ts';

export interface CompareModelsForm {
  modelA: string;
  modelB: string;
  image: string;
  /** Take the image as the original: the models enlarge its reduction and are scored against it. */
  groundTruth: boolean;
}

/** Two models enlarge the same whole image; the outputs are files the viewer shows side by side. */
export class CompareModelsSession {
  readonly #app: AppState;
  form = $state<CompareModelsForm>({ modelA: '', modelB: '', image: '', groundTruth: false });
  #jobId = $state<JobId | null>(null);
  #fraction = $state(0);
  #message = $state('');
  #result = $state.raw<CompareModelsResult | null>(null);
  #summary = $state<string | null>(null);
  #error = $state<string | null>(null);
  #release: (() => void) | null = null;

  constructor(app: AppState, form: Partial<CompareModelsForm> = {}) {
    this.#app = app;
    this.form = { ...this.form, ...form };
  }

  get running(): boolean {
    return this.#jobId !== null;
  }
  get fraction(): number {
    return this.#fraction;
  }
  get message(): string {
    return this.#message;
  }
  get result(): CompareModelsResult | null {
    return this.#result;
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

  /** Forgets the last result (e.g. when the models it came from are replaced). */
  clear(): void {
    this.#result = null;
    this.#summary = this.#error = null;
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    this.clear();
    this.#fraction = 0;
    this.#message = 'Starting…';
    try {
      const { jobId } = await this.#app.api.request('job:compare-models', {
        modelA: this.form.modelA,
        modelB: this.form.modelB,
        image: this.form.image.trim(),
        groundTruth: this.form.groundTruth,
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
        this.#message = e.payload.message;
        break;
      case 'job:done':
        this.#result = e.payload.result.kind === 'compare-models' ? e.payload.result : null;
        this.#summary = e.payload.summary;
        this.#end();
        break;
      case 'job:error':
        this.#error = e.payload.message;
        this.#end();
        break;
      case 'job:file-done':
      case 'job:file-error':
      case 'job:preview':
      case 'job:metrics':
      case 'job:state':
        break;
    }
  }

  #end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
  }
}
