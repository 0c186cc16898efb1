/**
 * Tile pyramids for the image viewer: an image file, or the file enlarged by a whole factor with a
 * named filter, as square PNG tiles at zoom levels 0 (full size), 1 (half size), … down to the
 * level that fits in one tile. Level k is ceil(W / 2^k) × ceil(H / 2^k) pixels; tile (col, row)
 * covers its pixels [col·T, col·T + T) × [row·T, row·T + T), clipped at the edges.
 *
 * Nothing is decoded whole into JavaScript memory. libvips decodes a source once, upright and in
 * sRGB, into an uncompressed cache file (its own `.v` format, memory-mapped when read), and each
 * smaller level is made from the one above when it is first asked for; a tile is cut from the
 * level's file. The full-size level of an enlargement is computed tile by tile from the input
 * pixels around the tile, in tile threads (enlarge-tile.ts, tile-workers.ts), so "before" lines up
 * pixel for pixel with a network's output; its smaller levels are the input resized by libvips.
 *
 * The cache's disk is bounded (tile-budget.ts): the sources used least recently are deleted first
 * to keep it under its budget, and a cache file that would take one source, the whole cache or the
 * disk's free space past their limits is refused before it is written. A write that fails anyway
 * (a full disk) leaves no partial file. An enlargement is at most MAX_ENLARGE times its source and
 * no larger than a result the engine writes: the viewer shows an input at its result's size.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { errors } from '../errors.ts';
import type { Region } from '../resize.ts';
import { INPUT, readError } from './image-io.ts';
import {
  CACHE_LIMITS,
  freeBytes,
  refusals,
  releaseFiles,
  vFileBytes,
  writeFailure,
  type CacheLimits,
} from './tile-budget.ts';
import { TileWorkers } from './tile-workers.ts';

export const TILE_SIZE = 512;
export type EnlargeFilter = 'nearest' | 'bicubic';
export const ENLARGE_FILTERS: readonly EnlargeFilter[] = ['nearest', 'bicubic'];
/** The largest enlargement factor a source may ask for: the largest scale of the networks (SCALES). */
export const MAX_ENLARGE = 4;
/** An enlargement's bytes at most: those of the largest result the engine writes (upscale-file's MAX_OUTPUT_BYTES). */
export const MAX_ENLARGED_BYTES = 3 * 1024 ** 3;

/** What to show: a file, or the file enlarged to `width` × `height` (a whole multiple of its size). */
export interface TileSource {
  /** The file, as messages name it. */
  readonly path: string;
  /** Where its bytes are read when not at `path`: a file the caller holds open (/proc/self/fd/N). */
  readonly read?: string | undefined;
  readonly enlarge?: { readonly width: number; readonly height: number; readonly filter: EnlargeFilter } | undefined;
}

export interface PyramidInfo {
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  /** Level 0 is full size; the last level fits in one tile. */
  readonly levels: number;
  /** Changes when the file changes (its size and modification time). */
  readonly version: string;
}

export interface TileCacheOptions extends Partial<CacheLimits> {
  /** A folder of its own: it is created, filled and, on close, removed. */
  readonly dir: string;
  readonly tileSize?: number | undefined;
  /** The tile threads' entry (tile-worker-entry.mjs; a bundled app gives its path). */
  readonly workerUrl?: URL | undefined;
  /** How many tile threads (default: one per core beyond the first, at most 4). */
  readonly threads?: number | undefined;
}

export const levelCount = (width: number, height: number, tile: number) =>
  1 + Math.max(0, Math.ceil(Math.log2(Math.max(width, height) / tile)));
export const levelSize = (width: number, height: number, level: number) =>
  [Math.ceil(width / 2 ** level), Math.ceil(height / 2 ** level)] as const;

const VIPS = { limitInputPixels: false } as const;
const PNG = { compressionLevel: 1, adaptiveFiltering: false } as const;

/** One decoded file: its levels as cache files, made on demand. */
interface Entry {
  readonly key: string;
  readonly dir: string;
  readonly file: string;
  readonly version: string;
  width: number;
  height: number;
  channels: number;
  /** Cache files by name (L0, L1, … and E<w>x<h>L<k> for enlargements), each made once. */
  readonly files: Map<string, Promise<string>>;
  /** Its cache files' bytes, with those of files being written. */
  bytes: number;
  used: number;
  busy: number;
}

export class TileCache {
  readonly tileSize: number;
  readonly #dir: string;
  readonly #limits: CacheLimits;
  readonly #entries = new Map<string, Entry>();
  readonly #workers: TileWorkers;
  #made: Promise<void> | undefined;
  /** Bytes of the cache files being written now (not yet on the disk's free space). */
  #writing = 0;
  #next = 0;
  #clock = 0;

