import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATIONS,
  ACTIVATIONS_F64,
  ACTIVATION_NAMES,
  TANHEXP_THRESHOLD,
  type ActivationName,
} from '../../ml/activations.ts';
import type { ConcreteBackend } from '../../ml/node/backends.ts';
import { availableBackends, useBackend } from '../helpers/backends.ts';

/**
 * Every activation, on every backend this machine has: value and tf.grad against the float64
 * references, tf.grad against a central difference of the tfjs forward itself, TanhExp at extreme
 * inputs, and no leaked tensors.
 */

// 241 points evenly spaced in [-30, 30], plus points near 0 and either side of ±20 (TanhExp's switch).
const GRID = Array.from({ length: 241 }, (_, i) => -30 + i * 0.25);
const SPECIAL = [1e-6, -1e-6, 1e-3, -1e-3, 0.1, -0.1, 19.999, 20, 20.001, 20.5, -19.999, -20, -20.001, -20.5];
// The tensors hold float32, so the references are evaluated at the float32 inputs the backend sees.
const POINTS = [...GRID, ...SPECIAL].map(Math.fround);

interface Tolerance {
  /** Relative error allowed where |reference| > 1e-6. */
  readonly rel: number;
  /** Absolute error allowed where |reference| ≤ 1e-6. */
  readonly abs: number;
  /** An absolute error allowed everywhere (0 in the spec). */
  readonly floor: number;
}

/** The spec for TanhExp, and the starting point for every activation on every backend. */
const SPEC: Tolerance = { rel: 1e-5, abs: 1e-6, floor: 0 };

function tolerance(backend: ConcreteBackend, name: ActivationName, of: 'value' | 'gradient'): Tolerance {
  // tfjs-webgpu computes softplus as log(eˣ + 1) and tanh(a) as sign(a)·(1 − e^(−2|a|))/(1 + e^(−2|a|))
  // in float32. For x ≲ −5, softplus(x) ≈ eˣ is small, so eˣ + 1 loses all but a few bits of eˣ and
  // 1 − e^(−2a) cancels: mish(x) = x·tanh(softplus(x)) ≈ x·eˣ keeps an absolute error of about
  // |x|·2⁻²³ once eˣ ≲ 2⁻²³, i.e. at most ~2e-6 (near x = −16), while its relative error there reaches
  // tens of percent (x = −16.5: 31%). Measured max absolute error on [−30, 30]: 1.2e-6 (x = −13.8).
  // Its gradient, t + x·(1 − t²)·σ(x) with t = tanh(softplus(x)) ≈ eˣ, inherits t's relative error:
  // absolute about eˣ·(that error) ≤ ~1.2e-7 (measured: relative 2% but 2e-8 absolute at x = −16.5).
  // So on webgpu mish is held to 1e-5 relative OR an absolute floor (2e-6 for the value, 2e-7 for the
  // gradient), whichever is larger: negligible next to the O(1) activations of a network. Everything
  // else, on every backend, meets the 1e-5 / 1e-6 spec.
  if (backend === 'webgpu' && name === 'mish') return { ...SPEC, floor: of === 'value' ? 2e-6 : 2e-7 };
  return SPEC;
}

/** Relative error where |want| > 1e-6, absolute below, never failing under the floor. */
function withinTolerance(got: number, want: number, tol: Tolerance): boolean {
  const err = Math.abs(got - want);
  return err <= tol.floor || err <= (Math.abs(want) > 1e-6 ? tol.rel * Math.abs(want) : tol.abs);
}

/** Runs `fn` and checks that it leaves tf.memory().numTensors where it was. */
async function noLeak(what: string, fn: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  assert.equal(tf.memory().numTensors, before, `${what} leaked ${tf.memory().numTensors - before} tensor(s)`);
}

async function valueAndGrad(
  name: ActivationName,
  xs: readonly number[],
): Promise<{ y: Float32Array; g: Float32Array }> {
  const x = tf.tensor1d(xs as number[]);
  const yt = ACTIVATIONS[name](x);
  const gt = tf.grad(ACTIVATIONS[name])(x);
  const y = (await yt.data()) as Float32Array;
  const g = (await gt.data()) as Float32Array;
  tf.dispose([x, yt, gt]);
  return { y, g };
}

async function forward(name: ActivationName, xs: readonly number[]): Promise<Float32Array> {
  const x = tf.tensor1d(xs as number[]);
  const y = ACTIVATIONS[name](x);
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return out;
}

const backends = await availableBackends('upscale');

test('the run covers cpu and wasm', (t) => {
  t.diagnostic(`backends covered: ${backends.join(', ')}`);
  assert.ok(backends.includes('cpu') && backends.includes('wasm'), `backends: ${backends.join(', ')}`);
});

