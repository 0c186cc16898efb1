/**
 * The perceptual objective's graphs (ml/onnx/discriminator.ts, and the adversarial part of
 * ml/onnx/train-graph.ts's step) against numeric gradients: central differences of the float64
 * reference (test/helpers/disc-f64.ts) for the discriminator's loss with respect to every weight
 * and bias, for the generator's adversarial loss with respect to every output pixel (saturated
 * logits included), and for the whole perceptual step's gradient through the network. Real photo
 * patches throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLr } from '../../ml/dataset.ts';
import { initialWeights, parseNetworkConfig } from '../../ml/network.ts';
import { adversarialLossModel, discStepModel } from '../../ml/onnx/discriminator.ts';
import { flatLayout, trainStepModel } from '../../ml/onnx/train-graph.ts';
import {
  Discriminator,
  discLayers,
  discLayout,
  initialDiscriminator,
  type DiscLayer,
} from '../../ml/train/discriminator.ts';
import { photo } from '../helpers/photos.ts';
import { relErr, runModel, skip } from '../helpers/onnx-session.ts';
import { advLossF64, centralDifferences, discLogitsF64, discLossF64, namedF64 } from '../helpers/disc-f64.ts';
import { lossAndGradF64, toNchw } from '../helpers/rir-f64.ts';

/** n HR photo patches [n, side, side, 3] (interleaved, as the sampler makes them), from different places. */
async function patches(n: number, side: number, file = 'val/coffee.png', x0 = 30): Promise<Float32Array> {
  const out = new Float32Array(n * side * side * 3);
  for (let i = 0; i < n; i++)
    out.set((await photo(file, side, side, x0 + 41 * i, 25 + 13 * i)).rgb, i * side * side * 3);
  return out;
}

/** A discriminator's normalised weights as the engine feeds them, with non-zero biases (so the bias paths matter). */
function normalizedWeights(layers: readonly DiscLayer[], seed: number, outBias = 0.1): Float32Array {
  const d = new Discriminator(initialDiscriminator(seed, layers), layers);
  const w = d.prepare().normalized;
  for (const e of discLayout(layers)) {
    if (e.shape.length !== 1) continue;
    for (let i = 0; i < e.size; i++)
      w[e.offset + i] = e.name === 'out.bias' ? outBias : 0.05 * Math.sin(3 * i + e.name.length);
  }
  return w;
}

const NARROW = discLayers([4, 6, 5]);

test("the discriminator step's loss and its gradient with respect to every weight and bias match central differences of the float64 loss", {
  skip,
}, async () => {
  const n = 2;
  const side = 16;
  const real = await patches(n, side);
  // The fake patches: other places of another photo, softened as a network's output would be.
  const fakeHwc = await patches(n, side, 'val/astronaut.png', 60);
  const fake = toNchw(fakeHwc, n, side, side).map(
    (v, i, a) => 0.5 * v + 0.25 * (a[i - 1] ?? v) + 0.25 * (a[i + 1] ?? v),
  );
  for (const [layers, at] of [
    [NARROW, undefined],
    // The widths perceptual runs train, at sampled parameters of every tensor.
    [discLayers(), 'sampled'],
  ] as const) {
    const weights = normalizedWeights(layers, 3);
    const got = await runModel(discStepModel({ layers, batch: n, side }), {
      hr: { data: real, dims: [n, side, side, 3] },
      fake: { data: Float32Array.from(fake), dims: [n, 3, side, side] },
      d_weights: { data: weights, dims: [weights.length] },
    });
    const realNchw = toNchw(real, n, side, side);
    const loss = (w: Float64Array) => discLossF64(layers, namedF64(layers, w), realNchw, fake, n, side);
    const ref = loss(Float64Array.from(weights));
    assert.ok(Math.abs(got.d_loss![0]! - ref) <= 1e-5 * ref, `loss ${got.d_loss![0]}, reference ${ref}`);
    const indices = at
      ? discLayout(layers).flatMap((e) => Array.from({ length: 6 }, (_, k) => e.offset + Math.floor((k * e.size) / 6)))
      : undefined;
    const numeric = centralDifferences(loss, weights, 1e-6, indices);
    const bad: string[] = [];
    for (const e of discLayout(layers)) {
      const idx = [...numeric.keys()].filter((i) => i >= e.offset && i < e.offset + e.size);
      const err = relErr(
        idx.map((i) => got.d_grad![i]!),
        idx.map((i) => numeric.get(i)!),
      );
      if (err > 1e-4) bad.push(`${e.name}: off by ${err.toExponential(2)} of its largest value`);
      assert.ok(
        idx.some((i) => Math.abs(numeric.get(i)!) > 1e-6),
        `${e.name}: the case gives it no gradient to check`,
      );
    }
    assert.deepEqual(
      bad,
      [],
      `${layers.length} layers, widths ${layers.map((l) => l.cout).join('→')}:\n${bad.join('\n')}`,
    );
  }
});

