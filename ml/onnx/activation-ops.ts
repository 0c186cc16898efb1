import type { ActivationName } from '../activations.ts';
import type { Dims, GraphBuilder } from './graph.ts';

/**
 * Each activation as standard ONNX ops, forward and backward. The forward pass returns its output
 * and the values the backward pass reuses (so nothing is computed twice); the backward pass turns
 * the output's gradient into the input's.
 *
 * TanhExp, x·tanh(eˣ): tanh(eˣ) is exactly 1 in float32 from x ≈ 2.3 on, and where eˣ overflows
 * (x > 88.7) tanh(+∞) is 1, so the value is x there: the identity for x > 20 needs no op of its own.
 * Its slope tanh(u) + x·u·sech²(u) (u = eˣ) is computed with u capped (a cap that only acts where
 * sech²(u) is already 0 in float32), so it is exactly 1 for x > 20 and never ∞·0.
 */
export interface ActivationForward {
  readonly y: string;
  /** Values of the forward pass the backward pass takes (besides the input). */
  readonly saved: readonly string[];
}

export function activationForward(g: GraphBuilder, act: ActivationName, x: string, dims: Dims): ActivationForward {
  switch (act) {
    case 'relu': {
      const y = g.add('Relu', [x], dims);
      return { y, saved: [y] };
    }
    case 'swish': {
      const s = g.add('Sigmoid', [x], dims);
      return { y: g.add('Mul', [x, s], dims, [], 'swish'), saved: [s] };
    }
    case 'mish': {
      const t = g.add('Tanh', [g.add('Softplus', [x], dims)], dims);
      return { y: g.add('Mul', [x, t], dims, [], 'mish'), saved: [t] };
    }
    case 'tanhexp': {
      const u = g.add('Exp', [x], dims);
      const t = g.add('Tanh', [u], dims);
      return { y: g.add('Mul', [x, t], dims, [], 'tanhexp'), saved: [u, t] };
    }
  }
}

/** The cap on eˣ in TanhExp's slope: sech²(u) is 0 in float32 well before it. */
const U_CAP = 1e4;

export function activationBackward(
  g: GraphBuilder,
  act: ActivationName,
  x: string,
  saved: readonly string[],
  gy: string,
  dims: Dims,
): string {
  const one = g.scalar(1);
  switch (act) {
    case 'relu': {
      // The slope is 1 where the output is positive, else 0 (at 0 too, as tfjs has it).
      const [y] = saved as [string];
      return g.add('Mul', [gy, g.add('Sign', [y], dims)], dims);
    }
    case 'swish': {
      // σ·(1 + x·(1 − σ))
      const [s] = saved as [string];
      const inner = g.add('Add', [one, g.add('Mul', [x, g.add('Sub', [one, s], dims)], dims)], dims);
      return g.add('Mul', [gy, g.add('Mul', [s, inner], dims)], dims);
    }
    case 'mish': {
      // t + x·sech²(softplus x)·σ(x), t = tanh(softplus x)
      const [t] = saved as [string];
      const sech2 = g.add('Sub', [one, g.add('Mul', [t, t], dims)], dims);
      const slope = g.add(
        'Add',
        [t, g.add('Mul', [g.add('Mul', [x, sech2], dims), g.add('Sigmoid', [x], dims)], dims)],
        dims,
      );
      return g.add('Mul', [gy, slope], dims);
    }
    case 'tanhexp': {
      // t + x·u·sech²(u)
      const [u, t] = saved as [string, string];
      const sech2 = g.add('Sub', [one, g.add('Mul', [t, t], dims)], dims);
      // u·sech²(u) first: it is 0 wherever t rounds to 1, so x·(…) stays finite for any finite x.
      const us = g.add('Mul', [g.add('Min', [u, g.scalar(U_CAP)], dims), sech2], dims);
      const slope = g.add('Add', [t, g.add('Mul', [x, us], dims)], dims);
      return g.add('Mul', [gy, slope], dims);
    }
  }
}
