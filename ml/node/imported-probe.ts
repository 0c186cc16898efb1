import { Rng } from '../random.ts';

/**
 * What an imported model does, found by running it on small tiles: its scale, the range of values
 * it takes (0–1 or 0–255) and how much context around a tile it needs for the tile's centre to
 * come out as it does inside a larger image. A refusal is a `ProbeRefusal` whose reason the caller
 * puts in its sentence.
 */
export class ProbeRefusal extends Error {}

/** RGB in [0, 1] (interleaved) in; the model's output, back in [0, 1] (interleaved) out. */
export type Infer = (
  rgb: Float32Array,
  width: number,
  height: number,
  range: InputRange,
) => Promise<{ rgb: Float32Array; width: number; height: number }>;

export type InputRange = 1 | 255;

/** Output pixels a probe's kept centre must match within (one 8-bit step). */
export const AGREE = 1 / 255;
/** The centre of a tile whose agreement the margin probe checks, in input pixels. */
const CENTRE = 8;
/** The margins tried, smallest first; context beyond the largest counts as the whole image. */
export const MARGINS = [2, 4, 6, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64] as const;

export function noise(width: number, height: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = rng.nextUint32() / 2 ** 32;
  return out;
}

/** The integer scale: output size over input size, the same both ways. */
export async function probeScale(infer: Infer, side: { width: number; height: number }): Promise<number> {
  const y = await infer(noise(side.width, side.height), side.width, side.height, 1);
  const sx = y.width / side.width;
  const sy = y.height / side.height;
  if (sx !== sy)
    throw new ProbeRefusal(
      `it makes a ${side.width}×${side.height} tile ${y.width}×${y.height}, not the same scale both ways`,
    );
  if (!Number.isInteger(sx) || sx < 1 || sx > 16) {
    throw new ProbeRefusal(
      `it makes a ${side.width}×${side.height} tile ${y.width}×${y.height}, which is not a whole scale from 1 to 16`,
    );
  }
  return sx;
}

/**
 * The smallest multiple (1, 2, 4 or 8; else 16, which the scale probe's tile was) the input's sides
 * must be: models that fold 2×2 pixels into channels first (pixel unshuffle) take even sides only.
 */
export async function probeMultiple(infer: Infer, scale: number): Promise<number> {
  for (const m of [1, 2, 4, 8]) {
    // 17, 18, 20, 24: a multiple of m and of no larger power of two.
    const side = 16 + m;
    const fits = await infer(noise(side, side), side, side, 1).then(
      (y) => y.width === side * scale && y.height === side * scale,
      () => false,
    );
    if (fits) return m;
  }
  return 16;
}

const meanOfCentre = (rgb: Float32Array, width: number, height: number): number => {
  let sum = 0;
  let n = 0;
  for (let y = Math.floor(height / 4); y < Math.ceil((3 * height) / 4); y++) {
    for (let x = Math.floor(width / 4); x < Math.ceil((3 * width) / 4); x++) {
      for (let c = 0; c < 3; c++) sum += rgb[(y * width + x) * 3 + c]!;
      n += 3;
    }
  }
  return sum / n;
};

/**
 * The input range: a mid-grey tile is given at both scalings; an SR model returns about the same
 * grey in the range it was made for. `sure` is false when neither fits clearly better (a model made
 * for 0–1 often keeps a flat grey in either range, as does a plain resize): then 0–1 is only a guess,
 * and the range is for the user to choose.
 */
export async function probeRange(
  infer: Infer,
  side: { width: number; height: number },
): Promise<{ range: InputRange; sure: boolean }> {
  const grey = new Float32Array(side.width * side.height * 3).fill(0.5);
  const miss = async (range: InputRange) => {
    const y = await infer(grey, side.width, side.height, range);
    const m = meanOfCentre(y.rgb, y.width, y.height);
    return Number.isFinite(m) ? Math.abs(m - 0.5) : Infinity;
  };
  const one = await miss(1);
  const byte = await miss(255);
  if (byte * 4 < one && one > 2 * AGREE) return { range: 255, sure: true };
  return { range: 1, sure: one * 4 < byte && byte > 2 * AGREE };
}

/** Centre tile of `src` (size w×h) around its middle with `m` pixels of context each side. */
function window(
  src: Float32Array,
  w: number,
  h: number,
  m: number,
): { rgb: Float32Array; x0: number; y0: number; side: number } {
  const side = CENTRE + 2 * m;
  const x0 = Math.floor((w - CENTRE) / 2) - m;
  const y0 = Math.floor((h - CENTRE) / 2) - m;
  const rgb = new Float32Array(side * side * 3);
  for (let r = 0; r < side; r++)
    rgb.set(src.subarray(((y0 + r) * w + x0) * 3, ((y0 + r) * w + x0 + side) * 3), r * side * 3);
  return { rgb, x0, y0, side };
}

/** Largest difference between the output centre of a window and of the whole probe image. */
function centreDiff(
  whole: { rgb: Float32Array; width: number },
  part: { rgb: Float32Array; width: number },
  at: { x: number; y: number },
  m: number,
  s: number,
): number {
  let worst = 0;
  for (let r = 0; r < CENTRE * s; r++) {
    for (let c = 0; c < CENTRE * s * 3; c++) {
      const a = whole.rgb[((at.y + m) * s + r) * whole.width * 3 + (at.x + m) * s * 3 + c]!;
      const b = part.rgb[(m * s + r) * part.width * 3 + m * s * 3 + c]!;
      const d = Math.abs(a - b);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
  }
  return worst;
}

/**
 * The smallest margin at which a tile's centre comes out as it does with all the context the probe
 * image has (within one 8-bit step). `most` bounds it (a fixed input size leaves room for only so
 * much); `found` is false when even the largest margin tried disagrees.
 */
export async function probeMargin(
  infer: Infer,
  scale: number,
  range: InputRange,
  most: number = MARGINS[MARGINS.length - 1]!,
): Promise<{ margin: number; found: boolean }> {
  const tried = MARGINS.filter((m) => m <= most);
  if (!tried.length) return { margin: 0, found: false };
  const side = CENTRE + 2 * tried[tried.length - 1]!;
  const src = noise(side, side);
  const whole = await infer(src, side, side, range);
  for (const m of tried) {
    const w = window(src, side, side, m);
    const part = await infer(w.rgb, w.side, w.side, range);
    if (centreDiff(whole, part, { x: w.x0, y: w.y0 }, m, scale) <= AGREE) return { margin: m, found: true };
  }
  return { margin: tried[tried.length - 1]!, found: false };
}
