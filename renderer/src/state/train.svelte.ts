import type { JobEvent } from '../api/jobs.ts';
import type {
  ActivationName,
  DegradeName,
  ImageData64,
  JobInfo,
  ModelInfo,
  Objective,
  PresetName,
  RunInfo,
  RunPoint,
  Scale,
  TrainJob,
} from '../api/types.ts';
import { initMismatch } from '../../../ml/train/init-mismatch.ts';
import { DEFAULT_ADV_WEIGHT, defaultLearningRate } from '../../../ml/train/objective.ts';
import { PRESETS, presetOf } from '../../../ml/presets.ts';
import { SETTING_RANGES } from '../../../ml/train/ranges.ts';
import { ADV_WEIGHT } from '../lib/choices.ts';
import { plainError } from '../lib/errors.ts';
import { decimalNumber, wholeNumber } from '../lib/fields.ts';
import { JobTracker } from './job-tracker.svelte.ts';
import { furtherError, RunList } from './runs.svelte.ts';
import { RunSeries } from './series.svelte.ts';
import type { Services } from './services.ts';

/**
 * idle: nothing yet; queued: waiting behind another job; running / paused; finished: all iterations;
 * stopped: cancelled with a checkpoint (it can be continued); failed.
 */
export type RunState = 'idle' | 'queued' | 'running' | 'paused' | 'finished' | 'stopped' | 'failed';

export interface TrainForm {
  data: string;
  val: string;
  preset: PresetName;
  scale: Scale;
  activation: ActivationName;
  /** As the field holds it (text, or a number); checked by `iterationsError`. */
  iterations: number | string | null;
  /** How the training inputs are made: clean, or degraded like real photos. */
  degrade: DegradeName;
  /** Start from: null for scratch, else a model's id (bundled or the user's). */
  init: string | null;
  /** What the network is trained for: pixel error, or perceptual (sharp). */
  objective: Objective;
  /** A perceptual run's adversarial weight, as the field holds it; checked by `advWeightError`. */
  advWeight: number | string | null;
}

/** The Train view: one training job, its live curves, preview and the model it leaves; earlier runs to continue. */
export class TrainSession {
  readonly #app: Pick<Services, 'api' | 'jobs' | 'toasts' | 'attempt' | 'models' | 'refreshModels' | 'importModel'>;
  readonly #job: JobTracker;
  /** The form, bound directly by the view's fields. */
  form = $state<TrainForm>({
    data: '',
    val: '',
    preset: 'tiny',
    scale: 2,
    activation: 'tanhexp',
    iterations: 2000,
    degrade: 'none',
    init: null,
    objective: 'pixel',
    advWeight: DEFAULT_ADV_WEIGHT,
  });
  readonly loss = new RunSeries();
  /** Validations: the network's PSNR-Y (`network`), bicubic's (`bicubic`) and the network's detail measure (`detail`). */
  readonly psnr = new RunSeries();
  /** What the run shown is trained for (the form's, as it was started). */
  #objective = $state<Objective>('pixel');
  #state = $state<RunState>('idle');
  #iteration = $state(0);
  #total = $state(0);
  #itPerSec = $state<number | null>(null);
  #etaMs = $state<number | null>(null);
  #preview = $state.raw<ImageData64 | null>(null);
  #modelPath = $state<string | null>(null);
  #runDir = $state<string | null>(null);
  /** The finished model's id once it is among the user's models. */
  #modelId = $state<string | null>(null);
  readonly #list: RunList;
  /** Counts starts, so a run's record that arrives after another start is left out. */
  #generation = 0;
  /** Whether the run list has been asked again since this job's first point (its run is then listed as training). */
  #listed = false;

  constructor(app: Pick<Services, 'api' | 'jobs' | 'toasts' | 'attempt' | 'models' | 'refreshModels' | 'importModel'>) {
    this.#app = app;
    this.#job = new JobTracker(app, (e) => this.#onEvent(e));
    this.#list = new RunList(app);
  }

