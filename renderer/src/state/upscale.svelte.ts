import type { JobEvent } from '../api/jobs.ts';
import type { Events, ImageData64, JobInfo, OutputFormat, ResultInfo, UpscaleJob } from '../api/types.ts';
import { fieldOf, OUTPUT_FOLDER, plainError } from '../lib/errors.ts';
import { baseName } from '../lib/format.ts';
import { JobSession, JobTracker } from './job-tracker.svelte.ts';
import { QueueFeed } from './queue-feed.svelte.ts';
import type { QueueItem } from './queue-item.svelte.ts';
import { ResultsList, shownOf, type ShownResult } from './results.svelte.ts';
import type { Services } from './services.ts';

export type PreviewTile = Events['job:preview'];
export type ViewMode = 'slider' | 'side';

/** The Upscale view: the queue, one job at a time, its live tiles and the finished results. */
export class UpscaleSession extends JobSession {
  readonly #app: Pick<
    Services,
    'api' | 'jobs' | 'toasts' | 'attempt' | 'models' | 'settings' | 'saveSettings' | 'browser' | 'view'
  >;
  protected readonly job: JobTracker;
  #items = $state.raw<QueueItem[]>([]);
  #modelId = $state('');
  #format = $state<OutputFormat>('png');
  #overwrite = $state(false);
  /** The output folder as typed (null: as saved in the settings); checked when an upscale starts. */
  #outputDir = $state<string | null>(null);
  #outputError = $state<string | null>(null);
  #tiles = $state.raw<PreviewTile[]>([]);
  #selectedKey = $state<number | null>(null);
  #pinned = $state(false);
  /** A result opened from the Results list (shown instead of the selected queue item). */
  #opened = $state.raw<ResultInfo | null>(null);
  /** The viewer's layout, kept while the user moves from image to image. */
  #viewMode = $state<ViewMode>('slider');
  /** The list beside the controls: the queue, or the results kept across restarts. */
  #panel = $state<'queue' | 'results'>('queue');
  readonly #feed: QueueFeed;
  /** Upscaled photos kept across restarts, and where results go when no output folder is typed. */
  readonly results: ResultsList;

  constructor(
    app: Pick<
      Services,
      'api' | 'jobs' | 'toasts' | 'attempt' | 'models' | 'settings' | 'saveSettings' | 'browser' | 'view'
    >,
  ) {
    super();
    this.#app = app;
    this.job = new JobTracker(app, (e) => this.#onEvent(e));
    this.results = new ResultsList(app.api);
    this.#feed = new QueueFeed(app, {
      items: () => this.#items,
      append: (added) => {
        this.#items = [...this.#items, ...added];
        // Files being added are seen being added.
        if (added.length) this.#panel = 'queue';
      },
      drop: (item) => (this.#items = this.#items.filter((i) => i !== item)),
    });
  }

