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
  /** Can go into the next job. */
  get startable(): boolean {
    return this.#path !== null && (this.#status === 'ready' || this.#status === 'error');
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
  finish(output: string, result: ImageData64, outputSize: { width: number; height: number }, warning: string | null = null): void {
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
  /** Back to waiting after a cancelled or failed job. */
  unqueue(): void {
    if (this.#status === 'queued' || this.#status === 'working') {
      this.#status = 'ready';
      this.#fraction = 0;
    }
  }
}
