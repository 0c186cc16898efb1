import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_NAMES, ACTIVATIONS } from '../../ml/activations.ts';
import { UserError } from '../../ml/errors.ts';
import {
  Network,
  PRESET_NAMES,
  SCALES,
  convSpecs,
  hwioToOihw,
  initialWeights,
  oihwToHwio,
  parameterCount,
  parseNetworkConfig,
  pixelShuffle,
  presetConfig,
  tapNames,
  type NetworkConfig,
} from '../../ml/network.ts';
import { conv3x3 } from '../../ml/conv.ts';
import { Rng } from '../../ml/random.ts';
import { useBackend } from '../helpers/backends.ts';
import { photo } from '../helpers/photos.ts';

/** The network's shapes, sizes, layout helpers, gradient flow and lifetime, on the cpu backend. */

function randomImage(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next()),
    shape,
  );
}

before(async () => {
  await useBackend('cpu');
});

describe('shapes and sizes', () => {
  for (const preset of PRESET_NAMES) {
    for (const scale of SCALES) {
      test(`${preset} x${scale}: [n, h, w, 3] → [n, h·${scale}, w·${scale}, 3]`, () => {
        const config = presetConfig(preset, scale, 'tanhexp');
        const net = Network.create(config, 1);
        const x = randomImage([2, 6, 5, 3], 2);
        const y = net.forward(x);
        assert.deepEqual(y.shape, [2, 6 * scale, 5 * scale, 3]);
        // parameterCount(config) is what the network really holds.
        assert.equal(net.parameterCount, parameterCount(config));
        let total = 0;
        for (const v of net.params.values()) total += v.size;
        assert.equal(total, parameterCount(config));
        tf.dispose([x, y]);
        net.dispose();
      });
    }
  }

  test('parameter counts: standard x2 is the PyTorch reference, light and tiny stay small', () => {
    assert.equal(parameterCount(presetConfig('standard', 2, 'tanhexp')), 1_375_052);
    for (const scale of SCALES) {
      const light = parameterCount(presetConfig('light', scale, 'swish'));
      const tiny = parameterCount(presetConfig('tiny', scale, 'swish'));
      assert.ok(light <= 300_000, `light x${scale} has ${light} parameters`);
      assert.ok(tiny <= 30_000, `tiny x${scale} has ${tiny} parameters`);
    }
  });
});

test('pixelShuffle uses PyTorch channel order', async () => {
  for (const r of [2, 3]) {
    const [n, h, w, c] = [2, 3, 4, 3];
    const cin = c * r * r;
    const input = Float32Array.from({ length: n * h * w * cin }, (_, i) => i);
    const x = tf.tensor4d(input, [n, h, w, cin]);
    const y = pixelShuffle(x, r);
    assert.deepEqual(y.shape, [n, h * r, w * r, c]);
    const out = await y.data();
    for (let b = 0; b < n; b++)
      for (let yy = 0; yy < h; yy++)
        for (let xx = 0; xx < w; xx++)
          for (let ch = 0; ch < c; ch++)
            for (let i = 0; i < r; i++)
              for (let j = 0; j < r; j++) {
                // out[n, h·r + i, w·r + j, c] = in[n, h, w, c·r² + i·r + j]
                const o = ((b * h * r + yy * r + i) * w * r + xx * r + j) * c + ch;
                const k = ((b * h + yy) * w + xx) * cin + ch * r * r + i * r + j;
                assert.equal(out[o], input[k], `r=${r} out[${b},${yy * r + i},${xx * r + j},${ch}]`);
              }
    tf.dispose([x, y]);
  }
});

describe('gradient flow', () => {
  for (const [activation, scale] of [
    ...ACTIVATION_NAMES.map((a) => [a, 2] as const),
    ['tanhexp', 3] as const,
    ['tanhexp', 4] as const,
  ]) {
    test(`tiny x${scale} ${activation}: every parameter gets a finite, non-zero gradient`, async () => {
      const config = presetConfig('tiny', scale, activation);
      const net = Network.create(config, 5);
      const x = randomImage([1, 6, 6, 3], 6);
      const target = randomImage([1, 6 * scale, 6 * scale, 3], 7);
      const tensorsBefore = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(net.forward(x), target))) as tf.Scalar);
      assert.ok(Number.isFinite((await value.data())[0]!));
      assert.equal(Object.keys(grads).length, net.params.size);
      for (const [name, v] of net.params) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${name}`);
        assert.deepEqual(g.shape, v.shape, name);
        const d = await g.data();
        assert.ok(d.every(Number.isFinite), `${name} has a non-finite gradient`);
        assert.ok(
          d.some((e) => e !== 0),
          `${name}'s gradient is all zero`,
        );
      }
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'variableGrads leaked tensors');
      tf.dispose([x, target]);
      net.dispose();
    });
  }
});

describe('initial weights', () => {
  const config = presetConfig('tiny', 3, 'mish');

  test('are deterministic for a seed and differ between seeds', () => {
    const a = initialWeights(config, 11);
    const b = initialWeights(config, 11);
    const c = initialWeights(config, 12);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, w] of a) assert.deepEqual(b.get(name), w, name);
    assert.notDeepEqual(c.get('head.weight'), a.get('head.weight'));
    assert.notDeepEqual(c.get('up.0.weight'), a.get('up.0.weight'));
  });

  test('have one OIHW array per parameter, of the right size', () => {
    const w = initialWeights(config, 1);
    for (const s of convSpecs(config)) {
      assert.equal(w.get(`${s.name}.weight`)?.length, s.cout * s.cin * 9, s.name);
      assert.equal(w.get(`${s.name}.bias`)?.length, s.cout, s.name);
    }
    assert.equal(w.size, convSpecs(config).length * 2);
  });
});

