import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_NAMES, ACTIVATIONS_F64 } from '../../ml/activations.ts';
import type { RgbImage } from '../../ml/image.ts';
import { Network, receptiveRadius, type PresetName, type Scale } from '../../ml/network.ts';
import { activationModel, exportOnnx, ONNX_OPSET } from '../../ml/onnx/export.ts';
import { readFields, type ProtoValue } from '../../ml/onnx/protobuf.ts';
import { OnnxUpscaler, onnxTileSize, probeOnnxRuntime } from '../../ml/node/onnx-runtime.ts';
import { upscaleImage } from '../../ml/tiling.ts';
import { useBackend } from '../helpers/backends.ts';
import { busyWeights, photo } from '../helpers/photos.ts';

const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;
const ort = probe.ok ? await import('onnxruntime-node') : undefined;

before(async () => {
  await useBackend('cpu', 'upscale');
});

/** The engine's own forward pass on a whole image (tfjs cpu backend). */
async function engine(
  config: Network['config'],
  weights: ReadonlyMap<string, Float32Array>,
  img: RgbImage,
): Promise<Float32Array> {
  const net = new Network(config, weights, false);
  const x = tf.tensor4d(img.rgb, [1, img.height, img.width, 3]);
  const y = net.forward(x);
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  net.dispose();
  return out;
}

