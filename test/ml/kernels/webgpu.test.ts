import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATIONS, ACTIVATIONS_F64, type SmoothActivation } from '../../../ml/activations.ts';
import { projectKernels, useProjectKernels, type KernelStyle } from '../../../ml/kernels/webgpu/index.ts';
import { initialWeights } from '../../../ml/network.ts';
import { Rng } from '../../../ml/random.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { train } from '../../../ml/train/trainer.ts';
import { decodeModel } from '../../../ml/weights.ts';
import { availableBackends, useBackend } from '../../helpers/backends.ts';
import { MemoryStore, photoSource } from '../train/memory-store.ts';

/**
 * The project's webgpu kernels (ml/kernels/webgpu/index.ts) against the cpu backend's reference kernels
 * and float64 formulas, in both styles (`tiled` for GPUs, `direct` for software adapters), on the
 * adapter this machine has (Mesa's software Vulkan in CI).
 */
const webgpu = (await availableBackends('train')).includes('webgpu');
const skip = webgpu ? false : 'the webgpu backend is not available on this machine';
const STYLES: KernelStyle[] = ['tiled', 'direct'];

type ConvCase = {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k?: number;
  stride?: number;
  pad: 'same' | 'valid' | number;
};
/** Odd sizes, batch 1, channels not divisible by 4, the 3→C and C→3·s² layers, M not a multiple of 16, stride 2, other kernel sizes. */
const CASES: ConvCase[] = [
  { n: 1, h: 5, w: 7, ci: 3, co: 16, pad: 'same' },
  { n: 2, h: 9, w: 4, ci: 5, co: 7, pad: 'same' },
  { n: 3, h: 8, w: 8, ci: 16, co: 12, pad: 'same' },
  { n: 1, h: 11, w: 6, ci: 16, co: 27, pad: 'same' },
  { n: 2, h: 13, w: 10, ci: 32, co: 48, pad: 'same' },
  { n: 3, h: 7, w: 5, ci: 12, co: 8, pad: 'same' },
  { n: 1, h: 1, w: 1, ci: 4, co: 4, pad: 'same' },
  { n: 2, h: 17, w: 19, ci: 64, co: 64, pad: 'same' },
  { n: 4, h: 12, w: 12, ci: 64, co: 3, pad: 'same' },
  { n: 2, h: 10, w: 9, ci: 6, co: 70, pad: 'valid' },
  { n: 1, h: 9, w: 11, ci: 8, co: 5, k: 5, pad: 'same' },
  { n: 2, h: 8, w: 7, ci: 5, co: 9, k: 1, pad: 'valid' },
  { n: 2, h: 11, w: 10, ci: 6, co: 10, stride: 2, pad: 'same' },
  { n: 1, h: 7, w: 9, ci: 7, co: 6, pad: 2 },
];

function randomArray(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** The forward convolution (with bias) and both backprop kernels for one case, on the active backend. */
async function backprops(c: ConvCase, xs: Float32Array, ws: Float32Array, seed: number) {
  const k = c.k ?? 3;
  const stride = c.stride ?? 1;
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [k, k, c.ci, c.co], stride, 1, c.pad as 'same');
  const dys = randomArray(new Rng(seed), c.n * info.outHeight * info.outWidth * c.co);
  const x = tf.tensor4d(xs, [c.n, c.h, c.w, c.ci]);
  const w = tf.tensor4d(ws, [k, k, c.ci, c.co]);
  const dy = tf.tensor4d(dys, [c.n, info.outHeight, info.outWidth, c.co]);
  const attrs = { strides: stride, pad: c.pad, dataFormat: 'NHWC' };
  const dw = tf
    .engine()
    .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [k, k, c.ci, c.co] }) as tf.Tensor;
  const dx = tf
    .engine()
    .runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [c.n, c.h, c.w, c.ci] }) as tf.Tensor;
  const b = tf.tensor1d(randomArray(new Rng(seed + 1), c.co));
  const y = tf.fused.conv2d({ x, filter: w, bias: b, strides: stride, pad: c.pad });
  const y0 = tf.conv2d(x, w, stride, c.pad);
  const out = {
    dw: (await dw.data()) as Float32Array,
    dx: (await dx.data()) as Float32Array,
    y: (await y.data()) as Float32Array,
    y0: (await y0.data()) as Float32Array,
  };
  tf.dispose([x, w, dy, dw, dx, b, y, y0]);
  return out;
}

