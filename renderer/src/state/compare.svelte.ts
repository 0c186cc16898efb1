import { compareVerdict, type Verdict } from '../../../ml/train/compare-verdict.ts';
import type { JobEvent } from '../api/jobs.ts';
import type {
  ActivationName,
  CompareJob,
  CompareReport,
  CompareResult,
  JobInfo,
  Objective,
  PresetName,
  Scale,
} from '../api/types.ts';
import { ACTIVATION_LABELS, ADV_WEIGHT } from '../lib/choices.ts';
import { DEFAULT_ADV_WEIGHT } from '../../../ml/train/objective.ts';
import { SETTING_RANGES } from '../../../ml/train/ranges.ts';
import { plainError } from '../lib/errors.ts';
import { decimalNumber, wholeNumber } from '../lib/fields.ts';
import { bucketWidth, differenceBand, meanBand, type BandPoint } from '../lib/seed-bands.ts';
import { CompareModelsSession } from './compare-models.svelte.ts';
import { JobSession, JobTracker } from './job-tracker.svelte.ts';
import { SeedSeries } from './seed-series.svelte.ts';
import type { Services } from './services.ts';

export interface CompareForm {
  data: string;
  val: string;
  actA: ActivationName;
  actB: ActivationName;
  preset: PresetName;
  scale: Scale;
  /** As the fields hold them (text, or a number); checked as the command line checks --iters and --seeds. */
  iterations: string | number;
  seeds: string | number;
  /** What both activations are trained for, and a perceptual comparison's adversarial weight (as the field holds it). */
  objective: Objective;
  advWeight: string | number | null;
}

/**
 * A and B keep these colours whichever activations they are: blue and orange stay apart for every
 * kind of colour blindness (and are Swish's and TanhExp's own colours elsewhere in the app).
 */
export const COMPARE_COLORS = { a: '#4e79a7', b: '#f28e2b', difference: '#c9ccd3' } as const;
/** About this many points per curve, whatever the number of iterations. */
const CURVE_POINTS = 150;

/** One activation's curve: its mean over seeds and the band from the lowest to the highest seed. */
export interface CompareCurve {
  readonly act: ActivationName;
  readonly role: 'A' | 'B';
  readonly label: string;
  readonly color: string;
  /** B is dashed, so that it never hides A where the two agree. */
  readonly dashed: boolean;
  readonly points: readonly BandPoint[];
}

/** The legend: one entry per activation. */
export interface LegendEntry {
  readonly act: ActivationName;
  readonly role: 'A' | 'B';
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  /** Seeds with points so far. */
  readonly seeds: number;
  /** The latest mean validation PSNR (dB), once there is one. */
  readonly psnr: number | undefined;
}

/** The Compare view's experiment: two activations trained alike, mean curves with seed bands, a verdict at the end. */
export class CompareSession extends JobSession {
  readonly #app: Pick<Services, 'api' | 'jobs' | 'toasts' | 'attempt'>;
  protected readonly job: JobTracker;
  form = $state<CompareForm>({
    data: '',
    val: '',
    actA: 'swish',
    actB: 'tanhexp',
    preset: 'tiny',
    scale: 2,
    iterations: 1000,
    seeds: 1,
    objective: 'pixel',
    advWeight: DEFAULT_ADV_WEIGHT,
  });
  readonly loss = new SeedSeries();
  readonly psnr = new SeedSeries();
  #bicubic = $state<number | null>(null);
  /** The iterations each run of the comparison shown trains for. */
  #span = $state(1000);
  #itPerSec = $state<number | null>(null);
  #etaMs = $state<number | null>(null);
  #report = $state.raw<CompareResult | null>(null);

  /** Both activations' trained models (the first seed) on a whole image, the ground truth beside them. */
  readonly whole: CompareModelsSession;

