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
 * pixels around the tile: nearest neighbour, or the engine's bicubic (ml/resize.ts, Pillow's
 * method, exactly the values a whole-image resize gives), so "before" lines up pixel for pixel
 * with a network's output; its smaller levels are the input resized by libvips. The cache folder
 * stays under a byte budget: the sources used least recently are deleted first.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { errors } from '../errors.ts';
import { bicubicInputRegion, resizeBicubicRegion, type Region } from '../resize.ts';
import { INPUT, readError } from './image-io.ts';

export const TILE_SIZE = 512;
export type EnlargeFilter = 'nearest' | 'bicubic';
export const ENLARGE_FILTERS: readonly EnlargeFilter[] = ['nearest', 'bicubic'];
/** The largest enlargement factor a source may ask for. */
export const MAX_ENLARGE = 16;

/** What to show: a file, or the file enlarged to `width` × `height` (a whole multiple of its size). */
export interface TileSource {
  readonly path: string;
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

export interface TileCacheOptions {
  /** A folder of its own: it is created, filled and, on close, removed. */
  readonly dir: string;
  readonly tileSize?: number | undefined;
  /** The cache files' budget in bytes (default 2 GiB); one source larger than that is still made. */
  readonly maxBytes?: number | undefined;
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
  bytes: number;
  used: number;
  busy: number;
}

export class TileCache {
  readonly tileSize: number;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  #made: Promise<void> | undefined;
  #next = 0;
  #clock = 0;

  constructor(o: TileCacheOptions) {
    this.#dir = o.dir;
    this.tileSize = o.tileSize ?? TILE_SIZE;
    this.#maxBytes = o.maxBytes ?? 2 * 1024 ** 3;
  }

  /** Bytes of cache files on disk now. */
  get bytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.bytes;
    return n;
  }

