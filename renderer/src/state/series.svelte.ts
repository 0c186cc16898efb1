import uPlot from 'uplot';

/**
 * Chart data for one or more runs sharing an x axis (iterations). Points are appended to plain
 * arrays (thousands of them, many per second); `version` is the one reactive signal charts watch.
 */
export class RunSeries {
  #runs = new Map<string, { x: number[]; y: number[] }>();
  #version = $state(0);
  #names = $state.raw<string[]>([]);

  get version(): number {
    return this.#version;
  }

  /** Run names in the order they first appeared. */
  get names(): readonly string[] {
    return this.#names;
  }

  add(run: string, x: number, y: number): void {
    if (!Number.isFinite(y)) return;
    let r = this.#runs.get(run);
    if (!r) {
      this.#runs.set(run, (r = { x: [], y: [] }));
      this.#names = [...this.#names, run];
    }
    const last = r.x.length - 1;
    if (last >= 0 && r.x[last] === x) r.y[last] = y;
    // A point at or before the last one is one seen already (an event replayed after a reload).
    else if (last >= 0 && x < r.x[last]!) return;
    else {
      r.x.push(x);
      r.y.push(y);
    }
    this.#version++;
  }

  /**
   * Points from before those here (a run's record, read while its new points may already arrive):
   * each one earlier than the first point here goes in front, in order; the others are known.
   */
  history(run: string, points: ReadonlyArray<readonly [number, number]>): void {
    let r = this.#runs.get(run);
    if (!r) {
      this.#runs.set(run, (r = { x: [], y: [] }));
      this.#names = [...this.#names, run];
    }
    const first = r.x[0] ?? Infinity;
    const earlier = points.filter(([x, y]) => x < first && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    const unique = earlier.filter((p, i) => i === earlier.length - 1 || earlier[i + 1]![0] !== p[0]);
    if (!unique.length) return;
    r.x.unshift(...unique.map((p) => p[0]));
    r.y.unshift(...unique.map((p) => p[1]));
    this.#version++;
  }

  clear(): void {
    this.#runs.clear();
    this.#names = [];
    this.#version++;
  }

  last(run: string): number | undefined {
    const r = this.#runs.get(run);
    return r ? r.y[r.y.length - 1] : undefined;
  }

  /** The run's highest value so far. */
  max(run: string): number | undefined {
    const r = this.#runs.get(run);
    return r?.y.length ? Math.max(...r.y) : undefined;
  }

  /** uPlot's aligned table: one x column, one y column per run (gaps as null). */
  aligned(names: readonly string[] = this.#names): uPlot.AlignedData {
    void this.#version; // reading it makes callers re-run when points arrive
    const tables = names.map((n) => {
      const r = this.#runs.get(n) ?? { x: [], y: [] };
      return [r.x.slice(), r.y.slice()] as uPlot.AlignedData;
    });
    if (tables.length === 0) return [[]];
    if (tables.length === 1) return tables[0]!;
    return uPlot.join(tables);
  }
}