  constructor(o: TileCacheOptions) {
    this.#dir = o.dir;
    this.tileSize = o.tileSize ?? TILE_SIZE;
    this.#limits = {
      maxBytes: o.maxBytes ?? CACHE_LIMITS.maxBytes,
      maxSourceBytes: o.maxSourceBytes ?? CACHE_LIMITS.maxSourceBytes,
      keepFreeBytes: o.keepFreeBytes ?? CACHE_LIMITS.keepFreeBytes,
    };
    this.#workers = new TileWorkers({ url: o.workerUrl, threads: o.threads });
  }

  /** Bytes of cache files on disk now (and of those being written). */
  get bytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.bytes;
    return n;
  }

  async info(src: TileSource): Promise<PyramidInfo> {
    return this.#with(src, async (e) => {
      const [width, height] = this.#size(e, src);
      return {
        width,
        height,
        tileSize: this.tileSize,
        levels: levelCount(width, height, this.tileSize),
        version: e.version,
      };
    });
  }

  /** Tile (col, row) of `level` as PNG bytes. */
  async tile(src: TileSource, level: number, col: number, row: number): Promise<Buffer> {
    return this.#with(src, async (e) => {
      const [W, H] = this.#size(e, src);
      const levels = levelCount(W, H, this.tileSize);
      if (!Number.isInteger(level) || level < 0 || level >= levels) {
        throw errors.badArgument(`level must be a whole number from 0 to ${levels - 1}, not ${level}.`);
      }
      const [lw, lh] = levelSize(W, H, level);
      const T = this.tileSize;
      const [cols, rows] = [Math.ceil(lw / T), Math.ceil(lh / T)];
      if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= cols || row >= rows) {
        throw errors.badArgument(
          `Level ${level} has tiles 0–${cols - 1} across and 0–${rows - 1} down; there is no tile (${col}, ${row}).`,
        );
      }
      const r: Region = { x: col * T, y: row * T, width: Math.min(T, lw - col * T), height: Math.min(T, lh - row * T) };
      if (src.enlarge && level === 0) {
        const input = await this.#level(e, { path: e.file }, 0);
        return this.#workers.run({
          input,
          width: e.width,
          height: e.height,
          channels: e.channels,
          to: src.enlarge,
          region: r,
        });
      }
      const file = await this.#level(e, src, level);
      return sharp(file, VIPS).extract({ left: r.x, top: r.y, width: r.width, height: r.height }).png(PNG).toBuffer();
    });
  }

  /** Deletes every cache file and the folder, and ends the tile threads. */
  async close(): Promise<void> {
    this.#entries.clear();
    await this.#workers.close();
    await fs.rm(this.#dir, { recursive: true, force: true });
    releaseFiles();
  }

  #size(e: Entry, src: TileSource): readonly [number, number] {
    const g = src.enlarge;
    if (!g) return [e.width, e.height];
    const k = g.width / e.width;
    if (!Number.isInteger(k) || k < 1 || k > MAX_ENLARGE || g.height !== e.height * k) {
      throw errors.badArgument(
        `${JSON.stringify(e.file)} is ${e.width}×${e.height}; it can be enlarged to a whole multiple of that (up to ${MAX_ENLARGE}×, as a result is), not to ${g.width}×${g.height}.`,
      );
    }
    if (g.width * g.height * e.channels > MAX_ENLARGED_BYTES) {
      const mpx = Math.floor(MAX_ENLARGED_BYTES / e.channels / 1e6);
      throw errors.badArgument(
        `Enlarged to ${g.width}×${g.height}, ${JSON.stringify(e.file)} would be larger than any result SR Studio makes (at most ${mpx} megapixels), so the viewer does not show it that large.`,
      );
    }
    return [g.width, g.height];
  }

  /** Runs `fn` on the source's entry (decoding the file first if needed), keeping it from eviction meanwhile. */
  async #with<T>(src: TileSource, fn: (e: Entry) => Promise<T>): Promise<T> {
    const e = await this.#entry(src.path, src.read ?? src.path);
    e.busy++;
    e.used = ++this.#clock;
    try {
      return await fn(e);
    } finally {
      e.busy--;
    }
  }

  /**
   * The entry of the file `read` (named `file` in messages). Entries are kept by the file itself
   * (device, inode, size and modification time), not by a name, so a name that comes to name
   * another file never finds the pyramid of the one it named before.
   */
  async #entry(file: string, read: string): Promise<Entry> {
    let st;
    try {
      st = await fs.stat(read);
    } catch (e) {
      throw readError(e, file);
    }
    if (!st.isFile()) throw errors.unreadableImage(file, 'it is a folder, not a file');
    const version = `${st.size}-${Math.round(st.mtimeMs)}`;
    const key = `${st.dev}:${st.ino}\0${version}`;
    const known = this.#entries.get(key);
    if (known) {
      await known.files.get('L0');
      return known;
    }
    const e: Entry = {
      key,
      dir: path.join(this.#dir, String(this.#next++)),
      file,
      version,
      width: 0,
      height: 0,
      channels: 0,
      files: new Map(),
      bytes: 0,
      used: ++this.#clock,
      busy: 1,
    };
    this.#entries.set(key, e);
    const made = (async () => {
      this.#made ??= fs.mkdir(this.#dir, { recursive: true }).then(() => undefined);
      await this.#made;
      await fs.mkdir(e.dir);
      // Upright and in sRGB, 8 bits, as the engine reads it (readPixels); its size from the header first.
      const input = sharp(read, { ...INPUT, ...VIPS });
      const m = await input.metadata().catch((err: unknown) => {
        throw readError(err, file);
      });
      const expected = vFileBytes(m.autoOrient.width, m.autoOrient.height, m.hasAlpha ? 4 : 3);
      return this.#write(e, 'L0', expected, async (out) => {
        const info = await input.toColourspace('srgb').toFile(out);
        Object.assign(e, { width: info.width, height: info.height, channels: info.channels });
      });
    })();
    e.files.set('L0', made);
    try {
      await made;
    } catch (err) {
      this.#entries.delete(key);
      await fs.rm(e.dir, { recursive: true, force: true });
      throw err;
    } finally {
      e.busy--;
    }
    return e;
  }

  /** The cache file of a level (never level 0 of an enlargement, which is made tile by tile). */
  #level(e: Entry, src: TileSource, level: number): Promise<string> {
    const g = src.enlarge;
    const [W, H] = this.#size(e, src);
    const [lw, lh] = levelSize(W, H, level);
    // A level of the file itself, or a level of an enlargement that is exactly one of the file's.
    let own = -1;
    for (let k = 0; k < levelCount(e.width, e.height, this.tileSize); k++) {
      const [w, h] = levelSize(e.width, e.height, k);
      if (w === lw && h === lh && (g || k === level)) own = k;
    }
    const name = own >= 0 ? `L${own}` : `E${W}x${H}L${level}`;
    const known = e.files.get(name);
    if (known) return known;
    const made = (async () => {
      // From the smallest level of the file that is still at least this large.
      let from = 0;
      if (own > 0) from = own - 1;
      else {
        for (let k = 1; k < levelCount(e.width, e.height, this.tileSize); k++) {
          const [w, h] = levelSize(e.width, e.height, k);
          if (w >= lw && h >= lh) from = k;
        }
      }
      const input = await this.#level(e, { path: e.file }, from);
      return this.#write(e, name, vFileBytes(lw, lh, e.channels), (out) =>
        sharp(input, VIPS).resize(lw, lh, { fit: 'fill' }).toFile(out),
      );
    })();
    e.files.set(name, made);
    made.catch(() => e.files.delete(name));
    return made;
  }

  /**
   * Writes cache file `name` of `e`, `expected` bytes at most: checked against the limits and held
   * before it is written (room made by deleting the sources used least recently), written under a
   * temp name and renamed, so a failed write leaves nothing behind and nothing half-written is read.
   */
  async #write(e: Entry, name: string, expected: number, make: (out: string) => Promise<unknown>): Promise<string> {
    const { maxBytes, maxSourceBytes, keepFreeBytes } = this.#limits;
    if (e.bytes + expected > maxSourceBytes) throw refusals.sourceTooLarge(e.file, e.bytes + expected, maxSourceBytes);
    // Checked and held in one step, so writes that start together cannot all pass.
    const evicted = this.#evict(e, maxBytes - expected);
    const cap = Math.max(maxBytes, maxSourceBytes);
    const held = this.bytes;
    if (held + expected > cap) {
      await evicted;
      throw refusals.cacheFull(e.file, held, cap);
    }
    e.bytes += expected;
    this.#writing += expected;
    const tmp = path.join(e.dir, `${name}.part.v`);
    const out = path.join(e.dir, `${name}.v`);
    try {
      await evicted;
      const free = await freeBytes(e.dir);
      // Other writes under way take their bytes from what is free now.
      const left = free - (this.#writing - expected);
      if (left - expected < keepFreeBytes)
        throw refusals.lowDisk(e.file, this.#dir, expected, Math.max(0, left), keepFreeBytes);
      await make(tmp);
      await fs.rename(tmp, out);
    } catch (err) {
      e.bytes -= expected;
      await fs.rm(tmp, { force: true });
      throw writeFailure(err, e.file, this.#dir) ?? (name === 'L0' ? readError(err, e.file) : err);
    } finally {
      this.#writing -= expected;
    }
    e.bytes += (await fs.stat(out)).size - expected;
    return out;
  }

  /** Deletes the sources used least recently (not `keep`, nor one in use) until the cache holds at most `target` bytes. */
  async #evict(keep: Entry, target: number): Promise<void> {
    let total = this.bytes;
    const idle = [...this.#entries.values()].filter((x) => x !== keep && x.busy === 0).sort((a, b) => a.used - b.used);
    const gone: Entry[] = [];
    for (const old of idle) {
      if (total <= target) break;
      this.#entries.delete(old.key);
      total -= old.bytes;
      gone.push(old);
    }
    await Promise.all(gone.map((old) => fs.rm(old.dir, { recursive: true, force: true })));
    if (gone.length) releaseFiles();
  }
}
