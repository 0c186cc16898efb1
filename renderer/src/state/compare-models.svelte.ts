import type { JobEvent } from '../api/jobs.ts';
import type { CompareModelsResult } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import { JobSession, JobTracker } from './job-tracker.svelte.ts';
import type { Services } from './services.ts';

export interface CompareModelsForm {
  modelA: string;
  modelB: string;
  image: string;
  /** Take the image as the original: the models enlarge its reduction and are scored against it. */
  groundTruth: boolean;
}

/** Two models enlarge the same whole image; the outputs are files the viewer shows side by side. */
export class CompareModelsSession extends JobSession {
  readonly #app: Pick<Services, 'api' | 'jobs' | 'attempt'>;
  protected readonly job: JobTracker;
  form = $state<CompareModelsForm>({ modelA: '', modelB: '', image: '', groundTruth: false });
  #result = $state.raw<CompareModelsResult | null>(null);

  constructor(app: Pick<Services, 'api' | 'jobs' | 'attempt'>, form: Partial<CompareModelsForm> = {}) {
    super();
    this.#app = app;
    this.job = new JobTracker(app, (e) => this.#onEvent(e));
    this.form = { ...this.form, ...form };
  }

  get result(): CompareModelsResult | null {
    return this.#result;
  }
  get canStart(): boolean {
    return !this.job.running && !!this.form.modelA && !!this.form.modelB && this.form.image.trim() !== '';
  }

  /** Forgets the last result (e.g. when the models it came from are replaced). */
  clear(): void {
    this.#result = null;
    this.job.summary = this.job.error = null;
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    this.#result = null;
    this.job.reset();
    try {
      const { jobId } = await this.#app.api.request('job:compare-models', {
        modelA: this.form.modelA,
        modelB: this.form.modelB,
        image: this.form.image.trim(),
        groundTruth: this.form.groundTruth,
      });
      this.job.follow(jobId);
    } catch (e) {
      this.job.error = plainError(e);
    }
  }

  async cancel(): Promise<void> {
    await this.job.control('cancel');
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:progress':
        this.job.progress(e.payload);
        break;
      case 'job:done':
        this.#result = e.payload.result.kind === 'compare-models' ? e.payload.result : null;
        this.job.summary = e.payload.summary;
        this.job.end();
        break;
      case 'job:error':
        this.job.error = e.payload.message;
        this.job.end();
        break;
      case 'job:file-done':
      case 'job:file-error':
      case 'job:preview':
      case 'job:metrics':
      case 'job:state':
        break;
    }
  }
}