  get state(): RunState {
    return this.#state;
  }
  get active(): boolean {
    return this.#state === 'queued' || this.#state === 'running' || this.#state === 'paused';
  }
  get iteration(): number {
    return this.#iteration;
  }
  get total(): number {
    return this.#total;
  }
  get fraction(): number {
    return this.#job.fraction;
  }
  get message(): string {
    return this.#job.message;
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
    return this.#job.summary;
  }
  get modelPath(): string | null {
    return this.#modelPath;
  }
  get runDir(): string | null {
    return this.#runDir;
  }
  /** What the run shown is trained for. */
  get objective(): Objective {
    return this.#objective;
  }
  get error(): string | null {
    return this.#job.error;
  }
  /** Earlier runs, newest first. */
  get runs(): readonly RunInfo[] {
    return this.#list.items;
  }
  /** What the state line says. */
  get stateLabel(): string {
    switch (this.#state) {
      case 'queued':
        return 'Waiting';
      case 'running':
        return 'Training';
      case 'paused':
        return 'Paused';
      case 'finished':
        return 'Finished';
      case 'stopped':
        return `Stopped at iteration ${this.#iteration} (checkpoint saved)`;
      case 'failed':
        return 'Failed';
      default:
        return '';
    }
  }
  /**
   * A run whose model is still below bicubic enlargement says so, and what to do, in one sentence;
   * null otherwise. The model is a pixel run's best validation, a perceptual run's latest.
   */
  get verdict(): string | null {
    if (this.#state !== 'finished' && this.#state !== 'stopped') return null;
    void this.psnr.version; // re-read as points arrive
    const latest = this.#objective === 'perceptual';
    const model = latest ? this.psnr.last('network') : this.psnr.max('network');
    const bicubic = this.psnr.last('bicubic');
    if (model === undefined || bicubic === undefined || model >= bicubic) return null;
    return `So far the model is worse than plain bicubic enlargement on the validation photos (${latest ? 'latest' : 'best'} ${model.toFixed(2)} dB against ${bicubic.toFixed(2)} dB); train it longer before using it, e.g. with Train further in the list of runs.`;
  }
  /** The model the run starts from, as the app lists it (null: from scratch). */
  readonly initModel = $derived.by<ModelInfo | null>(() =>
    this.form.init === null ? null : (this.#app.models.find((m) => m.id === this.form.init) ?? null),
  );
  /** Why the picked model cannot start this run (its preset or activation differs), in the CLI's words; null when it can. */
  readonly initError = $derived.by(() => {
    const m = this.initModel;
    if (m && !m.config)
      return `${m.name} is an imported ONNX model, which SR Studio can run but not train or fine-tune; start from one of SR Studio's own models.`;
    return m?.config
      ? (initMismatch(m.name, m.config, { ...PRESETS[this.form.preset], activation: this.form.activation }) ?? null)
      : null;
  });
  /** What the run can start from besides scratch: a bundled model or one of the user's (imported ONNX models cannot be trained). */
  readonly initGroups = $derived.by<ReadonlyArray<{ readonly label: string; readonly models: readonly ModelInfo[] }>>(
    () => [
      { label: 'A bundled model', models: this.#app.models.filter((m) => m.bundled && m.config) },
      { label: 'One of my models', models: this.#app.models.filter((m) => !m.bundled && m.config) },
    ],
  );
  /** The peak learning rate the run gets, by the engine's rule: lower when it starts from a model or is perceptual. */
  readonly learningRate = $derived(
    defaultLearningRate(this.form.activation, { init: this.form.init !== null, objective: this.form.objective }),
  );
  /** The adversarial weight asked for, as the command line reads `--adv-weight`, or why it cannot be used. */
  readonly #advWeight = $derived(decimalNumber(this.form.advWeight, ADV_WEIGHT, ...SETTING_RANGES.advWeight));
  /** Why the Adversarial weight field cannot be used, in one sentence; null when it can (or is not asked: pixel). */
  get advWeightError(): string | null {
    return this.form.objective === 'perceptual' ? this.#advWeight.error : null;
  }
  /** The iterations asked for, as the command line reads `--iters`, or why they cannot be used. */
  readonly #iterations = $derived(wholeNumber(this.form.iterations, 'Iterations', ...SETTING_RANGES.iterations));
  /** Why the Iterations field cannot be used, in one sentence; null when it can. */
  get iterationsError(): string | null {
    return this.#iterations.error;
  }
  readonly canStart = $derived(
    !this.active &&
      this.form.data.trim() !== '' &&
      this.#iterations.value !== null &&
      this.initError === null &&
      this.advWeightError === null,
  );

  /** Start from a model (its preset, scale and activation become the form's, as `train --init` takes them) or from scratch (null). */
  startFrom(id: string | null): void {
    this.form.init = id;
    const m = id === null ? undefined : this.#app.models.find((x) => x.id === id);
    if (!m?.config) return;
    const preset = presetOf(m.config);
    if (preset) this.form.preset = preset;
    this.form.scale = m.config.scale;
    this.form.activation = m.config.activation;
  }
  /** The finished model as the app lists it, for export. */
  readonly model = $derived.by(() =>
    this.#app.models.find(
      (m) =>
        (this.#modelId !== null && m.id === this.#modelId) || (this.#modelPath !== null && m.path === this.#modelPath),
    ),
  );

  #reset(total: number): void {
    this.#generation++;
    this.#listed = false;
    this.loss.clear();
    this.psnr.clear();
    this.#preview = null;
    this.#modelPath = this.#modelId = this.#runDir = null;
    this.#iteration = 0;
    this.#total = total;
    this.#itPerSec = this.#etaMs = null;
    this.#job.reset();
  }

  /** Starts a new run from the form (always a new run folder). */
  start(): Promise<void> {
    return this.#submit(null);
  }

  /**
   * Continues an earlier run: the form takes its settings and folders, the charts what it recorded
   * so far, and training goes on from its checkpoint, to its own end or to `iterations` beyond it
   * (a finished run trained further, as `sr-studio train --resume RUN --iters N`).
   */
  async continueRun(run: RunInfo, iterations: number | string = run.iterations): Promise<void> {
    if (this.active) return;
    const further = this.furtherError(run, iterations);
    if (run.state === 'finished' && further) {
      this.#app.toasts.show(further, 'error');
      return;
    }
    this.form = {
      data: run.data ?? this.form.data,
      val: run.val ?? '',
      preset: run.preset ?? this.form.preset,
      scale: run.scale as Scale,
      activation: run.activation,
      iterations,
      degrade: run.degrade,
      // A continued run goes on from its checkpoint, whatever it started from.
      init: null,
      // And trains for what it was started for (on ONNX Runtime when perceptual).
      objective: run.objective,
      advWeight: run.advWeight ?? DEFAULT_ADV_WEIGHT,
    };
    if (!this.form.data.trim()) {
      this.#app.toasts.show(
        'This run does not record its training folder; type it above, then press Continue again.',
        'info',
      );
      return;
    }
    await this.#submit(run);
  }

  /** Why `iterations` cannot take a run further (they must be more than it has trained); null when they can. */
  furtherError(run: RunInfo, iterations: unknown): string | null {
    return furtherError(run, iterations);
  }

  /** Puts what a run recorded up to `upTo` (all of it when absent) in front of the charts' points. */
  async #loadHistory(dir: string, upTo = Infinity): Promise<void> {
    const generation = this.#generation;
    const points = await this.#list.record(dir);
    if (!points || generation !== this.#generation) return;
    const of = (key: 'loss' | 'psnrY' | 'bicubicPsnrY' | 'detail') =>
      points
        .filter((p: RunPoint) => p.iteration <= upTo && p[key] !== undefined)
        .map((p) => [p.iteration, p[key]!] as const);
    this.loss.history('loss', of('loss'));
    this.psnr.history('network', of('psnrY'));
    this.psnr.history('bicubic', of('bicubicPsnrY'));
    this.psnr.history('detail', of('detail'));
  }

  async #submit(continued: RunInfo | null): Promise<void> {
    if (!this.canStart) return;
    const f = this.form;
    const iterations = this.#iterations.value!;
    const perceptual = f.objective === 'perceptual';
    this.#reset(iterations);
    this.#objective = f.objective;
    this.#state = 'queued';
    if (continued) {
      this.#iteration = continued.iteration;
      this.#job.fraction = Math.min(1, continued.iteration / iterations);
      this.#list.markTraining(continued.dir);
      // Only what the checkpoint holds: anything recorded after it goes when the run goes on.
      void this.#loadHistory(continued.dir, continued.iteration);
    }
    const spec: TrainJob = {
      data: f.data.trim(),
      val: f.val.trim() || null,
      preset: f.preset,
      scale: f.scale,
      activation: f.activation,
      iterations,
      // A new run goes into the app's runs folder; a continued run goes on in its own folder.
      run: continued ? { kind: 'continue', dir: continued.dir } : { kind: 'new', parent: null },
      degrade: f.degrade,
      init: continued ? null : f.init,
      objective: f.objective,
      ...(perceptual ? { advWeight: this.#advWeight.value! } : {}),
    };
    try {
      const { jobId } = await this.#app.api.request('job:train', spec);
      this.#job.follow(jobId);
    } catch (e) {
      this.#fail(plainError(e));
    }
  }

  /** Takes over a training the engine is running (after a reload): the form, the curves so far, then live events. */
  attach(job: JobInfo): void {
    if (job.kind !== 'train' || this.active) return;
    const s = job.spec as TrainJob;
    this.form = {
      data: s.data,
      val: s.val ?? '',
      preset: s.preset,
      scale: s.scale,
      activation: s.activation,
      iterations: s.iterations,
      degrade: s.degrade ?? 'none',
      init: s.init ?? null,
      objective: s.objective ?? 'pixel',
      advWeight: s.advWeight ?? DEFAULT_ADV_WEIGHT,
    };
    this.#reset(s.iterations);
    this.#objective = this.form.objective;
    this.#state = job.state;
    this.#job.attach(job);
    if (s.run.kind === 'continue') void this.#loadHistory(s.run.dir);
  }

  refreshRuns(): Promise<void> {
    return this.#list.refresh();
  }

  /** Copies the finished model into the user's models, so Upscale and Export can use it. */
  async addModel(): Promise<void> {
    if (!this.#modelPath) return;
    const model = await this.#app.importModel(this.#modelPath);
    if (model) this.#modelId = model.id;
  }

  async pause(): Promise<void> {
    if (this.#state !== 'running') return;
    const r = await this.#job.control('pause');
    // It pauses after the step in hand; job:state says when.
    if (r) this.#job.message = 'Pausing after this step…';
  }

  async resume(): Promise<void> {
    if (this.#state !== 'paused') return;
    const r = await this.#job.control('resume');
    if (r) this.#state = r.state;
  }

  async cancel(): Promise<void> {
    const r = await this.#job.control('cancel');
    if (r) this.#job.message = 'Stopping: saving a checkpoint…';
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:state':
        if (e.payload.state !== this.#state) void this.refreshRuns();
        this.#state = e.payload.state;
        if (e.payload.state === 'queued') this.#job.message = e.payload.message;
        else if (e.payload.state === 'paused') this.#job.message = '';
        break;
      case 'job:progress':
        this.#job.progress({ ...e.payload, fraction: Math.max(this.#job.fraction, e.payload.fraction) });
        break;
      case 'job:metrics': {
        const m = e.payload;
        // By its first point the run's folder says it is training: the list shows it so.
        if (!this.#listed) {
          this.#listed = true;
          void this.refreshRuns();
        }
        this.#iteration = Math.max(this.#iteration, m.iteration);
        if (m.loss !== undefined) this.loss.add('loss', m.iteration, m.loss);
        if (m.psnrY !== undefined) this.psnr.add('network', m.iteration, m.psnrY);
        if (m.bicubicPsnrY !== undefined) this.psnr.add('bicubic', m.iteration, m.bicubicPsnrY);
        if (m.detail !== undefined) this.psnr.add('detail', m.iteration, m.detail);
        if (m.itPerSec !== undefined) this.#itPerSec = m.itPerSec;
        if (m.etaMs !== undefined) this.#etaMs = m.etaMs;
        if (this.#total > 0) this.#job.fraction = Math.max(this.#job.fraction, m.iteration / this.#total);
        break;
      }
      case 'job:preview':
        this.#preview = e.payload.image;
        break;
      case 'job:done': {
        const r = e.payload.result;
        this.#job.summary = e.payload.summary;
        if (r.kind === 'train') {
          this.#modelPath = r.modelPath;
          this.#runDir = r.runDir;
          this.#iteration = r.iteration;
          this.#state = r.reason === 'cancelled' ? 'stopped' : 'finished';
        } else this.#state = 'stopped'; // cancelled before it started
        this.#end();
        void this.#app.refreshModels();
        void this.refreshRuns();
        this.#app.toasts.show(e.payload.summary, 'success');
        break;
      }
      case 'job:error':
        this.#fail(e.payload.message);
        this.#end();
        void this.refreshRuns();
        break;
      case 'job:file-done':
      case 'job:file-error':
        break;
    }
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#job.error = message;
    this.#app.toasts.show(message, 'error');
  }

  /** The job is over: no estimate or progress note is left beside its final state. */
  #end(): void {
    this.#etaMs = null;
    this.#job.message = '';
    this.#job.end();
  }
}
