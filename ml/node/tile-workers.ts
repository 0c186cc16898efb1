/**
 * Threads that make enlarged tiles (enlarge-tile.ts) away from the calling thread, which in the
 * app is the one answering every request: a burst of "before" tiles then delays nobody else. Each
 * thread works on a few tiles at once (so reading pixels overlaps computing them); further tiles
 * wait in a queue. Threads start on the first tile and one that dies fails only its own tiles.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EnlargeTileSpec } from './enlarge-tile.ts';

export type TileRequest = { readonly id: number; readonly spec: EnlargeTileSpec };
export type TileReply =
  | { readonly id: number; readonly ok: true; readonly png: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly message: string };

interface Waiting {
  readonly spec: EnlargeTileSpec;
  readonly resolve: (png: Buffer) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly tiles: Map<number, Waiting>;
}

/** Tiles one thread works on at once. */
const PER_THREAD = 2;

/** Threads worth starting: one per core beyond the first, at most 4. */
export const defaultTileThreads = () => Math.max(1, Math.min(4, os.availableParallelism() - 1));

export const TILE_WORKER = new URL('./tile-worker-entry.mjs', import.meta.url);

export class TileWorkers {
  readonly #url: URL;
  readonly #count: number;
  readonly #threads: Thread[] = [];
  readonly #queue: Waiting[] = [];
  #next = 1;
  #closed = false;

  constructor(opts: { url?: URL | undefined; threads?: number | undefined } = {}) {
    this.#url = opts.url ?? TILE_WORKER;
    this.#count = opts.threads ?? defaultTileThreads();
  }

  /** The tile as PNG bytes. */
  run(spec: EnlargeTileSpec): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('The viewer has closed.'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ spec, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length) {
      let t = this.#threads.find((x) => x.tiles.size < PER_THREAD);
      if (!t && this.#threads.length < this.#count) t = this.#spawn();
      if (!t) return;
      const w = this.#queue.shift()!;
      const id = this.#next++;
      t.tiles.set(id, w);
      t.worker.ref();
      t.worker.postMessage({ id, spec: w.spec } satisfies TileRequest);
    }
  }

  #spawn(): Thread {
    const t: Thread = { worker: new Worker(this.#url), tiles: new Map() };
    this.#threads.push(t);
    t.worker.on('message', (m: TileReply) => {
      const w = t.tiles.get(m.id);
      if (!w) return;
      t.tiles.delete(m.id);
      // An idle thread does not keep the process alive.
      if (!t.tiles.size) t.worker.unref();
      if (m.ok) w.resolve(Buffer.from(m.png.buffer, m.png.byteOffset, m.png.byteLength));
      else w.reject(new Error(m.message));
      this.#pump();
    });
    const fail = (why: string) => {
      const i = this.#threads.indexOf(t);
      if (i < 0) return;
      this.#threads.splice(i, 1);
      for (const w of t.tiles.values()) w.reject(new Error(why));
      t.tiles.clear();
      if (!this.#closed) this.#pump();
    };
    t.worker.on('error', (e: Error) => fail(`A tile thread failed (${e.message}); ask for the tile again.`));
    t.worker.on('exit', (code) => fail(`A tile thread stopped (exit code ${code}); ask for the tile again.`));
    return t;
  }

  /** Fails the tiles still waiting and ends the threads. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#queue.splice(0)) w.reject(new Error('The viewer has closed.'));
    const threads = this.#threads.splice(0);
    for (const t of threads) for (const w of t.tiles.values()) w.reject(new Error('The viewer has closed.'));
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
