import type { ImageData64, StudioApi, TilePyramid, TileSource } from '../api/types.ts';
import { loadImage } from '../lib/images.ts';

/**
 * What a pane shows: an image of `width` × `height` pixels as a pyramid of tiles (main/api.ts
 * `TilePyramid`: level k is ceil(width / 2^k) × ceil(height / 2^k), cut into tileSize squares).
 * Decoded tiles live in one store shared by every viewer, within a byte budget.
 */
export interface ViewSource {
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  readonly levels: number;
  /** A small picture of the whole image, drawn until tiles arrive. */
  readonly preview?: ImageData64 | undefined;
  load(level: number, col: number, row: number): Promise<ImageBitmap>;
}

async function decode(dataUrl: string): Promise<ImageBitmap> {
  return createImageBitmap(await loadImage(dataUrl));
}

let nextKey = 0;

/** A file (or a file enlarged with a named filter) served tile by tile by the host. */
export async function pyramidSource(api: StudioApi, spec: TileSource, preview?: ImageData64): Promise<ViewSource> {
  const p: TilePyramid = await api.request('image:info', spec);
  return {
    key: `${JSON.stringify(spec)}@${p.version}`,
    width: p.width,
    height: p.height,
    tileSize: p.tileSize,
    levels: p.levels,
    preview,
    load: async (level, col, row) => decode((await api.request('image:tile', { ...spec, level, col, row })).dataUrl),
  };
}

/** One small image already in the page (a data URL), as a one-tile pyramid. */
export function pictureSource(image: ImageData64): ViewSource {
  return {
    key: `picture-${nextKey++}`,
    width: image.width,
    height: image.height,
    tileSize: Math.max(image.width, image.height),
    levels: 1,
    load: () => decode(image.dataUrl),
  };
}

export interface TileWant {
  readonly source: ViewSource;
  readonly level: number;
  readonly col: number;
  readonly row: number;
  /** Lower loads first. */
  readonly priority: number;
}

const RETRY_MS = 5000;

const tileKey = (s: ViewSource, level: number, col: number, row: number) => `${s.key}/${level}/${col}/${row}`;

/**
 * Decoded tiles, least recently drawn evicted first once over budget (tiles drawn in the current
 * frame are kept, so a view never evicts what it shows), and a loader that fetches what the panes
 * want most, a few at a time, asking them afresh each time a slot frees up.
 */
export class TileStore {
  readonly #budget: number;
  readonly #tiles = new Map<string, { bitmap: ImageBitmap; used: number }>();
  readonly #loading = new Set<string>();
  /** When each failed tile last failed: it is asked for again after RETRY_MS. */
  readonly #failed = new Map<string, number>();
  readonly #clients = new Set<{ wants: () => readonly TileWant[]; loaded: () => void }>();
  readonly #concurrency: number;
  #bytes = 0;
  #frame = 0;

  constructor(budgetBytes = 192 * 1024 * 1024, concurrency = 6) {
    this.#budget = budgetBytes;
    this.#concurrency = concurrency;
  }

  /** Starts a frame: tiles got from now on count as drawn in it. */
  frame(): void {
    this.#frame++;
  }

  get(source: ViewSource, level: number, col: number, row: number): ImageBitmap | undefined {
    const t = this.#tiles.get(tileKey(source, level, col, row));
    if (t) t.used = this.#frame;
    return t?.bitmap;
  }

  has(source: ViewSource, level: number, col: number, row: number): boolean {
    return this.#tiles.has(tileKey(source, level, col, row));
  }

  /** A pane: what it is missing now, and what to do when a tile arrives. Returns the unsubscribe. */
  subscribe(client: { wants: () => readonly TileWant[]; loaded: () => void }): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  /** Starts loads while slots are free, most wanted first. */
  pump(): void {
    if (this.#loading.size >= this.#concurrency) return;
    const wants = [...this.#clients].flatMap((c) => c.wants()).sort((a, b) => a.priority - b.priority);
    for (const w of wants) {
      if (this.#loading.size >= this.#concurrency) break;
      const key = tileKey(w.source, w.level, w.col, w.row);
      if (
        this.#tiles.has(key) ||
        this.#loading.has(key) ||
        performance.now() - (this.#failed.get(key) ?? -Infinity) < RETRY_MS
      )
        continue;
      this.#loading.add(key);
      w.source.load(w.level, w.col, w.row).then(
        (bitmap) => {
          this.#loading.delete(key);
          this.#failed.delete(key);
          this.#add(key, bitmap);
          for (const c of this.#clients) c.loaded();
          this.pump();
        },
        (e: unknown) => {
          this.#loading.delete(key);
          if (!this.#failed.has(key))
            console.warn(`A tile of the viewer could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
          this.#failed.set(key, performance.now());
          setTimeout(() => this.pump(), RETRY_MS);
        },
      );
    }
  }

  #add(key: string, bitmap: ImageBitmap): void {
    this.#tiles.set(key, { bitmap, used: this.#frame });
    this.#bytes += bitmap.width * bitmap.height * 4;
    if (this.#bytes <= this.#budget) return;
    const old = [...this.#tiles].filter(([, t]) => t.used < this.#frame).sort((a, b) => a[1].used - b[1].used);
    for (const [k, t] of old) {
      if (this.#bytes <= this.#budget) break;
      this.#tiles.delete(k);
      this.#bytes -= t.bitmap.width * t.bitmap.height * 4;
      t.bitmap.close();
    }
  }
}

/** The store every viewer in the page shares. */
export const tileStore = new TileStore();
