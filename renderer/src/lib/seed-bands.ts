/**
 * A comparison's curves as the Compare view draws them: per activation, the mean over seeds with a
 * band from the lowest to the highest seed, and the paired difference B − A (seed by seed) with its
 * band. Points are first averaged within buckets of iterations, so a long run draws a few hundred
 * points and the per-step noise of the loss does not hide the trend.
 */

/** One run's points: its activation and seed, iterations and values. */
export interface SeedRun {
  readonly act: string;
  readonly seed: number;
  readonly x: readonly number[];
  readonly y: readonly number[];
}

export interface BandPoint {
  readonly x: number;
  readonly mean: number;
  /** The lowest and highest seed's value (equal to the mean with one seed). */
  readonly lo: number;
  readonly hi: number;
  /** How many seeds gave this point. */
  readonly n: number;
}

/** The iterations averaged into one point, for about `points` points over `span` iterations. */
export const bucketWidth = (span: number, points: number): number => Math.max(1, Math.ceil(span / Math.max(1, points)));

interface Bucket {
  x: number;
  y: number;
}

/** A run's points averaged per bucket (iterations 1…w are bucket 0), by bucket. */
function buckets(run: SeedRun, width: number): Map<number, Bucket> {
  const sums = new Map<number, { x: number; y: number; c: number }>();
  const n = Math.min(run.x.length, run.y.length);
  for (let i = 0; i < n; i++) {
    const k = Math.floor((Math.max(1, run.x[i]!) - 1) / width);
    const s = sums.get(k) ?? { x: 0, y: 0, c: 0 };
    s.x += run.x[i]!;
    s.y += run.y[i]!;
    s.c++;
    sums.set(k, s);
  }
  return new Map([...sums].map(([k, s]) => [k, { x: s.x / s.c, y: s.y / s.c }]));
}

/** Mean, lowest and highest of each bucket's values across seeds, in order of iterations. */
function across(perSeed: ReadonlyArray<Map<number, Bucket>>): BandPoint[] {
  const keys = [...new Set(perSeed.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return keys.map((k) => {
    const got = perSeed.map((m) => m.get(k)).filter((b): b is Bucket => b !== undefined);
    const ys = got.map((b) => b.y);
    return {
      x: got.reduce((s, b) => s + b.x, 0) / got.length,
      mean: ys.reduce((s, y) => s + y, 0) / ys.length,
      lo: Math.min(...ys),
      hi: Math.max(...ys),
      n: got.length,
    };
  });
}

/** One activation's mean curve over its seeds, with the band between the lowest and highest seed. */
export function meanBand(runs: readonly SeedRun[], act: string, width: number): BandPoint[] {
  return across(runs.filter((r) => r.act === act).map((r) => buckets(r, width)));
}

/** B − A, seed by seed at the same iterations, then its mean and band across the seeds run by both. */
export function differenceBand(runs: readonly SeedRun[], a: string, b: string, width: number): BandPoint[] {
  const perSeed: Array<Map<number, Bucket>> = [];
  for (const ra of runs.filter((r) => r.act === a)) {
    const rb = runs.find((r) => r.act === b && r.seed === ra.seed);
    if (!rb) continue;
    const [ba, bb] = [buckets(ra, width), buckets(rb, width)];
    const d = new Map<number, Bucket>();
    for (const [k, pa] of ba) {
      const pb = bb.get(k);
      if (pb) d.set(k, { x: (pa.x + pb.x) / 2, y: pb.y - pa.y });
    }
    perSeed.push(d);
  }
  return across(perSeed);
}
