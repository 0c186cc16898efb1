import type { JobEvent } from '../api/jobs.ts';
import type { ActivationName, CompareJob, CompareReport, CompareResult, JobId, JobInfo, PresetName, Scale } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import type { AppState } from './app.svelte.ts';
import { CompareModelsSession } from './compare-models.svelte.ts';
import { RunSeries } from './series.svelte.ts';

export interface CompareForm {
  data: string;
  val: string;
  actA: ActivationName;
  actB: ActivationName;
  preset: PresetName;
  scale: Scale;
  iterations: number;
  seeds: number;
}

/** The Compare view's experiment: two activations trained alike, curves overlaid, a report at the end. */
export class CompareSession {
  readonly #app: AppState;
  form = $state<CompareForm>({ data: '', val: '', actA: 'swish', actB: 'tanhexp', preset: 'tiny', scale: 2, iterations: 1000, seeds: 1 });
  readonly loss = new RunSeries();
  readonly psnr = new RunSeries();
  #jobId = $state<JobId | null>(null);
  #run = $state<string | null>(null);
  #fraction = $state(0);
  #message = $state('');
  #report = $state.raw<CompareResult | null>(null);
  #summary = $state<string | null>(null);
  #error = $state<string | null>(null);
  #release: (() => void) | null = null;

  /** Both activations' trained models (the first seed) on a whole image, the ground truth beside them. */
  readonly whole: CompareModelsSession;

  constructor(app: AppState) {
    this.#app = app;
    this.whole = new CompareModelsSession(app, { groundTruth: true });
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
  get report(): CompareReport | null {
    return this.#report;
  }
  /** Each activation's trained model file (first seed), once the comparison has finished. */
  get models(): Readonly<Record<string, string>> | null {
    return this.#report?.models ?? null;
  }
  /** The two activations compared: the report's once there is one, else the form's. */
  get acts(): readonly ActivationName[] {
    return this.#report?.acts ?? [this.form.actA, this.form.actB];
  }
  get summary(): string | null {
    return this.#summary;
  }
  get error(): string | null {
    return this.#error;
  }
  readonly canStart = $derived(
    this.#jobId === null && this.form.data.trim() !== '' && this.form.val.trim() !== '' && this.form.actA !== this.form.actB,
  );

  async start(): Promise<void> {
    if (!this.canStart) return;
    const f = this.form;
    this.loss.clear();
    this.psnr.clear();
    this.#report = null;
    this.whole.clear();
    this.#summary = this.#error = null;
    this.#run = null;
    this.#fraction = 0;
    this.#message = 'Starting…';
    try {
      const { jobId } = await this.#app.api.request('job:compare', {
        data: f.data.trim(),
        val: f.val.trim(),
        acts: [f.actA, f.actB],
        preset: f.preset,
        scale: f.scale,
        iterations: Math.round(f.iterations),
        seeds: Math.max(1, Math.round(f.seeds)),
      });
      this.#jobId = jobId;
      this.#release = this.#app.jobs.claim(jobId, (e) => this.#onEvent(e));
    } catch (e) {
      this.#error = plainError(e);
      this.#app.toasts.error(e);
    }
  }

  async cancel(): Promise<void> {
    if (this.#jobId) await this.#app.attempt(this.#app.api.request('job:cancel', { jobId: this.#jobId }));
  }

  /** Takes over a comparison the engine is running (after a reload). */
  attach(job: JobInfo): void {
    if (job.kind !== 'compare' || this.#jobId) return;
    const s = job.spec as CompareJob;
    this.form = { data: s.data, val: s.val, actA: s.acts[0], actB: s.acts[1], preset: s.preset, scale: s.scale, iterations: s.iterations, seeds: s.seeds };
    this.#jobId = job.jobId;
    this.#release = this.#app.jobs.attach(job, (e) => this.#onEvent(e));
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:state':
        if (e.payload.state === 'queued') this.#message = e.payload.message;
        break;
      case 'job:progress':
        this.#fraction = e.payload.fraction;
        this.#message = e.payload.message;
        break;
      case 'job:metrics': {
        const m = e.payload;
        const run = m.run ?? this.#run ?? 'run';
        this.#run = run;
        if (m.loss !== undefined) this.loss.add(run, m.iteration, m.loss);
        if (m.psnrY !== undefined) this.psnr.add(run, m.iteration, m.psnrY);
        if (m.bicubicPsnrY !== undefined) this.psnr.add('bicubic', m.iteration, m.bicubicPsnrY);
        break;
      }
      case 'job:done': {
        const r = e.payload.result;
        this.#summary = e.payload.summary;
        this.#report = r.kind === 'compare' ? r : null;
        this.#end();
        void this.showWhole();
        this.#app.toasts.show(e.payload.summary, 'success');
        break;
      }
      case 'job:error':
        this.#error = e.payload.message;
        this.#app.toasts.show(e.payload.message, 'error');
        this.#end();
        break;
      case 'job:preview':
      case 'job:file-done':
      case 'job:file-error':
        break;
    }
  }

  /**
   * Both trained models on `image` (by default the first validation image, taken as ground truth).
   * Does nothing until the comparison has finished.
   */
  async showWhole(image?: string): Promise<void> {
    const models = this.models;
    const acts = this.acts;
    const [a, b] = [models?.[acts[0]!], models?.[acts[1]!]];
    if (!a || !b) return;
    let file = image ?? this.whole.form.image;
    if (!file.trim()) {
      const found = await this.#app.attempt(this.#app.api.request('files:expand', { paths: [this.form.val.trim()] }));
      file = found?.files[0]?.path ?? '';
    }
    this.whole.form = { ...this.whole.form, modelA: `run:${a}`, modelB: `run:${b}`, image: file };
    await this.whole.start();
  }

  #end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
  }
}
