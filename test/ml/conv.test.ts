import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { conv3x3 } from '../../ml/conv.ts';
import { MAX_COLUMN_FLOATS } from '../../ml/kernels/wasm-conv-backprop-filter.ts';
import { Rng } from '../../ml/random.ts';
import { availableBackends, useBackend } from '../helpers/backends.ts';

/**
 * conv3x3's own gradient (a forward conv for dx, a batch/channel-swapped conv for dw, a sum for db)
 * against tfjs's reference Conv2DBackpropInput/Conv2DBackpropFilter kernels on the cpu backend,
 * on shapes that catch layout mistakes: odd sizes, batch 1, channels not divisible by 4, and the
 * 3→C and C→3·s² layers of the network.
 */
const SHAPES: Array<{ n: number; h: number; w: number; ci: number; co: number }> = [
  { n: 1, h: 5, w: 7, ci: 3, co: 16 },
  { n: 2, h: 9, w: 4, ci: 5, co: 7 },
  { n: 3, h: 8, w: 8, ci: 16, co: 12 },
  { n: 1, h: 11, w: 6, ci: 16, co: 27 },
  { n: 2, h: 6, w: 10, ci: 32, co: 48 },
  { n: 1, h: 1, w: 1, ci: 4, co: 4 },
];

function randomArray(rng: Rng, size: number, scale = 1): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal() * scale);
}

/** Values and gradients of sum(conv(x)·dyWeights) with the given conv function. */
async function gradsOf(
  conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D,
  xs: Float32Array[],
  s: (typeof SHAPES)[number],
) {
  // Read back with data(), not dataSync(): webgpu cannot read large tensors synchronously.
  const out = tf.tidy(() => {
    const x = tf.tensor4d(xs[0]!, [s.n, s.h, s.w, s.ci]);
    const w = tf.tensor4d(xs[1]!, [3, 3, s.ci, s.co]);
    const b = tf.tensor1d(xs[2]!);
    const probe = tf.tensor4d(xs[3]!, [s.n, s.h, s.w, s.co]);
    const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D), probe));
    const [gx, gw, gb] = tf.grads(f)([x, w, b]);
    return [conv(x, w, b), gx!, gw!, gb!];
  });
  const arrays = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(out);
  return arrays;
}

const reference = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) =>
  tf.add(tf.conv2d(x, w, 1, 'same'), b) as tf.Tensor4D;

test('conv3x3 value and gradients match tfjs reference kernels on every backend', async () => {
  const rng = new Rng(11);
  const cases = SHAPES.map((s) => ({
    s,
    inputs: [
      randomArray(rng, s.n * s.h * s.w * s.ci),
      randomArray(rng, 9 * s.ci * s.co, 0.2),
      randomArray(rng, s.co, 0.1),
      randomArray(rng, s.n * s.h * s.w * s.co),
    ],
  }));
  await useBackend('cpu');
  const expected = await Promise.all(cases.map((c) => gradsOf(reference, c.inputs, c.s)));
  for (const backend of await availableBackends('train')) {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    for (const [k, c] of cases.entries()) {
      const got = await gradsOf(conv3x3, c.inputs, c.s);
      for (const [j, what] of ['value', 'dx', 'dw', 'db'].entries()) {
        const e = expected[k]![j]!;
        const g = got[j]!;
        assert.equal(g.length, e.length, `${backend} ${what} size for ${JSON.stringify(c.s)}`);
        let worst = 0;
        for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(g[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
        assert.ok(worst < 2e-5, `${backend} ${what} for ${JSON.stringify(c.s)}: relative error ${worst}`);
      }
    }
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
});

test("wasm's Conv2DBackpropFilter kernel makes tf.conv2d's own gradient work there, matching cpu", async () => {
  // [n, h, w, ci, co, kernel, padding]: odd sizes, batch 1, 3→C, C→3·s² (27), 5×5 and 1×1 kernels, valid,
  // and a batch whose columns go in chunks (MAX_COLUMN_FLOATS).
  const cases = [
    [1, 5, 7, 3, 16, 3, 'same'],
    [2, 9, 4, 5, 7, 3, 'same'],
    [2, 8, 8, 4, 6, 5, 'same'],
    [1, 11, 6, 16, 27, 3, 'valid'],
    [2, 6, 10, 8, 4, 1, 'same'],
    // 5·5·64 rows × 64² columns per image: three images exceed the column budget, so two products are summed.
    [3, 64, 64, 64, 8, 5, 'same'],
  ] as const;
  const [n, h, w, ci, , k] = cases.at(-1)!;
  assert.ok(
    n * k * k * ci * h * w > MAX_COLUMN_FLOATS && k * k * ci * h * w < MAX_COLUMN_FLOATS,
    'the last case must be chunked',
  );
  const inputs = (c: (typeof cases)[number]) => {
    const [n, h, w, ci, co, k] = c;
    const x = tf.tensor4d(
      Float32Array.from({ length: n * h * w * ci }, (_, i) => Math.sin(i * 0.37)),
      [n, h, w, ci],
    );
    const f = tf.tensor4d(
      Float32Array.from({ length: k * k * ci * co }, (_, i) => Math.cos(i * 0.11) * 0.2),
      [k, k, ci, co],
    );
    return { x, f };
  };
  const results: Record<string, Float32Array[]> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    results[backend] = [];
    for (const c of cases) {
      const { x, f } = inputs(c);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c[6]))),
      )([x, f]);
      results[backend]!.push((await gf!.data()) as Float32Array);
      tf.dispose([x, f, gx!, gf!]);
    }
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  // Each entry is a float32 sum of n·h·w products, whose rounding depends on the order of summation:
  // the error is measured against Σ|x|·|dy| of the entry (cpu's kernel on |x| and |dy| = |2·conv(x, f)|).
  await useBackend('cpu');
  for (const [i, c] of cases.entries()) {
    const bound = tf.tidy(() => {
      const { x, f } = inputs(c);
      const dy = tf.abs(tf.mul(tf.conv2d(x, f, 1, c[6]), 2));
      return tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.abs(x), dy }, {
        strides: 1,
        pad: c[6],
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: f.shape,
      } as never) as tf.Tensor;
    });
    const b = (await bound.data()) as Float32Array;
    bound.dispose();
    let worst = 0;
    results.cpu![i]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - results.wasm![i]![j]!) / (1 + b[j]!))));
    assert.ok(worst < 2e-5, `case ${JSON.stringify(c)}: error ${worst} of Σ|x|·|dy|`);
  }
});
