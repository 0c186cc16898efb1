import type { JobEvent } from '../api/jobs.ts';
import { localPathOf } from '../api/pick.ts';
import { uploadFile } from '../api/upload.ts';
import type { Events, ImageData64, JobId, JobInfo, OutputFormat, UpscaleJob } from '../api/types.ts';
import { IMAGE_EXTENSIONS } from '../lib/choices.ts';
import { droppedItems, imagesFrom } from '../lib/drop.ts';
import { plainError } from '../lib/errors.ts';
import { baseName } from '../lib/format.ts';
import { thumbnailOf } from '../lib/images.ts';
import type { AppState } from './app.svelte.ts';
import { QueueItem } from './queue-item.svelte.ts';

export type PreviewTile = Events['job:preview'];
const THUMB = 96;

/** The Upscale view: the queue, one job at a time, its live tiles and the finished results. */
export class UpscaleSession {
  readonly #app: AppState;
  #items = $state.raw<QueueItem[]>([]);
  #modelId = $state('');
  #format = $state<OutputFormat>('png');
  #overwrite = $state(false);
  /** The output folder as typed (null: as saved in the settings); checked when an upscale starts. */
  #outputDir = $state<string | null>(null);
  #outputError = $state<string | null>(null);
  #jobId = $state<JobId | null>(null);
  #fraction = $state(0);
  #message = $state('');
  #summary = $state<string | null>(null);
  #error = $state<string | null>(null);
  #tiles = $state.raw<PreviewTile[]>([]);
  #selectedKey = $state<number | null>(null);
  #pinned = $state(false);
  #release: (() => void) | null = null;
  #work: Promise<unknown> = Promise.resolve();

