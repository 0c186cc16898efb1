/**
 * Spectral normalisation (ml/train/spectral-norm.ts) and the discriminator's update
 * (ml/train/discriminator.ts): the power iteration finds the largest singular value of a matrix
 * whose singular values are known, the gradient through σ matches central differences of the
 * float64 loss of W/σ(W), and the update is Adam on that gradient, kept only when committed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../ml/random.ts';
import {
  DISC_BETA1,
  DISC_BETA2,
  Discriminator,
  discLayers,
  discLayout,
  initialDiscriminator,
} from '../../../ml/train/discriminator.ts';
import { spectralGrad, spectralStep } from '../../../ml/train/spectral-norm.ts';
import { centralDifferences } from '../../helpers/disc-f64.ts';

/** A random orthogonal matrix [k, k] (Gram–Schmidt of a Gaussian one), row-major. */
function orthogonal(k: number, rng: Rng): Float64Array[] {
  const rows: Float64Array[] = [];
  while (rows.length < k) {
    const v = Float64Array.from({ length: k }, () => rng.normal());
    for (const r of rows) {
      const d = r.reduce((a, x, i) => a + x * v[i]!, 0);
      r.forEach((x, i) => (v[i]! -= d * x));
    }
    const norm = Math.hypot(...v);
    rows.push(v.map((x) => x / norm));
  }
  return rows;
}

/** W = U diag(s) Vᵀ [rows, cols] with the singular values `s` (rows ≤ cols), as float32. */
function withSingularValues(s: readonly number[], cols: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rows = s.length;
  const U = orthogonal(rows, rng);
  const V = orthogonal(cols, rng);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let k = 0; k < rows; k++) acc += U[i]![k]! * s[k]! * V[k]![j]!;
      w[i * cols + j] = acc;
    }
  return w;
}

