import type { SeedRun } from '../lib/seed-bands.ts';

/**
 * A comparison's points, one run per activation and seed. Points are appended to plain arrays
 * (many per second); `version` is the one reactive signal the charts watch.
 */
export class SeedSeries {
  #runs = new Map<string, { act: string; seed: number; x: number[]; y: number[] }>();
  #version = $state(0);

  get version(): number {
    return this.#version;
  }

  add(act: string, seed: number, x: number, y: number): void {
    if (!Number.isFinite(y)) return;
    const key = `${seed} ${act}`;
    let r = this.#runs.get(key);
    if (!r) this.#runs.set(key, (r = { act, seed, x: [], y: [] }));
    const last = r.x.length - 1;
    if (last >= 0 && r.x[last] === x) r.y[last] = y;
    // A point before the last one is one seen already (an event replayed after a reload).
    else if (last >= 0 && x < r.x[last]!) return;
    else {
      r.x.push(x);
      r.y.push(y);
    }
    this.#version++;
  }

  clear(): void {
    this.#runs.clear();
    this.#version++;
  }

  /** Every run, in the order it first appeared (reading it makes callers re-run when points arrive). */
  runs(): SeedRun[] {
    void this.#version;
    return [...this.#runs.values()].map((r) => ({ act: r.act, seed: r.seed, x: r.x, y: r.y }));
  }
}