test("the generator's adversarial loss and its gradient with respect to every output pixel match central differences, saturated logits included", {
  skip,
}, async () => {
  const n = 2;
  const side = 16;
  const output = toNchw(await patches(n, side, 'val/astronaut.png'), n, side, side);
  // 0.1: logits near 0; ±40: D certain either way (softplus and sigmoid saturated, still finite).
  for (const outBias of [0.1, 40, -40]) {
    const weights = normalizedWeights(NARROW, 5, outBias);
    const got = await runModel(adversarialLossModel(NARROW, n, side), {
      output: { data: Float32Array.from(output), dims: [n, 3, side, side] },
      d_weights: { data: weights, dims: [weights.length] },
    });
    const w = namedF64(NARROW, weights);
    const logits = discLogitsF64(NARROW, w, output, n, side);
    assert.ok(logits.every((l) => Math.sign(l) === Math.sign(outBias) || outBias === 0.1));
    const loss = (x: Float64Array) => advLossF64(NARROW, w, x, n, side);
    const ref = loss(output);
    assert.ok(got.adv_loss!.every(Number.isFinite) && got.d_output!.every(Number.isFinite), `bias ${outBias}`);
    assert.ok(
      Math.abs(got.adv_loss![0]! - ref) <= 1e-5 * Math.max(ref, 1e-30) + 1e-12,
      `bias ${outBias}: loss ${got.adv_loss![0]}, reference ${ref}`,
    );
    const numeric = centralDifferences(loss, output, 1e-6);
    const err = relErr(got.d_output!, [...numeric.values()]);
    assert.ok(
      err < 1e-4,
      `bias ${outBias}: the output's gradient is off by ${err.toExponential(2)} of its largest value`,
    );
    assert.ok(Math.max(...[...numeric.values()].map(Math.abs)) > 0, 'a gradient to check');
  }
});

test("a perceptual step's gradient is the pixel loss's plus advWeight × the adversarial loss's, through the whole network", {
  skip,
}, async () => {
  const config = parseNetworkConfig({ scale: 2, features: 4, groups: 1, blocks: 2, activation: 'tanhexp' });
  const n = 2;
  const p = 8;
  const s = 2;
  const side = p * s;
  const weight = 0.3;
  const hr = await patches(n, side);
  const lr = new Float32Array(n * p * p * 3);
  for (let i = 0; i < n; i++)
    lr.set(makeLr(hr.subarray(i * side * side * 3, (i + 1) * side * side * 3), side, side, s), i * p * p * 3);
  const weights = initialWeights(config, 5);
  for (const [k, v] of weights) {
    if (k.endsWith('.weight') && k !== 'head.weight') v.forEach((x, i) => (v[i] = x * 4));
    if (k.endsWith('.bias')) v.forEach((_, i) => (v[i] = 0.05 * Math.sin(3 * i + k.length)));
  }
  const layout = flatLayout(config);
  const params = new Float32Array(layout.reduce((a, e) => a + e.size, 0));
  for (const e of layout) params.set(weights.get(e.name)!, e.offset);
  const P = params.length;
  const dWeights = normalizedWeights(NARROW, 7);
  const got = await runModel(
    trainStepModel({
      network: config,
      batch: n,
      patch: p,
      loss: 'l1',
      clipNorm: 1,
      emaDecay: 0,
      gradientOutput: true,
      adversarial: { layers: NARROW, weight },
    }),
    {
      lr: { data: lr, dims: [n, p, p, 3] },
      hr: { data: hr, dims: [n, side, side, 3] },
      params: { data: params, dims: [P] },
      adam_m: { data: new Float32Array(P), dims: [P] },
      adam_v: { data: new Float32Array(P), dims: [P] },
      learning_rate: { data: Float32Array.of(0), dims: [] },
      bias_correction1: { data: Float32Array.of(0.1), dims: [] },
      bias_correction2: { data: Float32Array.of(0.001), dims: [] },
      d_weights: { data: dWeights, dims: [dWeights.length] },
    },
  );
  const w = namedF64(NARROW, dWeights);
  let advRef = 0;
  const ref = lossAndGradF64(config, weights, toNchw(lr, n, p, p), toNchw(hr, n, side, side), n, p, 'l1', [], (out) => {
    const f = (x: Float64Array) => advLossF64(NARROW, w, x, n, side);
    advRef = f(out);
    const d = centralDifferences(f, out, 1e-6);
    return { loss: weight * advRef, dOut: Float64Array.from(d.values(), (v) => weight * v) };
  });
  assert.ok(relErr(got.output!, ref.output) < 1e-5, 'the generated patch');
  assert.ok(Math.abs(got.adv_loss![0]! - advRef) <= 1e-5 * advRef, `adv_loss ${got.adv_loss![0]}, reference ${advRef}`);
  assert.ok(
    Math.abs(got.loss![0]! - ref.loss) <= 1e-5 * ref.loss,
    `loss ${got.loss![0]}, reference ${ref.loss} (pixel ${got.pixel_loss![0]})`,
  );
  assert.ok(Math.abs(got.pixel_loss![0]! + weight * got.adv_loss![0]! - got.loss![0]!) <= 1e-6 * got.loss![0]!);
  const bad: string[] = [];
  for (const e of layout) {
    const err = relErr(got.grad!.subarray(e.offset, e.offset + e.size), ref.grads.get(e.name)!);
    if (err > 1e-4) bad.push(`${e.name}: off by ${err.toExponential(2)} of its largest value`);
  }
  assert.deepEqual(bad, [], bad.join('\n'));
  // The adversarial part is not negligible in this case: without it the gradient differs.
  const pixelOnly = lossAndGradF64(config, weights, toNchw(lr, n, p, p), toNchw(hr, n, side, side), n, p, 'l1');
  const headDiff = relErr(pixelOnly.grads.get('up.0.weight')!, ref.grads.get('up.0.weight')!);
  assert.ok(headDiff > 1e-2, `the adversarial gradient changes the upsampler's by only ${headDiff}`);
});
