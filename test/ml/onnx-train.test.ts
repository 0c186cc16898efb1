/**
 * The training step as an ONNX graph (ml/onnx/train-graph.ts): its gradients against a float64
 * reference (each conv layer, each activation including inputs far beyond ±20, the whole network,
 * L1 and Charbonnier, x2 and x3), Adam's and the EMA's update, and the graph's form (default-domain
 * ops only, every value's shape declared). The engine behind the trainer is tested in
 * test/ml/train/onnx-engine.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATION_NAMES, ACTIVATIONS_F64, TANHEXP_THRESHOLD, type ActivationName } from '../../ml/activations.ts';
import { makeLr } from '../../ml/dataset.ts';
import { initialWeights, parseNetworkConfig, type NetworkConfig } from '../../ml/network.ts';
import { convGradModel } from '../../ml/onnx/conv-grad.ts';
import { activationGradModel, flatLayout, trainStepModel } from '../../ml/onnx/train-graph.ts';
import { readFields } from '../../ml/onnx/protobuf.ts';
import { photo } from '../helpers/photos.ts';
import { relErr, runModel, skip, type Feeds } from '../helpers/onnx-session.ts';
import { convBack, lossAndGradF64, toNchw } from '../helpers/rir-f64.ts';

/** A small Rng-free pseudo-random sequence (a test's own, so it never shifts with the engine's). */
function wave(n: number, seed: number, amp = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin(1.7 * i + seed) * Math.cos(0.37 * i * seed + 1));
}

test('every activation, forward and backward as the step builds them, matches the float64 reference, far beyond ±20 included', {
  skip,
}, async () => {
  const grid = Array.from({ length: 241 }, (_, i) => -30 + i * 0.25);
  const extreme = [
    1e4, -1e4, 3e38, -3e38, 100, -100, 89, -89, 88, -88, 20.5, -20.5, 20, -20, 21, 0, 1, -1, 1e-6, -1e-6,
  ];
  const xs = Float32Array.from([...grid, ...extreme]);
  const dy = Float32Array.from(xs, (_, i) => (i % 3 === 0 ? 1 : -0.5));
  for (const act of ACTIVATION_NAMES) {
    const { y, dx } = await runModel(activationGradModel(act), {
      x: { data: xs, dims: [xs.length] },
      dy: { data: dy, dims: [xs.length] },
    });
    const ref = ACTIVATIONS_F64[act];
    const bad: string[] = [];
    xs.forEach((x, i) => {
      if (!Number.isFinite(y![i]!) || !Number.isFinite(dx![i]!))
        return void bad.push(`${act}(${x}): value ${y![i]}, gradient ${dx![i]}`);
      const want = ref.f(x);
      if (Number.isFinite(want) && Math.abs(y![i]! - want) > 1e-6 * Math.max(1, Math.abs(want)))
        bad.push(`${act}(${x}) = ${y![i]}, reference ${want}`);
      if (act === 'relu' && x === 0) return; // no derivative at the kink
      const g = dy[i]! * ref.df(x);
      // The tolerance of the tfjs kernels' own tests (test/ml/activations.test.ts): 1e-5 relative.
      if (Math.abs(dx![i]! - g) > 1e-5 * Math.max(1, Math.abs(g)))
        bad.push(`${act}'(${x})·${dy[i]} = ${dx![i]}, reference ${g}`);
    });
    assert.deepEqual(bad, [], bad.slice(0, 8).join('\n'));
    if (act === 'tanhexp') {
      xs.forEach((x, i) => {
        if (x <= TANHEXP_THRESHOLD) return;
        assert.equal(y![i], x, `tanhexp(${x}) must be x exactly`);
        assert.equal(dx![i], dy[i], `tanhexp'(${x}) must be 1 exactly`);
      });
    }
  }
});

