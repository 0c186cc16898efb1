/**
 * Node adapter for training data: a folder of photos as a `DatasetSource` (ml/dataset.ts).
 *
 * - The folder is scanned once, recursively (`collectImages`: files with an image extension,
 *   hidden files and folders skipped), and each file is checked once by decoding it with
 *   `readImage`. Files that cannot be read are skipped and reported in one warning; images
 *   smaller than `minSide` (the HR patch side) on either side are skipped and reported in another;
 *   animations and multi-page files give their first frame, and a third warning lists them.
 * - Indices follow the paths relative to the folder, '/'-separated, sorted by code unit (not by
 *   locale), so the same folder gives the same indices on every machine.
 * - Pixels are kept as compact 8-bit RGB (`TrainImage`): 16-bit files are rounded to 8 bits, and
 *   alpha is flattened on black (colour × alpha), so whatever colour hides under transparent
 *   pixels never reaches training.
 * - Decoded images live in an LRU cache bounded by `memoryBudgetBytes` (3 bytes per pixel). The
 *   decodes made during the scan are kept while they fit; beyond the budget an image is decoded
 *   again when asked for (so a large folder costs decode time, not memory).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DatasetSource, TrainImage } from '../dataset.ts';
import { errors, fsError, isUserError, type UserError } from '../errors.ts';
import type { RgbImage } from '../image.ts';
import { imagesBelow, withFileBelow } from './below.ts';
import { collectImages } from './files.ts';
import { framesOf, readImage } from './image-io.ts';

export const DEFAULT_MEMORY_BUDGET = 1024 ** 3;

export interface OpenImageFolderOptions {
  /** Smallest width and height an image needs: the HR patch side. */
  readonly minSide: number;
  /** Bytes of decoded pixels to keep in memory (default 1 GiB). */
  readonly memoryBudgetBytes?: number | undefined;
  /**
   * Called at most three times: listing the unreadable files, the too-small ones (not when every
   * image is too small: the error thrown then says so), and those of which only the first frame
   * or page is used.
   */
  readonly onWarning?: ((msg: string) => void) | undefined;
  /**
   * `dir` names a folder opened already (through.ts): it is listed through that handle, and
   * nothing below it is reached through a symlink (below.ts), for the scan and every later read.
   */
  readonly opened?: boolean | undefined;
}

export interface SkippedFile {
  /** Absolute path. */
  readonly file: string;
  /** The user error's message for an unreadable file; "only W×H pixels, …" for a small one. */
  readonly reason: string;
}

export interface ImageFolder {
  readonly source: DatasetSource;
  readonly skipped: SkippedFile[];
  /** One line for the log, e.g. `12 training images in "photos" (…); 45.3 MB decoded, all cached.` */
  readonly summary: string;
}

/** 8-bit RGB of a decoded image, alpha flattened on black. */
export function toTrainImage(name: string, img: RgbImage): TrainImage {
  const { width, height, alpha } = img;
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = alpha ? alpha[p]! : 1;
    for (let c = 0; c < 3; c++) {
      const v = img.rgb[p * 3 + c]! * a;
      rgb[p * 3 + c] = v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0;
    }
  }
  return { name, width, height, rgb };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const list = (items: readonly string[], max = 20) =>
  items.length <= max ? items.join('; ') : `${items.slice(0, max).join('; ')}; and ${items.length - max} more`;

interface Entry {
  readonly file: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
}

