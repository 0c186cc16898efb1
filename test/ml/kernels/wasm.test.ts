import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATION_GRAD_KERNEL,
  ACTIVATION_KERNEL,
  ACTIVATION_SLOPE_KERNEL,
  ACTIVATIONS,
  ACTIVATIONS_F64,
  TANHEXP_THRESHOLD,
} from '../../../ml/activations.ts';
import { conv3x3, CONV3X3_GRADS_KERNEL, CONV3X3_KERNEL, ROTATED_FILTER_KERNEL } from '../../../ml/conv.ts';
import { assembleKernels } from '../../../ml/kernels/wasm/assemble.ts';
import { KERNELS_WASM_BASE64 } from '../../../ml/kernels/wasm/bytes.ts';
import { kernelsOn, WebAssemblyJs } from '../../../ml/kernels/wasm/module.ts';
import { Rng } from '../../../ml/random.ts';
import { Adam, ADAM_KERNEL } from '../../../ml/train/adam.ts';
import { useBackend } from '../../helpers/backends.ts';

/**
 * The project's WebAssembly kernels for the wasm backend (ml/kernels/wasm/): the committed bytes are
 * what the source assembles to; the one-pass activations are the kernels that run on wasm and match
 * the float64 references everywhere, extreme inputs included, on every length (the 1–3 elements past
 * the last group of four go through a separate loop); the network's convolution trains through its
 * kernels (their values: test/ml/conv.test.ts); Adam's one-pass update gives the same floats as its
 * composed form; nothing leaks.
 */

const SMOOTH = ['tanhexp', 'swish', 'mish'] as const;
const GRID = Array.from({ length: 481 }, (_, i) => -30 + i * 0.125);
const EXTREME = [1e4, -1e4, 100, -100, 88, -88, 89, -89, 20, 20.1, 21, -20, 19.999, 20.001, 0, 1e-6, -1e-6];
const POINTS = [...GRID, ...EXTREME].map(Math.fround);

/** 1e-5 relative where |reference| > 1e-6, 1e-6 absolute below (the activations' spec). */
function close(got: number, want: number): boolean {
  const err = Math.abs(got - want);
  return err <= (Math.abs(want) > 1e-6 ? 1e-5 * Math.abs(want) : 1e-6);
}

async function noLeak(what: string, fn: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  assert.equal(tf.memory().numTensors, before, `${what} leaked ${tf.memory().numTensors - before} tensor(s)`);
}

test('the committed kernel bytes are what ml/kernels/wasm/source.ts assembles to (npm run build:wasm)', async () => {
  const committed = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  const assembled = Buffer.from(await assembleKernels());
  assert.ok(assembled.length > 1000);
  assert.ok(committed.equals(assembled), 'ml/kernels/wasm/bytes.ts is stale: run npm run build:wasm');
});

test('the multiply-add loop runs and returns a finite sum', () => {
  const k = kernelsOn(new WebAssemblyJs.Memory({ initial: 1 }));
  const s = k.peak(1000);
  assert.ok(Number.isFinite(s) && s > 0, `peak returned ${s}`);
});