test("a conv layer's input, filter and bias gradients match the float64 reference (photo pixels in, every tap and border)", {
  skip,
}, async () => {
  for (const [n, cin, cout, p] of [
    [2, 3, 5, 7],
    [3, 6, 4, 5],
    [1, 8, 12, 9],
  ] as const) {
    const img = await photo('val/coffee.png', p, p, 40, 30);
    // The input: real pixels, channel by channel, shifted per image and channel so no two planes are equal.
    const x = new Float32Array(n * cin * p * p);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < cin; c++)
        for (let k = 0; k < p * p; k++) x[(i * cin + c) * p * p + k] = img.rgb[k * 3 + (c % 3)]! - 0.1 * c + 0.05 * i;
    const w = wave(cout * cin * 9, 3, 0.3);
    const dy = wave(n * cout * p * p, 5);
    const got = await runModel(convGradModel(n, cin, cout, p), {
      x: { data: x, dims: [n, cin, p, p] },
      w: { data: w, dims: [cout, cin, 3, 3] },
      dy: { data: dy, dims: [n, cout, p, p] },
    });
    const { dx, dw, db } = convBack(x, { n, c: cin, h: p, w: p }, w, dy, cout);
    const what = `n ${n}, ${cin}→${cout}, ${p}×${p}`;
    assert.ok(relErr(got.dx!, dx) < 1e-5, `${what}: input gradient off by ${relErr(got.dx!, dx)}`);
    assert.ok(relErr(got.dw!, dw) < 1e-5, `${what}: filter gradient off by ${relErr(got.dw!, dw)}`);
    assert.ok(relErr(got.db!, db) < 1e-5, `${what}: bias gradient off by ${relErr(got.db!, db)}`);
  }
});

interface Case {
  readonly config: NetworkConfig;
  readonly loss: 'l1' | 'charbonnier';
  /** Pushes the first blocks' activations far beyond ±20 (the TanhExp switch, and overflow of eˣ). */
  readonly extreme?: boolean;
}

const small = (activation: ActivationName, scale: 2 | 3 = 2): NetworkConfig =>
  parseNetworkConfig({ scale, features: 4, groups: 2, blocks: 2, activation });

/** Busy weights (the residual branches matter), optionally with huge biases on every block's first conv. */
function caseWeights(c: Case): Map<string, Float32Array> {
  const w = initialWeights(c.config, 5);
  for (const [k, v] of w) {
    if (k.endsWith('.weight') && k !== 'head.weight') v.forEach((x, i) => (v[i] = x * 4));
    if (k.endsWith('.bias')) v.forEach((_, i) => (v[i] = 0.05 * Math.sin(3 * i + k.length)));
    if (c.extreme && /c1\.bias$/.test(k)) v.forEach((_, i) => (v[i] = [60, -60, 25, -1e3][i % 4]!));
  }
  return w;
}

/** A batch of real photo patches: HR crops and their LR by the training's own bicubic downscaling. */
async function photoBatch(n: number, p: number, s: number): Promise<{ lr: Float32Array; hr: Float32Array }> {
  const side = p * s;
  const lr = new Float32Array(n * p * p * 3);
  const hr = new Float32Array(n * side * side * 3);
  for (let i = 0; i < n; i++) {
    const crop = await photo('val/coffee.png', side, side, 30 + 37 * i, 20 + 11 * i);
    hr.set(crop.rgb, i * side * side * 3);
    lr.set(makeLr(crop.rgb, side, side, s), i * p * p * 3);
  }
  return { lr, hr };
}

function flatten(config: NetworkConfig, weights: ReadonlyMap<string, Float32Array>): Float32Array {
  const layout = flatLayout(config);
  const out = new Float32Array(layout.reduce((a, e) => a + e.size, 0));
  for (const e of layout) out.set(weights.get(e.name)!, e.offset);
  return out;
}

function stepFeeds(
  config: NetworkConfig,
  n: number,
  p: number,
  batch: { lr: Float32Array; hr: Float32Array },
  params: Float32Array,
  extra: Partial<Record<'lr' | 'c1' | 'c2', number>> = {},
): Feeds {
  const P = params.length;
  const s = config.scale;
  return {
    lr: { data: batch.lr, dims: [n, p, p, 3] },
    hr: { data: batch.hr, dims: [n, p * s, p * s, 3] },
    params: { data: params, dims: [P] },
    adam_m: { data: new Float32Array(P), dims: [P] },
    adam_v: { data: new Float32Array(P), dims: [P] },
    learning_rate: { data: Float32Array.of(extra.lr ?? 0), dims: [] },
    bias_correction1: { data: Float32Array.of(extra.c1 ?? 0.1), dims: [] },
    bias_correction2: { data: Float32Array.of(extra.c2 ?? 0.001), dims: [] },
  };
}

const CASES: Case[] = [
  ...ACTIVATION_NAMES.map((a) => ({ config: small(a), loss: 'l1' as const })),
  ...ACTIVATION_NAMES.map((a) => ({ config: small(a), loss: 'charbonnier' as const })),
  ...ACTIVATION_NAMES.map((a) => ({ config: small(a), loss: 'charbonnier' as const, extreme: true })),
  { config: small('tanhexp', 3), loss: 'l1' },
];