/** Runs an exported model on an image through ONNX Runtime directly (NCHW in and out). */
async function runOnnx(
  bytes: Uint8Array,
  img: RgbImage,
  scale: number,
): Promise<{ dims: readonly number[]; hwc: Float32Array }> {
  const session = await ort!.InferenceSession.create(bytes);
  const n = img.width * img.height;
  const chw = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) chw[c * n + i] = img.rgb[i * 3 + c]!;
  const { output } = await session.run({ input: new ort!.Tensor('float32', chw, [1, 3, img.height, img.width]) });
  const y = output!.data as Float32Array;
  const m = n * scale * scale;
  const hwc = new Float32Array(m * 3);
  for (let i = 0; i < m; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = y[c * m + i]!;
  const dims = output!.dims;
  await session.release();
  return { dims, hwc };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CASES: Array<{ preset: PresetName; scale: Scale; act: (typeof ACTIVATION_NAMES)[number] }> = [
  ...ACTIVATION_NAMES.map((act) => ({ preset: 'light' as const, scale: 2 as const, act })),
  { preset: 'tiny', scale: 3, act: 'tanhexp' },
  { preset: 'tiny', scale: 4, act: 'swish' },
];

test("the exported ONNX model gives the engine's output within 1e-4 on real photos, at any size", {
  skip,
}, async () => {
  // Two photo crops of different (odd) sizes through one file: height and width are dynamic.
  const crops = [
    await photo('val/coffee.png', 61, 43, 200, 120),
    await photo('tiny/chelsea_96x72.png', 37, 50, 30, 10),
  ];
  for (const c of CASES) {
    const { config, weights } = busyWeights(c.preset, c.scale, c.act, 11, 2.5);
    const bytes = exportOnnx(config, weights);
    for (const img of crops) {
      const ours = await engine(config, weights, img);
      const theirs = await runOnnx(bytes, img, c.scale);
      assert.deepEqual(theirs.dims, [1, 3, img.height * c.scale, img.width * c.scale]);
      const d = maxDiff(ours, theirs.hwc);
      assert.ok(d <= 1e-4, `${c.preset} x${c.scale} ${c.act} ${img.width}×${img.height}: max |onnx − engine| = ${d}`);
      // The comparison has teeth: the residual branches move the output well away from the skip.
      const bilinear = tf.tidy(() =>
        tf.image
          .resizeBilinear(
            tf.tensor4d(img.rgb, [1, img.height, img.width, 3]),
            [img.height * c.scale, img.width * c.scale],
            false,
            true,
          )
          .dataSync(),
      ) as Float32Array;
      assert.ok(maxDiff(ours, bilinear) > 0.05, `${c.act}: the network barely changes the bilinear skip`);
    }
  }
});

const fields = (bytes: Uint8Array, n: number) => readFields(bytes).filter((f) => f.field === n);
const text = (v: ProtoValue) => new TextDecoder().decode(v.value as Uint8Array);
const sub = (v: ProtoValue) => v.value as Uint8Array;

describe('the file is a standard ONNX model: opset 17, NCHW input with dynamic batch, height and width', () => {
  /** A tiny x2 TanhExp model exported, and the parts of its graph the tests read. */
  const exported = () => {
    const { config, weights } = busyWeights('tiny', 2, 'tanhexp', 1);
    const bytes = exportOnnx(config, weights);
    const graph = sub(fields(bytes, 7)[0]!);
    const nodes = fields(graph, 1).map((n) => sub(n));
    return { config, weights, bytes, graph, nodes };
  };
  const dims = (valueInfo: Uint8Array) => {
    const tensorType = readFields(sub(fields(sub(fields(valueInfo, 2)[0]!), 1)[0]!));
    const shape = sub(tensorType.find((f) => f.field === 2)!);
    return fields(shape, 1).map((d) => {
      const f = readFields(sub(d))[0]!;
      return f.field === 1 ? Number(f.value) : text(f);
    });
  };
  const opOf = (n: Uint8Array) => text(fields(n, 4)[0]!);

  test('IR version 8 and opset 17 of the default domain', () => {
    const { bytes } = exported();
    assert.equal(fields(bytes, 1)[0]!.value, 8n); // IR version for opset 17
    const opset = readFields(sub(fields(bytes, 8)[0]!));
    assert.deepEqual(
      opset.map((f) => [f.field, f.field === 1 ? text(f) : f.value]),
      [
        [1, ''],
        [2, BigInt(ONNX_OPSET)],
      ],
    );
  });

  test('the input is NCHW with a dynamic batch, height and width; the output is twice as high and wide', () => {
    const { graph } = exported();
    const input = sub(fields(graph, 11)[0]!);
    assert.equal(text(fields(input, 1)[0]!), 'input');
    assert.deepEqual(dims(input), ['batch', 3, 'height', 'width']);
    assert.deepEqual(dims(sub(fields(graph, 12)[0]!)), ['batch', 3, 'height*2', 'width*2']);
  });

  test('every op is a standard one of the default domain; TanhExp is Exp, Tanh and Mul per block', () => {
    const { config, nodes } = exported();
    // Every op is a standard one of the default domain.
    const ops = new Set(nodes.map(opOf));
    assert.deepEqual([...ops].sort(), ['Add', 'Conv', 'DepthToSpace', 'Exp', 'Mul', 'Resize', 'Tanh']);
    // TanhExp is three ops per activation: Exp, Tanh, Mul.
    const blocks = config.groups * config.blocks;
    for (const op of ['Exp', 'Tanh', 'Mul']) assert.equal(nodes.filter((n) => opOf(n) === op).length, blocks, op);
  });

  test("every intermediate value's shape is declared, the feature maps with the input's symbolic size", () => {
    const { config, graph, nodes } = exported();
    const declared = new Map(fields(graph, 13).map((v) => [text(fields(sub(v), 1)[0]!), dims(sub(v))]));
    const outputs = nodes.map((n) => text(fields(n, 2)[0]!)).filter((o) => o !== 'output');
    assert.deepEqual([...declared.keys()].sort(), [...outputs].sort());
    const exp = nodes.find((n) => opOf(n) === 'Exp')!;
    assert.deepEqual(declared.get(text(fields(exp, 2)[0]!)), ['batch', config.features, 'height', 'width']);
    const d2s = nodes.find((n) => opOf(n) === 'DepthToSpace')!;
    assert.deepEqual(declared.get(text(fields(d2s, 2)[0]!)), ['batch', 3, 'height*2', 'width*2']);
  });

  test('each weight is stored once, with its PyTorch name', () => {
    const { weights, graph } = exported();
    // Each weight is stored once, with its PyTorch name, as raw float32.
    const inits = fields(graph, 5).map((t) => text(fields(sub(t), 8)[0]!));
    assert.equal(inits.length, new Set(inits).size);
    for (const name of weights.keys()) assert.ok(inits.includes(name), `missing initializer ${name}`);
  });

  test('the metadata says what the network is', () => {
    const { config, bytes } = exported();
    const meta = Object.fromEntries(
      fields(bytes, 14).map((e) => {
        const kv = readFields(sub(e));
        return [text(kv[0]!), text(kv[1]!)];
      }),
    );
    assert.deepEqual(JSON.parse(meta['sr-studio.config']!), config);
  });
});

test('ONNX Runtime evaluates each exported activation as the float64 reference does, extreme inputs included', {
  skip,
}, async () => {
  const xs = [
    1e4, -1e4, 100, -100, 89, -89, 88, -88, 21, 20.1, 20, 19.999, 5, 2.3, 1, 0.1, 0, -0.1, -1, -5, -20, -30,
  ].map(Math.fround);
  for (const act of ACTIVATION_NAMES) {
    const session = await ort!.InferenceSession.create(activationModel(act));
    const { output } = await session.run({ input: new ort!.Tensor('float32', Float32Array.from(xs), [xs.length]) });
    const y = output!.data as Float32Array;
    await session.release();
    xs.forEach((x, i) => {
      const want = ACTIVATIONS_F64[act].f(x);
      assert.ok(Number.isFinite(y[i]!), `${act}(${x}) = ${y[i]}`);
      assert.ok(
        Math.abs(y[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)),
        `${act}(${x}) = ${y[i]}, reference ${want}`,
      );
    });
    // TanhExp's identity above 20 holds exactly, without an op of its own.
    if (act === 'tanhexp') for (const [i, x] of xs.entries()) if (x > 20) assert.equal(y[i], x, `tanhexp(${x})`);
  }
});

test("upscaling through ONNX Runtime, tile by tile, equals the engine's whole-image result within 1e-4", {
  skip,
}, async () => {
  const img = await photo('val/coffee.png', 90, 70, 300, 200);
  const { config, weights } = busyWeights('light', 2, 'tanhexp', 4, 2.5);
  const ours = await engine(config, weights, img);
  const upscaler = await OnnxUpscaler.create(config, weights, { threads: 1 });
  try {
    assert.equal(upscaler.receptiveRadius, receptiveRadius(config));
    // Small tiles with the default margin (tiles at the edges and in the middle), and one tile.
    for (const tile of [24, 4096]) {
      const tiled = await upscaleImage(upscaler, img, { tile });
      const clamped = ours.map((v) => Math.min(1, Math.max(0, v)));
      const d = maxDiff(tiled.rgb, clamped);
      assert.ok(d <= 1e-4, `tile ${tile}: max |onnx tiles − engine| = ${d}`);
    }
  } finally {
    await upscaler.dispose();
  }
});

test('tiles for ONNX Runtime hold the same memory whatever the network width, margins included', () => {
  for (const [features, margin] of [
    [16, 16],
    [32, 31],
    [64, 40],
  ] as const) {
    const tile = onnxTileSize(features, margin);
    const floats = (tile + 2 * margin) ** 2 * features;
    assert.ok(
      floats <= 2 ** 23 && floats > 2 ** 23 * 0.75,
      `${features} features: tile ${tile}, ${floats} floats per map`,
    );
  }
  assert.equal(onnxTileSize(512, 40), 128, 'never below 128 pixels');
});