  async info(src: TileSource): Promise<PyramidInfo> {
    return this.#with(src, async (e) => {
      const [width, height] = this.#size(e, src);
      return { width, height, tileSize: this.tileSize, levels: levelCount(width, height, this.tileSize), version: e.version };
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
        throw errors.badArgument(`Level ${level} has tiles 0–${cols - 1} across and 0–${rows - 1} down; there is no tile (${col}, ${row}).`);
      }
      const r: Region = { x: col * T, y: row * T, width: Math.min(T, lw - col * T), height: Math.min(T, lh - row * T) };
      if (src.enlarge && level === 0) return this.#enlargedTile(e, src.enlarge, r);
      const file = await this.#level(e, src, level);
      return sharp(file, VIPS).extract({ left: r.x, top: r.y, width: r.width, height: r.height }).png(PNG).toBuffer();
    });
  }

  /** Deletes every cache file and the folder. */
  async close(): Promise<void> {
    this.#entries.clear();
    await fs.rm(this.#dir, { recursive: true, force: true });
  }

  #size(e: Entry, src: TileSource): readonly [number, number] {
    const g = src.enlarge;
    if (!g) return [e.width, e.height];
    const k = g.width / e.width;
    if (!Number.isInteger(k) || k < 1 || k > MAX_ENLARGE || g.height !== e.height * k) {
      throw errors.badArgument(
        `${JSON.stringify(e.file)} is ${e.width}×${e.height}; it can be enlarged to a whole multiple of that (up to ${MAX_ENLARGE}×), not to ${g.width}×${g.height}.`,
      );
    }
    return [g.width, g.height];
  }

  /** Runs `fn` on the source's entry (decoding the file first if needed), keeping it from eviction meanwhile. */
  async #with<T>(src: TileSource, fn: (e: Entry) => Promise<T>): Promise<T> {
    const e = await this.#entry(src.path);
    e.busy++;
    e.used = ++this.#clock;
    try {
      return await fn(e);
    } finally {
      e.busy--;
    }
  }

  async #entry(file: string): Promise<Entry> {
    let st;
    try {
      st = await fs.stat(file);
    } catch (e) {
      throw readError(e, file);
    }
    if (!st.isFile()) throw errors.unreadableImage(file, 'it is a folder, not a file');
    const version = `${st.size}-${Math.round(st.mtimeMs)}`;
    const key = `${path.resolve(file)}\0${version}`;
    const known = this.#entries.get(key);
    if (known) {
      await known.files.get('L0');
      return known;
    }
    const e: Entry = { key, dir: path.join(this.#dir, String(this.#next++)), file, version, width: 0, height: 0, channels: 0, files: new Map(), bytes: 0, used: ++this.#clock, busy: 1 };
    this.#entries.set(key, e);
    const made = (async () => {
      this.#made ??= fs.mkdir(this.#dir, { recursive: true }).then(() => undefined);
      await this.#made;
      await fs.mkdir(e.dir);
      const out = path.join(e.dir, 'L0.v');
      try {
        // Upright and in sRGB, 8 bits, as the engine reads it (readPixels).
        const info = await sharp(file, { ...INPUT, ...VIPS }).toColourspace('srgb').toFile(out);
        Object.assign(e, { width: info.width, height: info.height, channels: info.channels });
      } catch (err) {
        throw readError(err, file);
      }
      await this.#account(e, out);
      return out;
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
      const out = path.join(e.dir, `${name}.v`);
      await sharp(input, VIPS).resize(lw, lh, { fit: 'fill' }).toFile(out);
      await this.#account(e, out);
      return out;
    })();
    e.files.set(name, made);
    made.catch(() => e.files.delete(name));
    return made;
  }

  /** A tile of an enlargement's full-size level, computed from the input pixels it needs. */
  async #enlargedTile(e: Entry, g: NonNullable<TileSource['enlarge']>, r: Region): Promise<Buffer> {
    const s = g.width / e.width;
    const ch = e.channels;
    const from: Region =
      g.filter === 'nearest'
        ? { x: Math.floor(r.x / s), y: Math.floor(r.y / s), width: Math.floor((r.x + r.width - 1) / s) - Math.floor(r.x / s) + 1, height: Math.floor((r.y + r.height - 1) / s) - Math.floor(r.y / s) + 1 }
        : bicubicInputRegion(e.width, e.height, g.width, g.height, r);
    const l0 = await this.#level(e, { path: e.file }, 0);
    const input = await sharp(l0, VIPS).extract({ left: from.x, top: from.y, width: from.width, height: from.height }).raw().toBuffer();
    const out = Buffer.alloc(r.width * r.height * ch);
    if (g.filter === 'nearest') {
      const cols = Int32Array.from({ length: r.width }, (_, x) => (Math.floor((r.x + x) / s) - from.x) * ch);
      const rowBytes = r.width * ch;
      for (let y = 0; y < r.height; y++) {
        const sy = Math.floor((r.y + y) / s) - from.y;
        if (y > 0 && sy === Math.floor((r.y + y - 1) / s) - from.y) {
          out.copyWithin(y * rowBytes, (y - 1) * rowBytes, y * rowBytes);
          continue;
        }
        const src = sy * from.width * ch;
        let o = y * rowBytes;
        for (let x = 0; x < r.width; x++) for (let c = 0; c < ch; c++) out[o++] = input[src + cols[x]! + c]!;
      }
    } else {
      bicubicInto(out, input, from, e.width, e.height, ch, g.width, g.height, r);
    }
    return sharp(out, { raw: { width: r.width, height: r.height, channels: ch as 3 | 4 } }).png(PNG).toBuffer();
  }

  async #account(e: Entry, file: string): Promise<void> {
    e.bytes += (await fs.stat(file)).size;
    let total = this.bytes;
    const idle = [...this.#entries.values()].filter((x) => x !== e && x.busy === 0).sort((a, b) => a.used - b.used);
    for (const old of idle) {
      if (total <= this.#maxBytes) break;
      this.#entries.delete(old.key);
      total -= old.bytes;
      await fs.rm(old.dir, { recursive: true, force: true });
    }
  }
}

/**
 * Bicubic (ml/resize.ts) of 8-bit pixels into 8-bit pixels; with alpha, colours are resized
 * premultiplied and divided back, as resizeImage does.
 */
function bicubicInto(out: Buffer, input: Buffer, from: Region, w: number, h: number, ch: number, W: number, H: number, r: Region): void {
  const n = from.width * from.height;
  const m = r.width * r.height;
  const alpha = ch === 4;
  const rgbIn = new Float32Array(n * 3);
  const aIn = alpha ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const a = alpha ? input[i * 4 + 3]! / 255 : 1;
    if (aIn) aIn[i] = a;
    for (let c = 0; c < 3; c++) rgbIn[i * 3 + c] = (input[i * ch + c]! / 255) * (alpha ? a : 1);
  }
  const rgb = resizeBicubicRegion(rgbIn, from, w, h, 3, W, H, r);
  const a = aIn ? resizeBicubicRegion(aIn, from, w, h, 1, W, H, r) : undefined;
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < m; i++) {
    const ap = a ? Math.min(1, Math.max(0, a[i]!)) : 1;
    for (let c = 0; c < 3; c++) out[i * ch + c] = q(a ? (ap > 0 ? rgb[i * 3 + c]! / ap : 0) : rgb[i * 3 + c]!);
    if (a) out[i * 4 + 3] = q(ap);
  }
}