for (const backend of backends) {
  describe(`activations on ${backend}`, () => {
    before(async () => {
      await useBackend(backend);
    });

    for (const name of ACTIVATION_NAMES) {
      test(`${name}: value and gradient match the float64 reference`, async () => {
        const tolValue = tolerance(backend, name, 'value');
        const tolGrad = tolerance(backend, name, 'gradient');
        await noLeak(name, async () => {
          const { y, g } = await valueAndGrad(name, POINTS);
          const ref = ACTIVATIONS_F64[name];
          const bad: string[] = [];
          POINTS.forEach((x, i) => {
            if (!withinTolerance(y[i]!, ref.f(x), tolValue)) bad.push(`f(${x}) = ${y[i]}, reference ${ref.f(x)}`);
            if (name === 'relu' && x === 0) return; // no derivative at the kink
            if (!withinTolerance(g[i]!, ref.df(x), tolGrad)) bad.push(`f'(${x}) = ${g[i]}, reference ${ref.df(x)}`);
          });
          assert.deepEqual(bad, [], `${name} on ${backend}:\n${bad.slice(0, 10).join('\n')}`);
        });
      });

      test(`${name}: gradient matches a central difference of its own float32 forward`, async () => {
        const h = 1e-2;
        // Away from the kinks (relu at 0; TanhExp's switch at 20 is smooth in value but stay clear).
        const xs = GRID.filter((x) => Math.abs(x) > 3 * h && Math.abs(x - TANHEXP_THRESHOLD) > 3 * h).map(Math.fround);
        await noLeak(name, async () => {
          const plus = xs.map((x) => Math.fround(x + h));
          const minus = xs.map((x) => Math.fround(x - h));
          const [fp, fm, { g }] = await Promise.all([
            forward(name, plus),
            forward(name, minus),
            valueAndGrad(name, xs),
          ]);
          const bad: string[] = [];
          xs.forEach((x, i) => {
            const numeric = (fp[i]! - fm[i]!) / (plus[i]! - minus[i]!);
            // Truncation (h²/6·f‴) and float32 rounding of f (|f|·2⁻²⁴/h) both stay well under 1e-3.
            if (Math.abs(g[i]! - numeric) > 1e-3 * Math.max(1, Math.abs(numeric)))
              bad.push(`at ${x}: tf.grad ${g[i]}, central difference ${numeric}`);
          });
          assert.deepEqual(bad, [], `${name} on ${backend}:\n${bad.slice(0, 10).join('\n')}`);
        });
      });
    }

    test('tanhexp is finite, exact and correct at extreme inputs', async () => {
      const xs = [1e4, -1e4, 100, -100, 89, -89, 20.5, -20.5, 20, -20, 0, 1, 21, 88];
      await noLeak('tanhexp', async () => {
        const { y, g } = await valueAndGrad('tanhexp', xs);
        const ref = ACTIVATIONS_F64.tanhexp;
        xs.forEach((x, i) => {
          assert.ok(Number.isFinite(y[i]!), `tanhexp(${x}) = ${y[i]}`);
          assert.ok(Number.isFinite(g[i]!), `tanhexp'(${x}) = ${g[i]}`);
          assert.ok(withinTolerance(y[i]!, ref.f(x), SPEC), `tanhexp(${x}) = ${y[i]}, reference ${ref.f(x)}`);
          assert.ok(withinTolerance(g[i]!, ref.df(x), SPEC), `tanhexp'(${x}) = ${g[i]}, reference ${ref.df(x)}`);
          if (x > TANHEXP_THRESHOLD) {
            assert.equal(y[i], x, `tanhexp(${x}) must be x exactly`);
            assert.equal(g[i], 1, `tanhexp'(${x}) must be 1 exactly`);
          }
        });
        const at = (x: number) => xs.indexOf(x);
        assert.ok(Math.abs(g[at(0)]! - 0.7616) < 1e-4, `tanhexp'(0) = ${g[at(0)]}, expected 0.7616 (tanh 1)`);
        assert.ok(Math.abs(g[at(1)]! - 1.0383) < 1e-4, `tanhexp'(1) = ${g[at(1)]}, expected 1.0383`);
        assert.equal(y[at(0)], 0);
      });
    });

    test('every activation stays finite at extreme inputs', async () => {
      const xs = [1e4, -1e4, 100, -100, 89, -89, 0];
      await noLeak('activations', async () => {
        for (const name of ACTIVATION_NAMES) {
          const { y, g } = await valueAndGrad(name, xs);
          xs.forEach((x, i) => {
            assert.ok(Number.isFinite(y[i]!) && Number.isFinite(g[i]!), `${name}(${x}) = ${y[i]}, gradient ${g[i]}`);
          });
        }
      });
    });
  });
}
