/**
 * Time left for a whole comparison, whose runs go one after another: what the current run has
 * left (its trainer's estimate), plus the runs still to come, each as long as the finished runs
 * took on average (validation and saving included), or until one has finished, as long as the
 * current run's elapsed time plus its estimate.
 */
export class CompareClock {
  readonly #total: number;
  readonly #now: () => number;
  readonly #finished: number[] = [];
  #runStart: number | null = null;

  /** `total`: the number of runs (activations × seeds). */
  constructor(total: number, now: () => number = Date.now) {
    this.#total = total;
    this.#now = now;
  }

  started(): void {
    this.#runStart = this.#now();
  }

  finished(): void {
    if (this.#runStart !== null) this.#finished.push(this.#now() - this.#runStart);
    this.#runStart = null;
  }

  /** Milliseconds left for the whole comparison, while run `index` (0-based) has `runLeftMs` left. */
  etaMs(index: number, runLeftMs: number): number {
    const left = Math.max(0, runLeftMs);
    const elapsed = this.#runStart === null ? 0 : this.#now() - this.#runStart;
    const done = this.#finished;
    const perRun = done.length ? done.reduce((a, b) => a + b, 0) / done.length : elapsed + left;
    return Math.round(left + Math.max(0, this.#total - index - 1) * perRun);
  }
}