  get items(): readonly QueueItem[] {
    return this.#items;
  }
  /** The chosen model, else the most recent one, else the default one (as the CLI's), else the first. */
  readonly modelIdEffective = $derived.by(() => {
    const models = this.#app.models;
    if (this.#modelId && models.some((m) => m.id === this.#modelId)) return this.#modelId;
    const recent = this.#app.settings?.recentModels.find((id) => models.some((m) => m.id === id));
    return recent ?? models.find((m) => m.isDefault)?.id ?? models[0]?.id ?? '';
  });
  get modelId(): string {
    return this.modelIdEffective;
  }
  set modelId(id: string) {
    this.#modelId = id;
  }
  get format(): OutputFormat {
    return this.#format;
  }
  set format(f: OutputFormat) {
    this.#format = f;
  }
  get overwrite(): boolean {
    return this.#overwrite;
  }
  set overwrite(v: boolean) {
    this.#overwrite = v;
  }
  /** The output folder field: what the user typed, else the saved setting ('' = next to each photo). */
  get outputDir(): string {
    return this.#outputDir ?? this.#app.settings?.outputDir ?? '';
  }
  /** Why the typed output folder cannot be used (shown at the field). */
  get outputError(): string | null {
    return this.#outputError;
  }
  /** Where results go when the field is empty: the results folder in browser mode (null: next to each photo). */
  get defaultOutput(): string | null {
    return this.#app.browser ? this.results.folder : null;
  }
  get panel(): 'queue' | 'results' {
    return this.#panel;
  }
  set panel(p: 'queue' | 'results') {
    this.#panel = p;
    if (p === 'results') void this.results.load();
  }
  get viewMode(): ViewMode {
    return this.#viewMode;
  }
  set viewMode(m: ViewMode) {
    this.#viewMode = m;
  }
  /** Keeps what was typed and saves it as the default for next time when it is a usable folder. */
  async setOutputDir(v: string): Promise<void> {
    this.#outputDir = v;
    this.#outputError = null;
    try {
      await this.#app.saveSettings({ outputDir: v.trim() || null });
    } catch (e) {
      this.#outputError = plainError(e);
    }
  }
  get tiles(): readonly PreviewTile[] {
    return this.#tiles;
  }
  readonly selected = $derived(this.#items.find((i) => i.key === this.#selectedKey) ?? null);
  /** Show the selected result rather than the live tiles. */
  get showResult(): boolean {
    return this.selected?.status === 'done' && (this.#pinned || !this.job.running);
  }
  /** What the result viewer shows: a result opened from the list, else the selected finished item. */
  readonly shown = $derived<ShownResult | null>(
    this.#opened ? shownOf(this.#opened) : this.showResult ? this.selected : null,
  );
  readonly startable = $derived(this.#items.filter((i) => i.startable));
  get canStart(): boolean {
    return !this.job.running && this.startable.length > 0 && this.modelIdEffective !== '';
  }
  readonly doneCount = $derived(this.#items.filter((i) => i.status === 'done').length);
  /** Files known not to be upscalable (each says why in its row). */
  readonly unusableCount = $derived(this.#items.filter((i) => i.unusable).length);

  select(key: number | null): void {
    this.#selectedKey = key;
    this.#pinned = key !== null;
    this.#opened = null;
  }

  /** Shows a result from the Results list in the viewer. */
  openResult(r: ResultInfo): void {
    this.#opened = r;
    this.#selectedKey = null;
    this.#pinned = true;
  }

  remove(key: number): void {
    this.#items = this.#items.filter((i) => i.key !== key || i.status === 'queued' || i.status === 'working');
  }

  clear(): void {
    this.#items = this.#items.filter((i) => i.status === 'queued' || i.status === 'working');
    if (!this.selected) this.#selectedKey = null;
    // What the last batch showed goes with it: its live tiles and its summary.
    if (!this.job.running) {
      this.#tiles = [];
      this.job.fraction = 0;
      this.job.summary = this.job.error = null;
    }
  }

  /** Ctrl+O: the native dialog in Electron, the browser's file picker otherwise. */
  open(): Promise<void> {
    return this.#feed.open();
  }
  /** A drop anywhere in the window. */
  drop(dt: DataTransfer): void {
    this.#feed.drop(dt);
  }
  addPaths(paths: string[]): Promise<void> {
    return this.#feed.addPaths(paths);
  }
  addFiles(files: File[]): void {
    this.#feed.addFiles(files);
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    const items = this.startable;
    for (const i of items) i.queue();
    this.job.reset();
    this.#tiles = [];
    this.#pinned = false;
    this.#selectedKey = null;
    this.#opened = null;
    try {
      const { jobId } = await this.#app.api.request('job:upscale', {
        files: items.map((i) => i.path!),
        model: this.modelIdEffective,
        format: this.#format,
        outputDir: this.outputDir.trim() || this.defaultOutput,
        overwrite: this.#overwrite,
      });
      this.job.follow(jobId);
    } catch (e) {
      for (const i of items) i.unqueue();
      // Said once, where it is fixed: at the output folder's field, else in the view's status line.
      if (fieldOf(e) === OUTPUT_FOLDER) this.#outputError = plainError(e);
      else this.job.error = plainError(e);
    }
  }

  /** Takes over an upscale batch the engine is running (after a reload): its files, then its events. */
  attach(job: JobInfo): void {
    if (job.kind !== 'upscale' || this.job.running) return;
    const s = job.spec as UpscaleJob;
    this.#feed.addServerFiles(
      s.files.map((f) => ({ name: baseName(f), path: f })),
      true,
    );
    for (const i of this.#items) if (i.path && s.files.includes(i.path)) i.queue();
    this.#modelId = s.model;
    this.#format = s.format;
    this.#overwrite = s.overwrite;
    this.job.attach(job);
  }

  async cancel(): Promise<void> {
    await this.job.control('cancel');
  }

  #find(file: string | undefined): QueueItem | undefined {
    if (!file) return undefined;
    return (
      this.#items.find((i) => i.path === file) ?? this.#items.find((i) => i.path && baseName(i.path) === baseName(file))
    );
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:state':
        if (e.payload.state === 'queued') this.job.message = e.payload.message;
        break;
      case 'job:progress':
        this.job.progress(e.payload);
        this.#find(e.payload.file)?.progress(e.payload.fileFraction ?? 0);
        break;
      case 'job:preview': {
        const first = this.#tiles[0];
        this.#tiles = first && first.file === e.payload.file ? [...this.#tiles, e.payload] : [e.payload];
        break;
      }
      case 'job:file-done': {
        const item = this.#find(e.payload.file);
        const { output, width, height } = e.payload;
        const finish = (result: ImageData64) =>
          item?.finish(output, result, { width, height }, e.payload.warning ?? null);
        // A result replayed after a reload may come without its preview image: load it, one after
        // another with the thumbnails (a reload replays every finished file at once).
        if (e.payload.result.dataUrl) finish(e.payload.result);
        else if (item)
          this.#feed.enqueue(async () => {
            const t = await this.#app.attempt(
              this.#app.api.request('image:thumbnail', { path: output, maxSide: 1024 }),
            );
            if (t) finish(t);
          });
        if (item && !this.#pinned) this.#selectedKey = item.key;
        break;
      }
      case 'job:file-error':
        this.#find(e.payload.file)?.fail(e.payload.message);
        break;
      case 'job:done':
        this.job.summary = this.#summaryOf(e.payload);
        this.#end();
        void this.results.load();
        break;
      case 'job:error':
        // Placed by its facts, as a refused start is: at the output folder's field, else in the status line.
        if (fieldOf(e.payload) === OUTPUT_FOLDER) this.#outputError = e.payload.message;
        else this.job.error = e.payload.message;
        // The view's status line says it; a toast only when another view is showing.
        if (this.#app.view !== 'upscale') this.#app.toasts.show(e.payload.message, 'error');
        this.#end();
        break;
      case 'job:metrics':
        break;
    }
  }

  /** The engine's summary, counting as failed the files in the queue known not to be upscalable (as the command line would). */
  #summaryOf(done: Events['job:done']): string {
    const r = done.result;
    const unusable = this.unusableCount;
    if (r.kind !== 'upscale' || r.cancelled || unusable === 0) return done.summary;
    return `${r.upscaled} upscaled, ${r.failed + unusable} failed.`;
  }

  #end(): void {
    this.job.end();
    for (const i of this.#items) i.unqueue();
  }
}