  constructor(app: Pick<Services, 'api' | 'jobs' | 'toasts' | 'attempt'>) {
    super();
    this.#app = app;
    this.job = new JobTracker(app, (e) => this.#onEvent(e));
    this.whole = new CompareModelsSession(app, { groundTruth: true });
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
  /** Training speed of the run going on (iterations per second). */
  get itPerSec(): number | null {
    return this.#itPerSec;
  }
  /** The whole comparison's time left, while it runs. */
  get etaMs(): number | null {
    return this.#etaMs;
  }
  /** The iterations each run of the comparison shown trains for (the charts' x range). */
  get span(): number {
    return this.#span;
  }
  /** The bicubic baseline's validation PSNR (dB). */
  get bicubic(): number | null {
    return this.#bicubic;
  }
  /** Whether the gap is beyond seed noise and large enough to see, once there is a report. */
  readonly verdict = $derived.by((): Verdict | null => {
    const p = this.#report?.paired;
    return p && p.psnrY.n > 0 ? compareVerdict(p, (a) => ACTIVATION_LABELS[a as ActivationName] ?? a) : null;
  });
  readonly lossCurves = $derived.by(() => this.#curves(this.loss));
  readonly psnrCurves = $derived.by(() => this.#curves(this.psnr));
  /** B − A in validation PSNR, seed by seed, with its band. */
  readonly psnrDifference = $derived.by(() => {
    const [a, b] = this.acts;
    return differenceBand(this.psnr.runs(), a!, b!, bucketWidth(this.#span, CURVE_POINTS));
  });
  readonly legend = $derived.by((): LegendEntry[] => {
    const seeds = (act: string) =>
      new Set([...this.loss.runs(), ...this.psnr.runs()].filter((r) => r.act === act).map((r) => r.seed)).size;
    return this.psnrCurves.map((c) => ({
      act: c.act,
      role: c.role,
      label: c.label,
      color: c.color,
      dashed: c.dashed,
      seeds: seeds(c.act),
      psnr: c.points.at(-1)?.mean,
    }));
  });

  #curves(series: SeedSeries): CompareCurve[] {
    const runs = series.runs();
    const width = bucketWidth(this.#span, CURVE_POINTS);
    return this.acts.slice(0, 2).map((act, i) => ({
      act,
      role: i === 0 ? 'A' : 'B',
      label: ACTIVATION_LABELS[act],
      color: i === 0 ? COMPARE_COLORS.a : COMPARE_COLORS.b,
      dashed: i === 1,
      points: meanBand(runs, act, width),
    }));
  }
  readonly #iterations = $derived(wholeNumber(this.form.iterations, 'Iterations', ...SETTING_RANGES.iterations));
  readonly #seeds = $derived(wholeNumber(this.form.seeds, 'Seeds', ...SETTING_RANGES.seeds));
  readonly #advWeight = $derived(decimalNumber(this.form.advWeight, ADV_WEIGHT, ...SETTING_RANGES.advWeight));
  /** Why the Iterations, Seeds or (perceptual) Adversarial weight field cannot be used, in one sentence; null when all can. */
  get numbersError(): string | null {
    return (
      this.#iterations.error ??
      this.#seeds.error ??
      (this.form.objective === 'perceptual' ? this.#advWeight.error : null)
    );
  }
  get canStart(): boolean {
    return (
      !this.job.running &&
      this.form.data.trim() !== '' &&
      this.form.val.trim() !== '' &&
      this.form.actA !== this.form.actB &&
      this.numbersError === null
    );
  }

  async start(): Promise<void> {
    const iterations = this.#iterations.value;
    const seeds = this.#seeds.value;
    if (!this.canStart || iterations === null || seeds === null) return;
    const f = this.form;
    this.loss.clear();
    this.psnr.clear();
    this.#bicubic = this.#itPerSec = this.#etaMs = null;
    this.#span = iterations;
    this.#report = null;
    this.whole.clear();
    this.job.reset();
    try {
      const { jobId } = await this.#app.api.request('job:compare', {
        data: f.data.trim(),
        val: f.val.trim(),
        acts: [f.actA, f.actB],
        preset: f.preset,
        scale: f.scale,
        iterations,
        seeds,
        objective: f.objective,
        ...(f.objective === 'perceptual' ? { advWeight: this.#advWeight.value! } : {}),
      });
      this.job.follow(jobId);
    } catch (e) {
      this.job.error = plainError(e);
      this.#app.toasts.error(e);
    }
  }

  async cancel(): Promise<void> {
    await this.job.control('cancel');
  }

  /** Takes over a comparison the engine is running (after a reload). */
  attach(job: JobInfo): void {
    if (job.kind !== 'compare' || this.job.running) return;
    const s = job.spec as CompareJob;
    this.form = {
      data: s.data,
      val: s.val,
      actA: s.acts[0],
      actB: s.acts[1],
      preset: s.preset,
      scale: s.scale,
      iterations: s.iterations,
      seeds: s.seeds,
      objective: s.objective ?? 'pixel',
      advWeight: s.advWeight ?? DEFAULT_ADV_WEIGHT,
    };
    this.#span = s.iterations;
    this.job.attach(job);
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:state':
        if (e.payload.state === 'queued') this.job.message = e.payload.message;
        break;
      case 'job:progress':
        this.job.progress(e.payload);
        break;
      case 'job:metrics': {
        const m = e.payload;
        if (m.itPerSec !== undefined) this.#itPerSec = m.itPerSec;
        if (m.etaMs !== undefined) this.#etaMs = m.etaMs;
        if (m.bicubicPsnrY !== undefined) this.#bicubic = m.bicubicPsnrY;
        if (m.act === undefined || m.seed === undefined) break;
        if (m.loss !== undefined) this.loss.add(m.act, m.seed, m.iteration, m.loss);
        if (m.psnrY !== undefined) this.psnr.add(m.act, m.seed, m.iteration, m.psnrY);
        break;
      }
      case 'job:done': {
        const r = e.payload.result;
        this.job.summary = e.payload.summary;
        this.#report = r.kind === 'compare' ? r : null;
        this.#end();
        void this.showWhole();
        this.#app.toasts.show(e.payload.summary, 'success');
        break;
      }
      case 'job:error':
        this.job.error = e.payload.message;
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
    this.#etaMs = null;
    this.job.end();
  }
}
