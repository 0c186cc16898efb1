/** The geometry of the Compare view's SVG charts: round tick values, the value range, and paths. */
import type { BandPoint } from './seed-bands.ts';

/** About `count` round ticks (steps of 1, 2 or 5 × 10^k) covering lo…hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && out.length < 50; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** The digits a tick label needs to tell ticks `step` apart. */
export const tickDigits = (ticks: readonly number[]): number => {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  return Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)));
};

/** The y range holding every band and the reference values, padded a little; a flat range is opened up. */
export function yExtent(series: ReadonlyArray<readonly BandPoint[]>, refs: readonly number[] = []): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s) {
      lo = Math.min(lo, p.lo);
      hi = Math.max(hi, p.hi);
    }
  }
  for (const r of refs) {
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

type Scale = (v: number) => number;
const xy = (x: number, y: number) => `${x.toFixed(1)},${y.toFixed(1)}`;

/** The mean line through the points. */
export const linePath = (points: readonly BandPoint[], sx: Scale, sy: Scale): string =>
  points.length ? `M${points.map((p) => xy(sx(p.x), sy(p.mean))).join('L')}` : '';

/** The band: along the highest values, back along the lowest. */
export const bandPath = (points: readonly BandPoint[], sx: Scale, sy: Scale): string =>
  points.length > 1
    ? `M${points.map((p) => xy(sx(p.x), sy(p.hi))).join('L')}L${[...points]
        .reverse()
        .map((p) => xy(sx(p.x), sy(p.lo)))
        .join('L')}Z`
    : '';