function assertClose(got: Float32Array, want: Float32Array, what: string, tol = 2e-5) {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = Math.max(1, ...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  assert.ok(worst <= tol * scale, `${what}: worst difference ${worst} (scale ${scale})`);
}

test("the project's convolution kernels on webgpu (forward, with and without bias, and both gradients) match the cpu backend's", {
  skip,
}, async () => {
  const rng = new Rng(11);
  const inputs = CASES.map((c) => ({
    xs: randomArray(rng, c.n * c.h * c.w * c.ci),
    ws: randomArray(rng, (c.k ?? 3) ** 2 * c.ci * c.co),
  }));
  await useBackend('cpu');
  const want = [];
  for (const [i, c] of CASES.entries()) want.push(await backprops(c, inputs[i]!.xs, inputs[i]!.ws, 100 + i));
  await useBackend('webgpu');
  const before = projectKernels();
  try {
    for (const style of STYLES) {
      useProjectKernels(true, style);
      const tensors = tf.memory().numTensors;
      const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      for (const [i, c] of CASES.entries()) {
        const got = await backprops(c, inputs[i]!.xs, inputs[i]!.ws, 100 + i);
        const name = `${style} ${JSON.stringify(c)}`;
        assertClose(got.dw, want[i]!.dw, `${name} dw`);
        assertClose(got.dx, want[i]!.dx, `${name} dx`);
        assertClose(got.y, want[i]!.y, `${name} conv + bias`);
        assertClose(got.y0, want[i]!.y0, `${name} conv`);
      }
      assert.equal(tf.memory().numTensors, tensors, `${style}: tensors leaked`);
      // The split-K partials live only in the backend: a leak there shows in its own count.
      assert.equal(
        (tf.backend() as unknown as { numDataIds(): number }).numDataIds(),
        buffers,
        `${style}: GPU buffers leaked`,
      );
    }
  } finally {
    useProjectKernels(before.enabled, before.style);
  }
});

test("sums over every axis but the last (bias gradients) on webgpu match the cpu backend's; other sums too", {
  skip,
}, async () => {
  const shapes = [
    [2, 9, 7, 64],
    [1, 1, 1, 8],
    [3, 13, 5, 12],
    [700, 4],
    [2, 5, 3, 6],
    [4, 6, 5, 16],
  ];
  const cases = shapes.flatMap((shape, i) => [
    { shape, axis: shape.map((_, k) => k).slice(0, -1), seed: 300 + i },
    { shape, axis: [shape.length - 1], seed: 400 + i },
  ]);
  const sums = async () => {
    const out: Float32Array[] = [];
    for (const c of cases) {
      const x = tf.tensor(
        randomArray(
          new Rng(c.seed),
          c.shape.reduce((a, b) => a * b, 1),
        ),
        c.shape,
      );
      const y = tf.sum(x, c.axis);
      out.push((await y.data()) as Float32Array);
      tf.dispose([x, y]);
    }
    return out;
  };
  await useBackend('cpu');
  const want = await sums();
  await useBackend('webgpu');
  const before = projectKernels();
  try {
    for (const style of STYLES) {
      useProjectKernels(true, style);
      const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      const got = await sums();
      got.forEach((g, i) =>
        assertClose(g, want[i]!, `${style} sum of ${cases[i]!.shape} over ${cases[i]!.axis}`, 1e-5),
      );
      assert.equal(
        (tf.backend() as unknown as { numDataIds(): number }).numDataIds(),
        buffers,
        `${style}: GPU buffers leaked`,
      );
    }
  } finally {
    useProjectKernels(before.enabled, before.style);
  }
});

test("the project's kernels really replace tfjs's on webgpu, and switching them off restores tfjs's", {
  skip,
}, async () => {
  await useBackend('webgpu');
  const before = projectKernels();
  try {
    useProjectKernels(true, 'tiled');
    const ours = tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc;
    assert.ok(tf.getKernel('SrActivation', 'webgpu'), 'the activation kernel is registered');
    useProjectKernels(false);
    const theirs = tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc;
    assert.notEqual(ours, theirs);
    assert.equal(
      tf.getKernel('SrActivation', 'webgpu'),
      undefined,
      'without the project kernels the activations are composed from tfjs ops',
    );
    useProjectKernels(true, 'tiled');
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'webgpu')!.kernelFunc, ours);
  } finally {
    useProjectKernels(before.enabled, before.style);
  }
});

