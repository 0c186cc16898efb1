import type { FileEntry, ImageData64 } from '../api/types.ts';

export type ItemStatus = 'uploading' | 'ready' | 'queued' | 'working' | 'done' | 'error';

let nextKey = 1;

/** One image in the upscale queue. `path` is where the engine reads it (null while uploading). */
export class QueueItem {
  readonly key = nextKey++;
  #name = $state('');
  /** The dropped file (browser mode), for client-side previews. */
  readonly file: File | null;
  #path = $state<string | null>(null);
  #thumb = $state<string | null>(null);
  #status = $state<ItemStatus>('ready');
  #fraction = $state(0);
  #error = $state<string | null>(null);
  /** Known not to be upscalable (empty, not an image, too small, not uploaded): never started. */
  #unusable = $state(false);
  #warning = $state<string | null>(null);
  #output = $state<string | null>(null);
  #result = $state.raw<ImageData64 | null>(null);
  #outputSize = $state.raw<{ width: number; height: number } | null>(null);

  constructor(name: string, path: string | null, file: File | null = null) {
    this.#name = name;
    this.file = file;
    this.#path = path;
    this.#status = path ? 'ready' : 'uploading';
  }

  /** The file's name: as dropped, then as saved on the server (which removes invisible characters). */
  get name(): string {
    return this.#name;
  }
  get path(): string | null {
    return this.#path;
  }
  get thumb(): string | null {
    return this.#thumb;
  }
  get status(): ItemStatus {
    return this.#status;
  }
  get fraction(): number {
    return this.#fraction;
  }
  get error(): string | null {
    return this.#error;
  }
  /** Said of a result made with a caveat (e.g. only the first frame of an animation was used). */
  get warning(): string | null {
    return this.#warning;
  }
  get output(): string | null {
    return this.#output;
  }
  /** A small preview of the result (the engine's RESULT_MAX_SIDE), shown until the viewer's tiles arrive. */
  get result(): ImageData64 | null {
    return this.#result;
  }
  /** The size of the output file the engine wrote (the preview in `result` may be smaller). */
  get outputSize(): { width: number; height: number } | null {
    return this.#outputSize;
  }
  get unusable(): boolean {
    return this.#unusable;
  }
  /** Can go into the next job: ready, or failed in a batch for a reason that may since be fixed (a folder, Replace). */
  get startable(): boolean {
    return this.#path !== null && (this.#status === 'ready' || (this.#status === 'error' && !this.#unusable));
  }
  /** Whether `file` is the very file this item was added from (same name, size and time). */
  isFile(file: File): boolean {
    const f = this.file;
    return f !== null && f.name === file.name && f.size === file.size && f.lastModified === file.lastModified;
  }

  uploaded(entry: FileEntry): void {
    this.#path = entry.path;
    this.#name = entry.name;
    this.#status = 'ready';
  }
  setThumb(url: string | null): void {
    this.#thumb = url;
  }
  queue(): void {
    this.#status = 'queued';
    this.#fraction = 0;
    this.#error = null;
    this.#warning = null;
  }
  progress(fraction: number): void {
    this.#status = 'working';
    this.#fraction = fraction;
  }
  finish(
    output: string,
    result: ImageData64,
    outputSize: { width: number; height: number },
    warning: string | null = null,
  ): void {
    this.#status = 'done';
    this.#warning = warning;
    this.#fraction = 1;
    this.#output = output;
    this.#result = result;
    this.#outputSize = outputSize;
  }
  fail(message: string): void {
    this.#status = 'error';
    this.#error = message;
  }
  /** Marks the file as one that cannot be upscaled, with the sentence that says why. */
  reject(message: string): void {
    this.fail(message);
    this.#unusable = true;
  }
  /** Added again: a finished or failed file is ready for the next batch (to replace its result, say); false if it was not. */
  again(): boolean {
    if (this.#unusable || (this.#status !== 'done' && this.#status !== 'error')) return false;
    this.#status = 'ready';
    this.#error = null;
    this.#fraction = 0;
    return true;
  }
  /** Back to waiting after a cancelled or failed job. */
  unqueue(): void {
    if (this.#status === 'queued' || this.#status === 'working') {
      this.#status = 'ready';
      this.#fraction = 0;
    }
  }
}