test('oihwToHwio and hwioToOihw are inverses and move [o,i,kh,kw] to [kh,kw,i,o]', () => {
  const [cout, cin] = [5, 3];
  const rng = new Rng(4);
  const oihw = Float32Array.from({ length: cout * cin * 9 }, () => rng.normal());
  const hwio = oihwToHwio(oihw, cout, cin);
  assert.deepEqual(hwioToOihw(hwio, cout, cin), oihw);
  assert.deepEqual(oihwToHwio(hwioToOihw(hwio, cout, cin), cout, cin), hwio);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let kh = 0; kh < 3; kh++)
        for (let kw = 0; kw < 3; kw++)
          assert.equal(hwio[((kh * 3 + kw) * cin + i) * cout + o], oihw[((o * cin + i) * 3 + kh) * 3 + kw]);
});

test('a Network frees every tensor it made, and its forward keeps only the output', () => {
  const tensorsBefore = tf.memory().numTensors;
  const config = presetConfig('tiny', 2, 'swish');
  const net = Network.create(config, 3);
  assert.equal(tf.memory().numTensors, tensorsBefore + convSpecs(config).length * 2);
  const x = randomImage([1, 8, 8, 3], 1);
  const afterInput = tf.memory().numTensors;
  const y = net.forward(x);
  assert.equal(tf.memory().numTensors, afterInput + 1);
  tf.dispose([x, y]);
  net.dispose();
  net.dispose(); // twice is harmless
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.throws(() => net.forward(x), /disposed/);
});

test('forward with taps: each tapped map equals that layer computed step by step, the output is unchanged, and only the taps are kept', async () => {
  // Two groups of two blocks, so group skips and block skips both sit between the taps.
  const config: NetworkConfig = { ...presetConfig('tiny', 2, 'tanhexp'), groups: 2, blocks: 2 };
  const init = initialWeights(config, 5);
  // Larger than the initial weights, so every block changes the maps visibly.
  for (const [k, v] of init)
    v.forEach((w, i) => (v[i] = k.endsWith('.bias') ? 0.02 * Math.sin(i) : k === 'head.weight' ? w : 4 * w));
  const net = new Network(config, init);
  const img = await photo('val/coffee.png', 24, 20, 300, 200);
  const x = tf.tensor4d(img.rgb, [1, 20, 24, 3]);
  const plain = net.forward(x);
  const before = tf.memory().numTensors;
  const taps = new Map<string, tf.Tensor4D>();
  const tapped = net.forward(x, { taps });
  assert.deepEqual([...taps.keys()], tapNames(config));
  assert.equal(tf.memory().numTensors, before + 1 + taps.size, 'the output and the taps, nothing else');
  assert.deepEqual(await tapped.data(), await plain.data(), 'tapping changes nothing');

  // The same layers, one at a time, from the parameters.
  const p = (n: string) => net.params.get(n) as tf.Tensor;
  const conv = (t: tf.Tensor4D, n: string) =>
    conv3x3(t, p(`${n}.weight`) as tf.Tensor4D, p(`${n}.bias`) as tf.Tensor1D);
  const act = ACTIVATIONS[config.activation];
  const expected = new Map<string, tf.Tensor4D>();
  tf.tidy(() => {
    const head = conv(x, 'head');
    expected.set('head', tf.keep(head));
    let group = head;
    for (let g = 0; g < config.groups; g++) {
      let y = group;
      for (let b = 0; b < config.blocks; b++) {
        const a = act(conv(y, `body.${g}.body.${b}.c1`)) as tf.Tensor4D;
        expected.set(`body.${g}.body.${b}.act`, tf.keep(a));
        y = tf.add(y, conv(a, `body.${g}.body.${b}.c2`));
      }
      group = tf.add(group, conv(y, `body.${g}.body.${config.blocks}`));
    }
  });
  for (const [name, t] of taps) {
    const want = (await expected.get(name)!.data()) as Float32Array;
    const got = (await t.data()) as Float32Array;
    assert.deepEqual(t.shape, [1, 20, 24, config.features], name);
    let worst = 0;
    for (let i = 0; i < want.length; i++)
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1e-3 + Math.abs(want[i]!)));
    assert.ok(worst < 1e-5, `${name}: worst relative difference ${worst}`);
  }
  // The maps differ from layer to layer, so a tap of the wrong layer would not pass.
  const first = (await taps.get('body.0.body.0.act')!.data()) as Float32Array;
  const last = (await taps.get('body.1.body.1.act')!.data()) as Float32Array;
  assert.ok(first.some((v, i) => Math.abs(v - last[i]!) > 1e-3));
  tf.dispose([...taps.values(), ...expected.values(), tapped, plain, x]);
  net.dispose();
});

describe('parseNetworkConfig', () => {
  const good: NetworkConfig = presetConfig('light', 3, 'relu');

  test('accepts a valid config and keeps only its fields', () => {
    assert.deepEqual(parseNetworkConfig({ ...good, extra: 1 }), good);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['scale 5', { ...good, scale: 5 }, /scale 5/],
    ['features 0', { ...good, features: 0 }, /feature count 0/],
    ['fractional blocks', { ...good, blocks: 2.5 }, /block count 2\.5/],
    ['unknown activation', { ...good, activation: 'gelu' }, /activation "gelu"/],
    ['null', null, /scale/],
    ['a string', 'standard', /scale/],
    ['a number', 2, /scale/],
  ];
  for (const [what, value, message] of bad) {
    test(`rejects ${what} with a UserError`, () => {
      assert.throws(
        () => parseNetworkConfig(value),
        (e: unknown) => {
          assert.ok(e instanceof UserError, `not a UserError: ${String(e)}`);
          assert.equal(e.code, 'bad-argument');
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