describe('on the wasm backend', () => {
  before(async () => {
    await useBackend('wasm');
  });

  test('the activations run as one kernel each way: the value alone, and in training value and slope together', async () => {
    for (const name of SMOOTH) {
      const x = tf.tensor1d([0.5, -1, 2, 25, -30]);
      // (tf.profile returns one object that each call overwrites: copy what is needed.)
      const inference = await tf.profile(() => ACTIVATIONS[name](x));
      const inferenceKernels = [...inference.kernelNames];
      (inference.result as tf.Tensor).dispose();
      const training = await tf.profile(() => tf.grad(ACTIVATIONS[name])(x));
      (training.result as tf.Tensor).dispose();
      assert.deepEqual(inferenceKernels, [ACTIVATION_KERNEL], name);
      assert.ok(training.kernelNames.includes(ACTIVATION_SLOPE_KERNEL), `${name}: ${training.kernelNames.join(', ')}`);
      assert.ok(
        !training.kernelNames.some((k) => ['Exp', 'Tanh', 'Sigmoid', ACTIVATION_GRAD_KERNEL].includes(k)),
        `${name}: ${training.kernelNames.join(', ')}`,
      );
      // dy times the saved slope is the same float as the one-pass gradient kernel's dy·f'(x).
      const dy = tf.tensor1d([0.3, -2, 1.5, 4, 0.7]);
      const viaSlope = tf.grad(ACTIVATIONS[name])(x, dy);
      const direct = tf.engine().runKernel(ACTIVATION_GRAD_KERNEL, { x, dy }, { activation: name }) as tf.Tensor;
      assert.deepEqual([...(await viaSlope.data())], [...(await direct.data())], name);
      tf.dispose([x, dy, viaSlope, direct]);
    }
  });

  test("the network's convolution trains through the project's kernels, and saved tensors are shared, not copied", async () => {
    const x = tf.randomUniform([2, 6, 5, 8], -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 8, 4], -1, 1, 'float32', 2) as tf.Tensor4D;
    const b = tf.randomUniform([4], -1, 1, 'float32', 3) as tf.Tensor1D;
    const info = await tf.profile(() =>
      tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.mean(conv3x3(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D)),
      )([x, w, b]),
    );
    tf.dispose([x, w, b, ...(info.result as tf.Tensor[])]);
    for (const k of [CONV3X3_KERNEL, CONV3X3_GRADS_KERNEL, ROTATED_FILTER_KERNEL])
      assert.ok(info.kernelNames.includes(k), `${k} not in ${info.kernelNames.join(', ')}`);
    // No separate bias sum, no Reverse.
    for (const k of ['Sum', 'Reverse'])
      assert.ok(!info.kernelNames.includes(k), `${k} in ${info.kernelNames.join(', ')}`);
    // What tfjs saves for the backward pass it clones through Identity, which shares the data.
    const a = tf.tensor1d([1, 2, 3]);
    const c = tf.engine().runKernel('Identity', { x: a }) as tf.Tensor;
    assert.equal(c.dataId, a.dataId);
    a.dispose();
    assert.deepEqual([...(await c.data())], [1, 2, 3], 'the clone outlives the original');
    c.dispose();
  });

  for (const name of SMOOTH) {
    test(`${name}: value and gradient match the float64 reference, extreme inputs included`, async () => {
      await noLeak(name, async () => {
        const x = tf.tensor1d(POINTS);
        const dy = tf.tensor1d(POINTS.map((_, i) => Math.fround(0.5 + (i % 7) / 4)));
        const y = ACTIVATIONS[name](x);
        const g = tf.engine().runKernel(ACTIVATION_GRAD_KERNEL, { x, dy }, { activation: name }) as tf.Tensor;
        const [yv, gv, dyv] = [
          (await y.data()) as Float32Array,
          (await g.data()) as Float32Array,
          (await dy.data()) as Float32Array,
        ];
        tf.dispose([x, dy, y, g]);
        const ref = ACTIVATIONS_F64[name];
        const bad: string[] = [];
        POINTS.forEach((p, i) => {
          if (!close(yv[i]!, ref.f(p))) bad.push(`f(${p}) = ${yv[i]}, reference ${ref.f(p)}`);
          if (!close(gv[i]!, dyv[i]! * ref.df(p))) bad.push(`dy·f'(${p}) = ${gv[i]}, reference ${dyv[i]! * ref.df(p)}`);
          if (name !== 'swish' && p > TANHEXP_THRESHOLD) {
            if (yv[i] !== p) bad.push(`f(${p}) = ${yv[i]} must be exactly x`);
            if (gv[i] !== dyv[i]) bad.push(`dy·f'(${p}) = ${gv[i]} must be exactly dy`);
          }
        });
        assert.deepEqual(bad, [], `${name}:\n${bad.slice(0, 10).join('\n')}`);
      });
    });
  }

  test('every length works: the last 1–3 elements give the same floats as in a group of four, and a length of 0', async () => {
    const xs = Array.from({ length: 1024 }, (_, i) => Math.fround(Math.sin(i * 1.7) * 6));
    const run = async (name: (typeof SMOOTH)[number], n: number) => {
      const x = tf.tensor1d(xs.slice(0, n));
      const y = ACTIVATIONS[name](x);
      const g = tf.grad(ACTIVATIONS[name])(x);
      const out = [(await y.data()) as Float32Array, (await g.data()) as Float32Array];
      tf.dispose([x, y, g]);
      return out;
    };
    for (const name of SMOOTH) {
      const [yAll, gAll] = await run(name, xs.length);
      for (const n of [0, 1, 2, 3, 5, 6, 7, 9, 1023]) {
        const [y, g] = await run(name, n);
        assert.equal(y!.length, n);
        assert.deepEqual([...y!], [...yAll!.subarray(0, n)], `${name} n=${n}: values`);
        assert.deepEqual([...g!], [...gAll!.subarray(0, n)], `${name} n=${n}: gradients`);
      }
    }
  });

  test('NaN stays NaN, so a diverging step is still caught', async () => {
    for (const name of SMOOTH) {
      const x = tf.tensor1d([NaN, 1, NaN, NaN, 2]);
      const y = ACTIVATIONS[name](x);
      const g = tf.grad(ACTIVATIONS[name])(x);
      const [yv, gv] = [await y.data(), await g.data()];
      tf.dispose([x, y, g]);
      for (const i of [0, 2, 3])
        assert.ok(Number.isNaN(yv[i]!) && Number.isNaN(gv[i]!), `${name}: f(NaN) = ${yv[i]}, f'(NaN) = ${gv[i]}`);
      assert.ok(Number.isFinite(yv[1]!) && Number.isFinite(gv[4]!));
    }
  });

  test("Adam's one-pass update gives the same floats as its composed form", async () => {
    assert.ok(tf.getKernel(ADAM_KERNEL, 'wasm'), 'the Adam kernel is registered on wasm');
    const rng = new Rng(5);
    const shapes = [[3, 3, 5, 7], [7], [1], [3, 3, 64, 64]];
    const values = shapes.map((s) => Float32Array.from({ length: tf.util.sizeFromShape(s) }, () => rng.normal() * 0.1));
    const grads = [1, 2, 3].map(() =>
      shapes.map((s) => Float32Array.from({ length: tf.util.sizeFromShape(s) }, () => rng.normal())),
    );
    const run = async (fused: boolean) => {
      const kernel = tf.getKernel(ADAM_KERNEL, 'wasm')!;
      if (!fused) tf.unregisterKernel(ADAM_KERNEL, 'wasm');
      try {
        const params = new Map(
          shapes.map((s, i) => {
            const t = tf.tensor(values[i]!, s);
            const v = tf.variable(t);
            t.dispose();
            return [`p${i}`, v] as const;
          }),
        );
        const adam = new Adam(params);
        for (const [step, g] of grads.entries()) {
          const named = Object.fromEntries([...params.values()].map((v, i) => [v.name, tf.tensor(g[i]!, shapes[i])]));
          adam.apply(params, named, 1e-3 * (step + 1), step === 1 ? 0.37 : 1);
          tf.dispose(Object.values(named));
        }
        const out = await Promise.all([...params.values()].map(async (v) => (await v.data()) as Float32Array));
        const state = await adam.state();
        adam.dispose();
        for (const v of params.values()) v.dispose();
        return { out, state };
      } finally {
        if (!fused) tf.registerKernel(kernel);
      }
    };
    await noLeak('adam', async () => {
      const fused = await run(true);
      const composed = await run(false);
      for (const [i, w] of composed.out.entries()) assert.deepEqual(fused.out[i], w, `parameter ${i}`);
      for (const [k, v] of composed.state) assert.deepEqual(fused.state.get(k), v, `optimizer state ${k}`);
      assert.ok(
        composed.out[0]!.some((v, j) => v !== values[0]![j]),
        'the parameters moved',
      );
    });
  });
});