test("the whole network's gradients match the float64 reference, layer by layer, for every activation and both losses", {
  skip,
}, async () => {
  const n = 2;
  const p = 6;
  for (const c of CASES) {
    const s = c.config.scale;
    const batch = await photoBatch(n, p, s);
    const weights = caseWeights(c);
    const got = await runModel(
      trainStepModel({
        network: c.config,
        batch: n,
        patch: p,
        loss: c.loss,
        clipNorm: 1,
        emaDecay: 0,
        gradientOutput: true,
      }),
      stepFeeds(c.config, n, p, batch, flatten(c.config, weights)),
    );
    const pre: number[] = [];
    const ref = lossAndGradF64(
      c.config,
      weights,
      toNchw(batch.lr, n, p, p),
      toNchw(batch.hr, n, p * s, p * s),
      n,
      p,
      c.loss,
      pre,
    );
    const what = `${c.config.activation} x${s} ${c.loss}${c.extreme ? ' (activations beyond ±20)' : ''}`;
    if (c.extreme) {
      assert.ok(pre.some((v) => v > 40) && pre.some((v) => v < -100), `${what}: the case does not reach beyond ±20`);
    }
    assert.ok(
      Math.abs(got.loss![0]! - ref.loss) <= 1e-5 * ref.loss,
      `${what}: loss ${got.loss![0]}, reference ${ref.loss}`,
    );
    const grad = got.grad!;
    assert.ok(grad.every(Number.isFinite), `${what}: a gradient is not finite`);
    const bad: string[] = [];
    let sq = 0;
    for (const e of flatLayout(c.config)) {
      const r = ref.grads.get(e.name)!;
      r.forEach((v) => (sq += v * v));
      const err = relErr(grad.subarray(e.offset, e.offset + e.size), r);
      if (err > 1e-4) bad.push(`${e.name}: off by ${err.toExponential(2)} of its largest value`);
    }
    assert.deepEqual(bad, [], `${what}:\n${bad.join('\n')}`);
    assert.ok(
      Math.abs(got.grad_sq_norm![0]! - sq) <= 1e-4 * sq,
      `${what}: squared norm ${got.grad_sq_norm![0]}, reference ${sq}`,
    );
  }
});

test('the float64 reference itself agrees with central differences of its own loss', async () => {
  const n = 2;
  const p = 5;
  for (const act of ACTIVATION_NAMES) {
    const c: Case = { config: small(act), loss: 'charbonnier' };
    const batch = await photoBatch(n, p, 2);
    const weights = caseWeights(c);
    const lr = toNchw(batch.lr, n, p, p);
    const hr = toNchw(batch.hr, n, p * 2, p * 2);
    const { grads } = lossAndGradF64(c.config, weights, lr, hr, n, p, 'charbonnier');
    const h = 1e-6;
    for (const [name, index] of [
      ['head.weight', 7],
      ['body.0.body.0.c1.weight', 20],
      ['body.1.body.1.c2.bias', 1],
      ['body.0.body.2.weight', 100],
      ['up.0.weight', 33],
      ['up.0.bias', 5],
    ] as const) {
      const at = (delta: number) => {
        const w = new Map([...weights].map(([k, v]) => [k, Float64Array.from(v) as unknown as Float32Array]));
        w.get(name)![index]! += delta;
        return lossAndGradF64(c.config, w, lr, hr, n, p, 'charbonnier').loss;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      const analytic = grads.get(name)![index]!;
      assert.ok(
        Math.abs(numeric - analytic) <= 1e-6 * Math.max(1e-3, Math.abs(analytic)) + 1e-9,
        `${act} ${name}[${index}]: reference ${analytic}, central difference ${numeric}`,
      );
    }
  }
});

test("clipping and Adam in the graph: the update equals Adam written out in float64 from the graph's own gradient", {
  skip,
}, async () => {
  const config = small('tanhexp');
  const n = 2;
  const p = 6;
  const batch = await photoBatch(n, p, 2);
  const params = flatten(config, caseWeights({ config, loss: 'l1' }));
  const P = params.length;
  const m = wave(P, 1, 1e-3);
  const v = Float32Array.from(wave(P, 2, 1e-3), (x) => x * x);
  const ema = wave(P, 4, 0.1);
  const [lr, c1, c2, decay, clipNorm] = [3e-3, 1 - 0.9 ** 7, 1 - 0.999 ** 7, 0.99, 0.05];
  const feeds = stepFeeds(config, n, p, batch, params, { lr, c1, c2 });
  feeds.adam_m = { data: m, dims: [P] };
  feeds.adam_v = { data: v, dims: [P] };
  feeds.ema = { data: ema, dims: [P] };
  const got = await runModel(
    trainStepModel({
      network: config,
      batch: n,
      patch: p,
      loss: 'l1',
      clipNorm,
      emaDecay: decay,
      gradientOutput: true,
    }),
    feeds,
  );
  const g = got.grad!;
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  assert.ok(norm > clipNorm, `the case must clip (norm ${norm})`);
  const scale = clipNorm / norm;
  let worst = { p: 0, m: 0, v: 0, e: 0 };
  for (let i = 0; i < P; i++) {
    const gi = g[i]! * scale;
    const m1 = 0.9 * m[i]! + 0.1 * gi;
    const v1 = 0.999 * v[i]! + 0.001 * gi * gi;
    const p1 = params[i]! - (lr * (m1 / c1)) / (Math.sqrt(v1 / c2) + 1e-8);
    const e1 = decay * ema[i]! + (1 - decay) * p1;
    const d = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-3, Math.abs(b));
    worst = {
      p: Math.max(worst.p, d(got.params_out![i]!, p1)),
      m: Math.max(worst.m, d(got.adam_m_out![i]!, m1)),
      v: Math.max(worst.v, d(got.adam_v_out![i]!, v1)),
      e: Math.max(worst.e, d(got.ema_out![i]!, e1)),
    };
  }
  for (const [k, err] of Object.entries(worst)) assert.ok(err < 1e-5, `${k}: off by ${err}`);
});