  constructor(app: AppState) {
    this.#app = app;
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
  get running(): boolean {
    return this.#jobId !== null;
  }
  get fraction(): number {
    return this.#fraction;
  }
  get message(): string {
    return this.#message;
  }
  get summary(): string | null {
    return this.#summary;
  }
  get error(): string | null {
    return this.#error;
  }
  get tiles(): readonly PreviewTile[] {
    return this.#tiles;
  }
  readonly selected = $derived(this.#items.find((i) => i.key === this.#selectedKey) ?? null);
  /** Show the selected result rather than the live tiles. */
  readonly showResult = $derived(this.selected?.status === 'done' && (this.#pinned || this.#jobId === null));
  readonly startable = $derived(this.#items.filter((i) => i.startable));
  readonly canStart = $derived(this.#jobId === null && this.startable.length > 0 && this.modelIdEffective !== '');
  readonly doneCount = $derived(this.#items.filter((i) => i.status === 'done').length);

  select(key: number | null): void {
    this.#selectedKey = key;
    this.#pinned = key !== null;
  }

  remove(key: number): void {
    this.#items = this.#items.filter((i) => i.key !== key || i.status === 'queued' || i.status === 'working');
  }

  clear(): void {
    this.#items = this.#items.filter((i) => i.status === 'queued' || i.status === 'working');
    if (!this.selected) this.#selectedKey = null;
  }

  /** Ctrl+O: the native dialog in Electron, the browser's file picker otherwise. */
  async open(): Promise<void> {
    if (this.#app.browser) {
      const input = document.createElement('input');
      input.type = 'file';
      input.multiple = true;
      input.accept = IMAGE_EXTENSIONS.join(',');
      input.onchange = () => this.addFiles([...(input.files ?? [])]);
      input.click();
      return;
    }
    const paths = await this.#app.attempt(this.#app.api.request('dialog:open-images', undefined));
    if (paths?.length) await this.addPaths(paths);
  }

  /** A drop anywhere in the window: local paths in Electron (folders expand there), uploads in the browser. */
  drop(dt: DataTransfer): void {
    const files = [...dt.files];
    const paths = files.map((f) => localPathOf(this.#app.api, f));
    if (files.length > 0 && paths.every((p) => p !== null)) {
      void this.addPaths(paths as string[]);
      return;
    }
    void imagesFrom(droppedItems(dt)).then(({ files: images, skipped }) => {
      if (skipped.length) this.#app.toasts.show(`Skipped ${skipped.length} file(s) that are not images: ${skipped.slice(0, 3).join(', ')}.`);
      if (images.length === 0 && !skipped.length) this.#app.toasts.show('Nothing to add: drop image files or folders of images.');
      this.addFiles(images);
    });
  }

  async addPaths(paths: string[]): Promise<void> {
    const found = await this.#app.attempt(this.#app.api.request('files:expand', { paths }));
    if (!found) return;
    for (const p of found.problems) this.#app.toasts.show(p, 'error');
    this.#addServerFiles(found.files);
  }

  /** Appends the files on the engine's side not yet in the queue, and queues their thumbnails. */
  #addServerFiles(files: ReadonlyArray<{ name: string; path: string }>): void {
    const known = new Set(this.#items.map((i) => i.path));
    const added = files.filter((f) => !known.has(f.path)).map((f) => new QueueItem(f.name, f.path));
    this.#items = [...this.#items, ...added];
    for (const item of added) this.#enqueue(() => this.#serverThumb(item));
  }

  addFiles(files: File[]): void {
    const added = files.map((f) => new QueueItem(f.name, null, f));
    this.#items = [...this.#items, ...added];
    for (const item of added) {
      void thumbnailOf(item.file!, THUMB).then((url) => item.setThumb(url));
      this.#enqueue(() => this.#upload(item));
    }
  }

  /** Runs tasks one after another so uploads and thumbnails do not flood the connection. */
  #enqueue(task: () => Promise<void>): void {
    this.#work = this.#work.then(task, task);
  }

  async #serverThumb(item: QueueItem): Promise<void> {
    if (!item.path) return;
    try {
      const t = await this.#app.api.request('image:thumbnail', { path: item.path, maxSide: THUMB });
      item.setThumb(t.dataUrl);
    } catch (e) {
      item.fail(plainError(e));
    }
  }

  async #upload(item: QueueItem): Promise<void> {
    try {
      item.uploaded(await uploadFile(this.#app.api, item.file!));
      if (!item.thumb) await this.#serverThumb(item);
    } catch (e) {
      item.fail(plainError(e));
    }
  }

  async start(): Promise<void> {
    if (!this.canStart) return;
    const items = this.startable;
    for (const i of items) i.queue();
    this.#fraction = 0;
    this.#message = 'Starting…';
    this.#summary = this.#error = null;
    this.#tiles = [];
    this.#pinned = false;
    this.#selectedKey = null;
    try {
      const { jobId } = await this.#app.api.request('job:upscale', {
        files: items.map((i) => i.path!),
        modelId: this.modelIdEffective,
        format: this.#format,
        outputDir: this.outputDir.trim() || null,
        overwrite: this.#overwrite,
      });
      this.#jobId = jobId;
      this.#release = this.#app.jobs.claim(jobId, (e) => this.#onEvent(e));
    } catch (e) {
      for (const i of items) i.unqueue();
      this.#error = plainError(e);
      if (/^Output folder/.test(this.#error)) this.#outputError = this.#error;
      this.#app.toasts.error(e);
    }
  }

  /** Takes over an upscale batch the engine is running (after a reload): its files, then its events. */
  attach(job: JobInfo): void {
    if (job.kind !== 'upscale' || this.#jobId) return;
    const s = job.spec as UpscaleJob;
    this.#addServerFiles(s.files.map((f) => ({ name: baseName(f), path: f })));
    for (const i of this.#items) if (i.path && s.files.includes(i.path)) i.queue();
    this.#modelId = s.modelId;
    this.#format = s.format;
    this.#overwrite = s.overwrite;
    this.#jobId = job.jobId;
    this.#release = this.#app.jobs.attach(job, (e) => this.#onEvent(e));
  }

  async cancel(): Promise<void> {
    if (this.#jobId) await this.#app.attempt(this.#app.api.request('job:cancel', { jobId: this.#jobId }));
  }

  #find(file: string | undefined): QueueItem | undefined {
    if (!file) return undefined;
    return this.#items.find((i) => i.path === file) ?? this.#items.find((i) => i.path && baseName(i.path) === baseName(file));
  }

  #onEvent(e: JobEvent): void {
    switch (e.channel) {
      case 'job:state':
        if (e.payload.state === 'queued') this.#message = e.payload.message;
        break;
      case 'job:progress':
        this.#fraction = e.payload.fraction;
        this.#message = e.payload.message;
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
        const finish = (result: ImageData64) => item?.finish(output, result, { width, height }, e.payload.warning ?? null);
        // A result replayed after a reload may come without its preview image: load it, one after
        // another with the thumbnails (a reload replays every finished file at once).
        if (e.payload.result.dataUrl) finish(e.payload.result);
        else if (item)
          this.#enqueue(async () => {
            const t = await this.#app.attempt(this.#app.api.request('image:thumbnail', { path: output, maxSide: 1024 }));
            if (t) finish(t);
          });
        if (item && !this.#pinned) this.#selectedKey = item.key;
        break;
      }
      case 'job:file-error':
        this.#find(e.payload.file)?.fail(e.payload.message);
        break;
      case 'job:done':
        this.#summary = e.payload.summary;
        this.#end();
        break;
      case 'job:error':
        this.#error = e.payload.message;
        this.#app.toasts.show(e.payload.message, 'error');
        this.#end();
        break;
      case 'job:metrics':
        break;
    }
  }

  #end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
    for (const i of this.#items) i.unqueue();
  }
}
