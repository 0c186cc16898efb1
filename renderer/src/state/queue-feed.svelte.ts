import { localPathOf } from '../api/pick.ts';
import { uploadFile } from '../api/upload.ts';
import { IMAGE_EXTENSIONS } from '../lib/choices.ts';
import { droppedItems, imagesFrom } from '../lib/drop.ts';
import { plainError } from '../lib/errors.ts';
import { thumbnailOf } from '../lib/images.ts';
import type { Services } from './services.ts';
import { QueueItem } from './queue-item.svelte.ts';

const THUMB = 96;

/**
 * How files come into the upscale queue: opened, dropped (uploaded in browser mode) or named by
 * path; each is checked at once (a file that cannot be upscaled says why and is never started)
 * and a file already in the queue is not added twice. Uploads, checks and thumbnails run one
 * after another so they do not flood the connection.
 */
/** The queue the feed adds to. */
export interface QueueList {
  items(): readonly QueueItem[];
  append(added: QueueItem[]): void;
  /** Takes out an item that turned out to be one already there. */
  drop(item: QueueItem): void;
}

export class QueueFeed {
  readonly #app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'browser'>;
  readonly #queue: QueueList;
  #work: Promise<unknown> = Promise.resolve();

  constructor(app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'browser'>, queue: QueueList) {
    this.#app = app;
    this.#queue = queue;
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
      if (skipped.length)
        this.#app.toasts.show(
          `Skipped ${skipped.length} file(s) that are not images: ${skipped.slice(0, 3).join(', ')}.`,
        );
      if (images.length === 0 && !skipped.length)
        this.#app.toasts.show('Nothing to add: drop image files or folders of images.');
      this.addFiles(images);
    });
  }

  async addPaths(paths: string[]): Promise<void> {
    const found = await this.#app.attempt(this.#app.api.request('files:expand', { paths }));
    if (!found) return;
    for (const p of found.problems) this.#app.toasts.show(p, 'error');
    this.addServerFiles(found.files);
  }

  /** Appends the files on the engine's side not yet in the queue, and checks them. */
  addServerFiles(files: ReadonlyArray<{ name: string; path: string }>, quiet = false): void {
    const items = this.#queue.items();
    const fresh = files.filter((f) => !items.some((i) => i.path === f.path));
    if (!quiet) this.#sayKnown(files.flatMap((f) => items.filter((i) => i.path === f.path)));
    const added = fresh.map((f) => new QueueItem(f.name, f.path));
    this.#queue.append(added);
    for (const item of added) this.enqueue(() => this.#check(item));
  }

  addFiles(files: File[]): void {
    const items = this.#queue.items();
    const known = files.flatMap((f) => items.filter((i) => i.isFile(f)));
    this.#sayKnown(known);
    const added = files.filter((f) => !items.some((i) => i.isFile(f))).map((f) => new QueueItem(f.name, null, f));
    this.#queue.append(added);
    for (const item of added) {
      void thumbnailOf(item.file!, THUMB).then((url) => item.setThumb(url));
      this.enqueue(() => this.#upload(item));
    }
  }

  /** Runs tasks one after another. */
  enqueue(task: () => Promise<void>): void {
    this.#work = this.#work.then(task, task);
  }

  /** Files added again are not added twice: said once, and a finished or failed one is made ready again. */
  #sayKnown(known: readonly QueueItem[]): void {
    if (known.length === 0) return;
    const again = known.filter((i) => i.again());
    const list = (items: readonly QueueItem[]) => {
      const names = items.map((i) => i.name);
      return names.length === 1
        ? names[0]!
        : `${names.length} files (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`;
    };
    const is = (items: readonly QueueItem[]) => (items.length === 1 ? 'is' : 'are');
    const ready = again.length
      ? `; ${again.length === known.length ? (again.length === 1 ? 'it' : 'they') : list(again)} ${is(again)} ready to be upscaled again (tick "Replace existing outputs" to replace the earlier result)`
      : '';
    this.#app.toasts.show(`${list(known)} ${is(known)} already in the queue${ready}.`);
  }

  async #upload(item: QueueItem): Promise<void> {
    try {
      const entry = await uploadFile(this.#app.api, item.file!);
      // The same bytes under the same name are the file received before (uploads.ts): one item.
      const same = this.#queue.items().find((i) => i !== item && i.path === entry.path);
      if (same) {
        this.#queue.drop(item);
        return this.#sayKnown([same]);
      }
      item.uploaded(entry);
      // The server never replaces a file: another file of the same name is kept as "name (2)".
      if (entry.name !== item.file!.name)
        this.#app.toasts.show(
          `Another file named ${item.file!.name} was added before, so this one is kept as ${entry.name}.`,
        );
    } catch (e) {
      item.reject(plainError(e));
      return;
    }
    await this.#check(item);
  }

  /** The engine's checks on a file it has (size, format, at least a few pixels), then its thumbnail. */
  async #check(item: QueueItem): Promise<void> {
    if (!item.path) return;
    try {
      await this.#app.api.request('image:check', { path: item.path });
    } catch (e) {
      item.reject(plainError(e));
      return;
    }
    if (item.thumb) return;
    try {
      const t = await this.#app.api.request('image:thumbnail', { path: item.path, maxSide: THUMB });
      item.setThumb(t.dataUrl);
    } catch {
      // No thumbnail: the file was checked and can still be upscaled.
    }
  }
}