test("the step graph is plain ONNX: default-domain ops only, opset 17, and every value's shape declared", {
  skip,
}, () => {
  const bytes = trainStepModel({
    network: small('tanhexp'),
    batch: 4,
    patch: 8,
    loss: 'charbonnier',
    clipNorm: 1,
    emaDecay: 0.999,
  });
  const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array);
  const model = readFields(bytes);
  const opsets = model.filter((f) => f.field === 8).map((f) => readFields(f.value as Uint8Array));
  assert.deepEqual(
    opsets.map((o) => [
      text(o.find((f) => f.field === 1)?.value ?? new Uint8Array()),
      Number(o.find((f) => f.field === 2)!.value),
    ]),
    [['', 17]],
  );
  const graph = readFields(model.find((f) => f.field === 7)!.value as Uint8Array);
  const declared = new Set<string>();
  for (const f of graph.filter((x) => x.field === 11 || x.field === 12 || x.field === 13)) {
    const vi = readFields(f.value as Uint8Array);
    declared.add(text(vi.find((x) => x.field === 1)!.value));
    const type = vi.find((x) => x.field === 2);
    assert.ok(type, `value ${text(vi.find((x) => x.field === 1)!.value)} has no type`);
  }
  const initializers = new Set(
    graph
      .filter((f) => f.field === 5)
      .map((f) => text(readFields(f.value as Uint8Array).find((x) => x.field === 8)!.value)),
  );
  const ops = new Set<string>();
  let nodes = 0;
  for (const f of graph.filter((x) => x.field === 1)) {
    const node = readFields(f.value as Uint8Array);
    nodes++;
    const op = text(node.find((x) => x.field === 4)!.value);
    ops.add(op);
    const domain = node.find((x) => x.field === 7);
    assert.ok(!domain || text(domain.value) === '', `${op} is in domain ${domain && text(domain.value)}`);
    for (const out of node.filter((x) => x.field === 2).map((x) => text(x.value)))
      assert.ok(declared.has(out), `${op}'s output ${out} has no declared shape`);
    for (const inp of node.filter((x) => x.field === 1).map((x) => text(x.value))) {
      if (inp)
        assert.ok(
          declared.has(inp) || initializers.has(inp),
          `${op}'s input ${inp} is neither a declared value nor an initializer`,
        );
    }
  }
  assert.ok(nodes > 100, `only ${nodes} nodes`);
  for (const op of ['Conv', 'Gemm', 'ReduceSum', 'Sqrt']) assert.ok(ops.has(op), `no ${op} in the graph`);
});
