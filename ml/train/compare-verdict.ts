/**
 * The comparison's answer in words: which activation is ahead in validation PSNR, whether the gap
 * is beyond seed noise (a paired t-test over seeds), and whether it is large enough to see. The
 * same words for report.md and the app.
 */
import type { Stat } from './compare.ts';

/**
 * The smallest PSNR gap a person could see between two photos. Side by side, outputs a few
 * hundredths of a dB apart cannot be told apart, and super-resolution work treats gains under
 * about 0.1 dB as no improvement.
 */
export const VISIBLE_PSNR_DB = 0.1;
export const VISIBLE_NOTE = `Differences under ${VISIBLE_PSNR_DB} dB in PSNR are not visible in photos.`;

/** Two-sided 95% critical values of Student's t for 1–30 degrees of freedom (beyond: the normal's 1.96). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The |t| a paired gap over `n` seeds must pass to count as beyond seed noise (5% two-sided). */
export const tNeeded = (n: number): number => (n < 2 ? Infinity : (T95[n - 2] ?? 1.96));

/** beyond: larger than the spread between seeds; within: it may be noise; unknown: one seed cannot tell. */
export type SeedNoise = 'beyond' | 'within' | 'unknown';

export interface PairedGap {
  readonly a: string;
  readonly b: string;
  /** B − A in validation PSNR-Y (dB), one difference per seed. */
  readonly psnrY: Stat;
}

export interface Verdict {
  /** The activation ahead; null when the two are level. */
  readonly leader: string | null;
  /** How far ahead, in dB (never negative). */
  readonly gapDb: number;
  /** |t| of the paired differences; null with one seed, Infinity when every seed gave the same gap. */
  readonly t: number | null;
  readonly noise: SeedNoise;
  /** The gap is at least VISIBLE_PSNR_DB. */
  readonly visible: boolean;
  /** The answer in a few words: "For photos, the two are equal." */
  readonly conclusion: string;
  /** The whole answer, with its figures. */
  readonly text: string;
}

const dB = (x: number) => `${x < 0.01 ? x.toFixed(3) : x.toFixed(2)} dB`;
const upper = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function compareVerdict(p: PairedGap, name: (act: string) => string = (a) => a): Verdict {
  const { mean, sd, n } = p.psnrY;
  const gapDb = Math.abs(mean);
  const level = gapDb < 0.0005;
  const leader = level ? null : name(mean > 0 ? p.b : p.a);
  // An sd of rounding error (the same gap in every seed) counts as none.
  const t = n < 2 ? null : sd > 1e-9 ? gapDb / (sd / Math.sqrt(n)) : level ? 0 : Infinity;
  const noise: SeedNoise = t === null ? 'unknown' : t > tNeeded(n) ? 'beyond' : 'within';
  const visible = gapDb >= VISIBLE_PSNR_DB;
  const equal = 'for photos, the two are equal.';
  const conclusion = upper(
    !visible
      ? equal
      : noise === 'beyond'
        ? `${leader} is better.`
        : noise === 'within'
          ? 'it may be seed noise: run more seeds to know.'
          : 'one seed cannot tell: run 3 seeds or more.',
  );
  const lead = level
    ? `${name(p.a)} and ${name(p.b)} score the same in validation PSNR`
    : `${leader} is ahead by ${dB(gapDb)} in validation PSNR`;
  const see = `${gapDb < VISIBLE_PSNR_DB / 2 ? 'far ' : ''}below the ${VISIBLE_PSNR_DB} dB a person could see`;
  const above = `above the ${VISIBLE_PSNR_DB} dB a person could see`;
  const tText =
    t === Infinity ? `the same gap in each of ${n} seeds` : `paired t = ${(t ?? 0).toFixed(1)} over ${n} seeds`;
  let text: string;
  if (level) {
    text = `${lead} (less than 0.001 dB apart${n > 1 ? ` over ${n} seeds` : ' over one seed'}), far below the ${VISIBLE_PSNR_DB} dB a person could see: ${equal}`;
  } else if (noise === 'unknown') {
    text = visible
      ? `${lead} over one seed, ${above}; but one seed cannot tell a real gap from seed noise: run 3 seeds or more to know.`
      : `${lead} over one seed, ${see}: ${equal} One seed cannot tell a real gap from seed noise; run 3 seeds or more to know whether there is one.`;
  } else if (noise === 'beyond') {
    text = visible
      ? `${lead}; the gap is larger than the spread between seeds (${tText}) and ${above}: ${leader} is better.`
      : `${lead}; the gap is larger than the spread between seeds (${tText}), but ${see}: ${equal}`;
  } else {
    const need = `${tText}, under the ${tNeeded(n).toFixed(1)} that ${n} seeds need`;
    text = visible
      ? `${lead}, ${above}; but the gap is within the spread between seeds (${need}), so it may be noise: run more seeds to know.`
      : `${lead}; the gap is within the spread between seeds (${need}) and ${see}: ${equal}`;
  }
  return { leader, gapDb, t, noise, visible, conclusion, text };
}