/** Scans `dir` and returns its usable images as a `DatasetSource`; see the top of this file. */
export async function openImageFolder(dir: string, opts: OpenImageFolderOptions): Promise<ImageFolder> {
  const { minSide, onWarning } = opts;
  const budget = opts.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET;
  if (!(Number.isInteger(minSide) && minSide > 0)) throw new Error(`openImageFolder: bad minSide ${minSide}`);
  if (!(budget >= 0)) throw new Error(`openImageFolder: bad memory budget ${budget}`);
  const root = path.resolve(dir);
  let st;
  try {
    st = await fs.stat(root);
  } catch (e) {
    throw fsError(e, dir);
  }
  if (!st.isDirectory()) {
    throw errors.badArgument(`${JSON.stringify(dir)} is a file, not a folder; choose a folder of training photos.`);
  }
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const candidates = opts.opened ? await listOpened(root, dir) : await listNamed(root, dir, rel);
  candidates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const read = opts.opened ? (file: string) => withFileBelow(root, rel(file), readImage) : readImage;
  const cache = new LruCache(budget);
  const entries: Entry[] = [];
  /** Each with its cause in a few words for the warning (`short`). */
  const unreadable: Array<SkippedFile & { short: string }> = [];
  const tooSmall: Array<SkippedFile & { short: string }> = [];
  const firstFrames: string[] = [];
  let largest = { width: 0, height: 0 };
  let totalBytes = 0;

  // Decode a few files at a time but commit them in order, so the cache's contents are the same
  // on every run.
  const decode = async (c: { file: string; name: string }) => {
    try {
      const { image, info } = await read(c.file);
      return { ...c, image: toTrainImage(c.name, image), frames: framesOf(info) };
    } catch (e) {
      // A bug (not a user error) is rethrown by `commit`, so no decode promise ever rejects.
      return { ...c, error: isUserError(e) ? e : undefined, bug: e };
    }
  };
  type Decoded = Awaited<ReturnType<typeof decode>>;
  const commit = (d: Decoded) => {
    if (!('image' in d)) {
      if (d.error === undefined) throw d.bug;
      unreadable.push({ file: d.file, reason: d.error.message, short: shortReason(d.error) });
      return;
    }
    const { width, height } = d.image;
    if (Math.min(width, height) > Math.min(largest.width, largest.height)) largest = { width, height };
    if (width < minSide || height < minSide) {
      const size = `only ${width}×${height} pixels`;
      tooSmall.push({ file: d.file, reason: `${size}, smaller than the ${minSide}×${minSide} patch`, short: size });
      return;
    }
    if (d.frames) firstFrames.push(`${d.name} (${d.frames})`);
    cache.putIfRoom(entries.length, d.image);
    totalBytes += d.image.rgb.length;
    entries.push({ file: d.file, name: d.name, width, height });
  };
  const window: Promise<Decoded>[] = [];
  for (const c of candidates) {
    window.push(decode(c));
    if (window.length >= 4) commit(await window.shift()!);
  }
  while (window.length) commit(await window.shift()!);

  if (unreadable.length) {
    onWarning?.(
      `Skipped ${unreadable.length} unreadable file${unreadable.length > 1 ? 's' : ''} in ${JSON.stringify(dir)}: ` +
        list(unreadable.map((s) => `${rel(s.file)} (${s.short})`)),
    );
  }
  // When nothing is left, the error below says it all.
  if (tooSmall.length && entries.length) {
    onWarning?.(
      `Skipped ${tooSmall.length} image${tooSmall.length > 1 ? 's' : ''} in ${JSON.stringify(dir)} smaller than ` +
        `${minSide}×${minSide} pixels: ` +
        list(tooSmall.map((s) => `${rel(s.file)} (${s.short})`)),
    );
  }
  if (!entries.length) throw tooSmall.length ? errors.allImagesTooSmall(dir, minSide, largest) : errors.noImages(dir);
  if (firstFrames.length) {
    const n = firstFrames.length;
    onWarning?.(
      `Only the first frame or page is used of ${n} file${n > 1 ? 's' : ''} in ${JSON.stringify(dir)}: ${list(firstFrames)}`,
    );
  }

  const inflight = new Map<number, Promise<TrainImage>>();
  const load = async (i: number): Promise<TrainImage> => {
    const e = entries[i]!;
    const img = toTrainImage(e.name, (await read(e.file)).image);
    if (img.width < minSide || img.height < minSide) throw errors.imageTooSmall(e.file, img.width, img.height, minSide);
    cache.put(i, img);
    return img;
  };
  const source: DatasetSource = {
    size: entries.length,
    name(i) {
      return entryAt(entries, i).name;
    },
    get(i) {
      try {
        entryAt(entries, i);
      } catch (e) {
        return Promise.reject(e);
      }
      const hit = cache.get(i);
      if (hit) return Promise.resolve(hit);
      let p = inflight.get(i);
      if (!p) {
        p = load(i).finally(() => inflight.delete(i));
        inflight.set(i, p);
      }
      return p;
    },
  };

  const skipped = [...unreadable, ...tooSmall]
    .map(({ file, reason }) => ({ file, reason }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const notes = [
    unreadable.length ? `${unreadable.length} unreadable` : '',
    tooSmall.length ? `${tooSmall.length} smaller than ${minSide}×${minSide}` : '',
  ].filter(Boolean);
  const cached =
    cache.bytes >= totalBytes
      ? 'all cached'
      : `${mb(cache.bytes)} cached within the ${mb(budget)} budget, the rest decoded on demand`;
  const summary =
    `${entries.length} training image${entries.length > 1 ? 's' : ''} in ${JSON.stringify(dir)}` +
    (notes.length ? ` (skipped ${notes.join(', ')})` : '') +
    `; ${mb(totalBytes)} decoded, ${cached}.`;
  return { source, skipped, summary };
}

/** The images in a folder named by its path (symlinks followed, as the user's own tools do). */
async function listNamed(
  root: string,
  dir: string,
  rel: (f: string) => string,
): Promise<Array<{ file: string; name: string }>> {
  const { files, problems } = await collectImages([root]);
  if (!files.length)
    throw problems.some((p) => p.code === 'no-images') || !problems[0] ? errors.noImages(dir) : problems[0];
  return files.map((f) => ({ file: f.path, name: rel(f.path) }));
}

/** The images in an opened folder, listed through its handle (below.ts). */
async function listOpened(root: string, dir: string): Promise<Array<{ file: string; name: string }>> {
  const out: Array<{ file: string; name: string }> = [];
  try {
    for await (const name of imagesBelow(root)) out.push({ file: path.join(root, ...name.split('/')), name });
  } catch (e) {
    throw fsError(e, dir);
  }
  if (!out.length) throw errors.noImages(dir);
  return out;
}

/** An unreadable file's cause in a few words, from its error's facts, e.g. "the file is cut short or damaged". */
function shortReason(e: UserError): string {
  if (e.code === 'empty-file') return 'empty file';
  const why = (e.facts as { why?: string }).why;
  return e.code === 'unreadable-image' && why !== undefined ? why : e.message;
}

function entryAt(entries: readonly Entry[], i: number): Entry {
  const e = Number.isInteger(i) ? entries[i] : undefined;
  if (!e) throw new Error(`dataset index ${i} out of range 0…${entries.length - 1}`);
  return e;
}

/** Least-recently-used images by index, at most `budget` bytes of pixels. */
class LruCache {
  readonly #map = new Map<number, TrainImage>(); // insertion order = recency, oldest first
  bytes = 0;
  constructor(readonly budget: number) {}

  get(i: number): TrainImage | undefined {
    const img = this.#map.get(i);
    if (img) {
      this.#map.delete(i);
      this.#map.set(i, img);
    }
    return img;
  }

  /** Adds without evicting anything (the scan keeps the first images that fit). */
  putIfRoom(i: number, img: TrainImage): void {
    if (!this.#map.has(i) && this.bytes + img.rgb.length <= this.budget) this.#add(i, img);
  }

  /** Adds, evicting the least recently used images to make room; too large an image is not kept. */
  put(i: number, img: TrainImage): void {
    if (this.#map.has(i) || img.rgb.length > this.budget) return;
    for (const [k, old] of this.#map) {
      if (this.bytes + img.rgb.length <= this.budget) break;
      this.#map.delete(k);
      this.bytes -= old.rgb.length;
    }
    this.#add(i, img);
  }

  #add(i: number, img: TrainImage) {
    this.#map.set(i, img);
    this.bytes += img.rgb.length;
  }
}