describe('spectral normalisation', () => {
  test('repeated power iterations find the largest singular value, and Ŵ = W/σ then has it at 1', () => {
    const s = [3, 1.5, 0.7, 0.2];
    const w = withSingularValues(s, 18, 4);
    let u: Float32Array = Float32Array.of(0.5, 0.5, 0.5, 0.5);
    const sigmas: number[] = [];
    for (let i = 0; i < 40; i++) {
      const step = spectralStep(w, 4, u);
      sigmas.push(step.sigma);
      u = step.u;
    }
    // σ_k approaches 3 from below, at the rate (1.5/3)² per iteration.
    assert.ok(
      sigmas.every((x, i) => i === 0 || x >= sigmas[i - 1]! - 1e-9),
      'σ never decreases',
    );
    assert.ok(sigmas[0]! < 3 - 1e-3, `the first estimate ${sigmas[0]} is already exact: the case proves little`);
    assert.ok(Math.abs(sigmas.at(-1)! - 3) < 1e-6, `σ = ${sigmas.at(-1)}`);
    const last = spectralStep(w, 4, u);
    const again = spectralStep(last.normalized, 4, last.u);
    assert.ok(Math.abs(again.sigma - 1) < 1e-6, `Ŵ's largest singular value ${again.sigma}`);
    for (let i = 0; i < w.length; i++) assert.equal(last.normalized[i], Math.fround(w[i]! / last.sigma));
  });

  test('the gradient through σ matches central differences of L(W) = ⟨C, W/σ(W)⟩, σ(W) = u′ᵀWv with u′ and v the step’s', () => {
    for (const [rows, cols, seed] of [
      [3, 27, 1],
      [8, 36, 2],
      [1, 45, 3],
    ] as const) {
      const rng = new Rng(seed);
      const w = Float32Array.from({ length: rows * cols }, () => rng.normal() * 0.3);
      const u0 = Float32Array.from({ length: rows }, () => rng.normal());
      const c = Float64Array.from({ length: rows * cols }, () => rng.normal());
      const step = spectralStep(w, rows, u0);
      const loss = (x: Float64Array) => {
        let sigma = 0;
        for (let r = 0; r < rows; r++)
          for (let j = 0; j < cols; j++) sigma += step.u[r]! * x[r * cols + j]! * step.v[j]!;
        return x.reduce((a, xi, i) => a + c[i]! * (xi / sigma), 0);
      };
      // G = ∂L/∂Ŵ = C.
      const got = spectralGrad(c, step);
      const numeric = centralDifferences(loss, w, 1e-6);
      let worst = 0;
      let scale = 0;
      numeric.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - got[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      assert.ok(worst <= 1e-6 * scale, `${rows}×${cols}: off by ${worst} of ${scale}`);
      // Not simply C/σ: the term through σ matters.
      const naive = Math.max(...c.map((x, i) => Math.abs(x / step.sigma - got[i]!)));
      assert.ok(naive > 1e-3 * scale, `${rows}×${cols}: the gradient through σ is negligible (${naive})`);
    }
  });
});

describe("the discriminator's update", () => {
  const layers = discLayers([4, 6, 5]);

  test('is Adam (β 0.9, 0.99) on the gradient through σ, and nothing changes until it is committed', () => {
    const d = new Discriminator(initialDiscriminator(3, layers), layers);
    const before = d.state();
    const prepared = d.prepare();
    const rng = new Rng(8);
    const grad = Float32Array.from({ length: d.size }, () => rng.normal() * 1e-2);
    const lr = 2e-3;
    const pending = d.update(prepared, grad, lr)!;
    assert.deepEqual(d.state(), before, 'an update that is not committed changes nothing');
    d.commit(pending);
    const after = d.state();
    assert.equal(after.adam.step, 1);
    for (const e of discLayout(layers)) {
      const g = e.rows
        ? spectralGrad(grad.subarray(e.offset, e.offset + e.size), prepared.spectral.get(e.name)!)
        : grad.subarray(e.offset, e.offset + e.size);
      const w0 = before.weights.get(e.name)!;
      const w1 = after.weights.get(e.name)!;
      for (let i = 0; i < e.size; i++) {
        const m = (1 - DISC_BETA1) * g[i]!;
        const v = (1 - DISC_BETA2) * g[i]! * g[i]!;
        const want = w0[i]! - (lr * (m / (1 - DISC_BETA1))) / (Math.sqrt(v / (1 - DISC_BETA2)) + 1e-8);
        assert.ok(
          Math.abs(w1[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)),
          `${e.name}[${i}]: ${w1[i]} vs ${want}`,
        );
        assert.equal(after.adam.moments.get(`m.${e.name}`)![i], Math.fround(m));
      }
      if (e.rows) assert.deepEqual(after.u.get(e.name), prepared.spectral.get(e.name)!.u, `${e.name}: u′ is kept`);
    }
  });

  test('the inner convs are divided by their σ, the first and the last are used as they are (as in Real-ESRGAN)', () => {
    const d = new Discriminator(initialDiscriminator(3, layers), layers);
    const state = d.state();
    const { normalized, spectral } = d.prepare();
    assert.deepEqual([...spectral.keys()], ['conv1.weight', 'conv2.weight']);
    for (const e of discLayout(layers)) {
      const raw = state.weights.get(e.name)!;
      const fed = normalized.subarray(e.offset, e.offset + e.size);
      const s = spectral.get(e.name);
      if (s) {
        assert.ok(s.sigma > 0.5, `${e.name}: σ ${s.sigma}`);
        for (let i = 0; i < e.size; i++) assert.equal(fed[i], Math.fround(raw[i]! / s.sigma));
      } else assert.deepEqual(fed, raw, e.name);
    }
  });

  test('a gradient that is not finite gives no update', () => {
    const d = new Discriminator(initialDiscriminator(3, layers), layers);
    const grad = new Float32Array(d.size);
    grad[5] = NaN;
    assert.equal(d.update(d.prepare(), grad, 1e-3), undefined);
  });

  test('its state loads back exactly', () => {
    const d = new Discriminator(initialDiscriminator(9, layers), layers);
    const p = d.prepare();
    d.commit(
      d.update(
        p,
        Float32Array.from({ length: d.size }, (_, i) => Math.sin(i)),
        1e-3,
      )!,
    );
    const copy = new Discriminator(initialDiscriminator(1, layers), layers);
    copy.load(d.state());
    assert.deepEqual(copy.state(), d.state());
    assert.deepEqual(copy.prepare().normalized, d.prepare().normalized);
  });
});