/** Values where the activations are tricky: overflow of eˣ, the x > 20 switch, the cancelling region near 0. */
const EXTREMES = [-1e4, -100, -88, -20, -5, -1, -1e-3, 0, 1e-3, 0.5, 1, 5, 19.9, 20, 20.1, 21, 88, 89, 100, 1e4];
const GRID = [...EXTREMES, ...Array.from({ length: 241 }, (_, i) => -12 + i * 0.1)];

test('the one-pass activation kernels on webgpu give the float64 values and slopes, finite everywhere', {
  skip,
}, async () => {
  await useBackend('webgpu');
  const before = projectKernels();
  try {
    useProjectKernels(true);
    for (const act of ['tanhexp', 'swish', 'mish'] as SmoothActivation[]) {
      const x = tf.tensor1d(GRID);
      // dy varies so the gradient kernel's product with it is checked too; 261 elements is not a multiple of 4.
      const dyv = Float32Array.from(GRID, (_, i) => 0.5 + (i % 7) / 4);
      const dy = tf.tensor1d(dyv);
      const tensors = tf.memory().numTensors;
      const [y, g] = tf.tidy(() => [
        ACTIVATIONS[act](x),
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ACTIVATIONS[act](t), dy)))(x),
      ]);
      const ys = (await y!.data()) as Float32Array;
      const gs = (await g!.data()) as Float32Array;
      tf.dispose([y!, g!]);
      assert.equal(tf.memory().numTensors, tensors, `${act}: tensors leaked`);
      tf.dispose([x, dy]);
      const ref = ACTIVATIONS_F64[act];
      GRID.forEach((v, i) => {
        const xf = Math.fround(v);
        assert.ok(Number.isFinite(ys[i]!) && Number.isFinite(gs[i]!), `${act}(${v}) is not finite: ${ys[i]}, ${gs[i]}`);
        const fy = ref.f(xf);
        const fg = ref.df(xf) * dyv[i]!;
        assert.ok(Math.abs(ys[i]! - fy) <= 2e-6 * Math.max(1, Math.abs(fy)), `${act}(${v}) = ${ys[i]}, want ${fy}`);
        assert.ok(Math.abs(gs[i]! - fg) <= 1e-5 * Math.max(1, Math.abs(fg)), `${act}'(${v})·dy = ${gs[i]}, want ${fg}`);
      });
    }
  } finally {
    useProjectKernels(before.enabled, before.style);
  }
});

/** The losses of 200 training steps on real photos, and the weights they end with. */
async function run200(act: 'tanhexp' | 'swish') {
  const config = makeTrainConfig({
    preset: 'tiny',
    activation: act,
    scale: 2,
    iterations: 200,
    batch: 4,
    patch: 16,
    warmup: 10,
    seed: 3,
    checkpointEvery: 1000,
  });
  const store = new MemoryStore();
  const losses: number[] = [];
  const before = tf.memory().numTensors;
  for await (const e of train({ config, data: await photoSource(), val: [], store }))
    if (e.type === 'progress') losses.push(e.loss);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by training');
  return {
    losses,
    weights: decodeModel(store.models.at(-1)!, 'trained').weights,
    initial: initialWeights(config.network, config.seed),
  };
}

test("200 training steps give the same losses with the project's webgpu kernels as with tfjs's own", {
  skip,
}, async () => {
  await useBackend('webgpu');
  const before = projectKernels();
  try {
    for (const act of ['tanhexp', 'swish'] as const) {
      useProjectKernels(false);
      const theirs = await run200(act);
      for (const style of STYLES) {
        useProjectKernels(true, style);
        const ours = await run200(act);
        assert.equal(ours.losses.length, 200);
        const worst = Math.max(
          ...ours.losses.map((l, i) => Math.abs(l - theirs.losses[i]!) / Math.abs(theirs.losses[i]!)),
        );
        assert.ok(worst <= 1e-3, `${style} ${act}: worst relative loss difference ${worst}`);
        // It learned: the weights moved and the loss fell (equal losses of a frozen network would prove nothing).
        let moved = 0;
        for (const [k, v] of ours.initial)
          moved = Math.max(moved, ...v.map((x, i) => Math.abs(x - ours.weights.get(k)![i]!)));
        assert.ok(moved > 1e-3, `${style} ${act}: the weights moved by only ${moved}`);
        const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
        assert.ok(
          mean(ours.losses.slice(-20)) < mean(ours.losses.slice(0, 20)),
          `${style} ${act}: the loss did not fall`,
        );
      }
    }
  } finally {
    useProjectKernels(before.enabled, before.style);
  }
});
