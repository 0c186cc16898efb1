import { DISC_SLOPE, discLayout, type DiscLayer } from '../../ml/train/discriminator.ts';
import { conv } from './rir-f64.ts';

/**
 * The discriminator's forward pass and losses in float64, written out directly (NCHW, OIHW), and
 * central differences of any float64 function: the reference the discriminator's graphs are
 * checked against (numeric gradients, so no hand-written backward is trusted twice).
 */
type F64 = Float64Array;

/** Splits a flat parameter vector (discLayout's order) into named float64 arrays. */
export function namedF64(layers: readonly DiscLayer[], flat: ArrayLike<number>): Map<string, F64> {
  return new Map(
    discLayout(layers).map((e) => [e.name, Float64Array.from({ length: e.size }, (_, i) => flat[e.offset + i]!)]),
  );
}

/** The logits [n, 1, side/8, side/8] of `x` [n, 3, side, side] with the weights as given (already normalised). */
export function discLogitsF64(
  layers: readonly DiscLayer[],
  w: ReadonlyMap<string, F64>,
  x: ArrayLike<number>,
  n: number,
  side: number,
): F64 {
  let h = Float64Array.from(x);
  let s = side;
  for (const l of layers) {
    const a = conv(h, { n, c: l.cin, h: s, w: s }, w.get(`${l.name}.weight`)!, w.get(`${l.name}.bias`)!, l.cout);
    if (!l.pooled) return a;
    const half = s / 2;
    const pooled = new Float64Array(n * l.cout * half * half);
    for (let i = 0; i < n * l.cout; i++)
      for (let y = 0; y < half; y++)
        for (let xx = 0; xx < half; xx++) {
          let acc = 0;
          for (const [dy, dx] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ] as const) {
            const v = a[(i * s + 2 * y + dy) * s + 2 * xx + dx]!;
            acc += v > 0 ? v : DISC_SLOPE * v;
          }
          pooled[(i * half + y) * half + xx] = acc / 4;
        }
    h = pooled;
    s = half;
  }
  throw new Error('the discriminator ends with a pooled layer');
}

export const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const mean = (a: ArrayLike<number>, f: (v: number) => number) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += f(a[i]!);
  return s / a.length;
};

/** The generator's adversarial loss: mean softplus(−D(x)). */
export function advLossF64(
  layers: readonly DiscLayer[],
  w: ReadonlyMap<string, F64>,
  x: ArrayLike<number>,
  n: number,
  side: number,
): number {
  return mean(discLogitsF64(layers, w, x, n, side), (l) => softplus(-l));
}

/** The discriminator's loss: mean softplus(−D(real)) + mean softplus(D(fake)). */
export function discLossF64(
  layers: readonly DiscLayer[],
  w: ReadonlyMap<string, F64>,
  real: ArrayLike<number>,
  fake: ArrayLike<number>,
  n: number,
  side: number,
): number {
  return (
    mean(discLogitsF64(layers, w, real, n, side), (l) => softplus(-l)) +
    mean(discLogitsF64(layers, w, fake, n, side), (l) => softplus(l))
  );
}

/** Central differences of `f` at `x` for each index in `at` (all when absent), step `h`. */
export function centralDifferences(
  f: (x: F64) => number,
  x: ArrayLike<number>,
  h: number,
  at?: readonly number[],
): Map<number, number> {
  const xs = Float64Array.from(x);
  const out = new Map<number, number>();
  for (const i of at ?? xs.keys()) {
    const x0 = xs[i]!;
    xs[i] = x0 + h;
    const up = f(xs);
    xs[i] = x0 - h;
    const down = f(xs);
    xs[i] = x0;
    out.set(i, (up - down) / (2 * h));
  }
  return out;
}
