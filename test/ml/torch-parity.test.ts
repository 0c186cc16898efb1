import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationName } from '../../ml/activations.ts';
import {
  Network,
  convSpecs,
  initialWeights,
  presetConfig,
  type NetworkConfig,
  type PresetName,
  type Scale,
} from '../../ml/network.ts';
import { Rng } from '../../ml/random.ts';
import { encodeSafeTensors, decodeSafeTensors } from '../../ml/safetensors.ts';
import { encodeModel } from '../../ml/weights.ts';
import { useBackend } from '../helpers/backends.ts';

/**
 * PyTorch parity without torch: the tfjs network (cpu backend) against a float64 numpy twin of
 * reference/torch_ref.py's RIR (test/fixtures/rir_numpy.py), on a real photo crop, with the
 * weights passed through an SR Studio weights file that the twin loads as load_state_dict(strict=True)
 * would. scripts/torch-parity.py runs the same check against real PyTorch; set
 * SR_TORCH_PARITY_DIR=DIR to write its inputs (a standard x2 file, in.npy, out.npy) to DIR
 * (SR_TORCH_PARITY_ACTIVATION picks the activation, tanhexp by default).
 */

const TWIN = path.resolve(import.meta.dirname, '../fixtures/rir_numpy.py');
const PHOTO = path.resolve(import.meta.dirname, '../../photos/val/coffee.png');
const TOLERANCE = 1e-4;

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** A .npy (format 1.0) of little-endian float32 in C order. */
function toNpy(data: Float32Array, shape: readonly number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // magic + header length to a multiple of 64
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    pre,
    Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/** Reads a little-endian float32/float64 C-order .npy. */
function fromNpy(buf: Buffer): { shape: number[]; data: Float64Array } {
  assert.equal(buf.toString('latin1', 0, 6), '\x93NUMPY');
  const major = buf.readUInt8(6);
  const len = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + len);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  assert.match(header, /'fortran_order':\s*False/);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = buf.subarray(start + len);
  const copy = new Uint8Array(body).buffer; // aligned
  if (descr === '<f8') return { shape, data: new Float64Array(copy) };
  if (descr === '<f4') return { shape, data: Float64Array.from(new Float32Array(copy)) };
  throw new Error(`unexpected dtype ${descr}`);
}

const nhwcToNchw = (x: ArrayLike<number>, h: number, w: number) => {
  const out = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++) for (let c = 0; c < 3; c++) out[(c * h + y) * w + xx] = x[(y * w + xx) * 3 + c]!;
  return out;
};

/** A width×height crop of a real photo, RGB in [0, 1], NHWC. */
async function photoCrop(left: number, top: number, width: number, height: number): Promise<tf.Tensor4D> {
  const raw = await sharp(PHOTO).extract({ left, top, width, height }).removeAlpha().raw().toBuffer();
  assert.equal(raw.length, width * height * 3);
  return tf.tensor4d(
    Float32Array.from(raw, (v) => v / 255),
    [1, height, width, 3],
  );
}

/**
 * Weights where every part of the network matters: the seeded Kaiming init, with the down-scaled
 * convs (residual branches at 0.1, the upsampler at 0.01) brought to half Kaiming scale, and random biases.
 */
function parityWeights(config: NetworkConfig, seed: number, target = 0.5): Map<string, Float32Array> {
  const w = initialWeights(config, seed);
  const rng = new Rng(seed + 1000);
  for (const s of convSpecs(config)) {
    if (s.init < 1) w.get(`${s.name}.weight`)!.forEach((v, i, a) => (a[i] = (v * target) / s.init));
    w.get(`${s.name}.bias`)!.forEach((_, i, a) => (a[i] = rng.normal() * 0.05));
  }
  return w;
}

interface TwinRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly outputs: Array<{ shape: number[]; data: Float64Array }>;
}

/** Runs the numpy twin once over several (weights file, input .npy) jobs; numpy's import is the slow part. */
function runTwin(jobs: ReadonlyArray<{ weights: string; input: string }>): TwinRun {
  const outs = jobs.map((_, i) => path.join(dir, `twin-out-${i}.npy`));
  for (const o of outs) fs.rmSync(o, { force: true });
  const args = jobs.flatMap((j, i) => ['--weights', j.weights, '--input', j.input, '--output', outs[i]!]);
  const r = spawnSync('python3', [TWIN, ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return {
    status: r.status,
    stderr: r.stderr,
    outputs: r.status === 0 ? outs.map((o) => fromNpy(fs.readFileSync(o))) : [],
  };
}

const CASES: Array<[PresetName, Scale, ActivationName]> = [
  ['light', 2, 'swish'],
  ['light', 2, 'tanhexp'],
  ['light', 2, 'mish'],
  ['light', 2, 'relu'],
  ['light', 3, 'tanhexp'],
  ['light', 3, 'swish'],
  ['tiny', 4, 'tanhexp'],
];
const [CROP_W, CROP_H] = [24, 20];

let dir = '';
/** Per case: the tfjs output and the bilinear skip (NHWC), then the twin's output (NCHW). */
const ours: Array<{ y: Float32Array; bilinear: Float32Array }> = [];
let twin: TwinRun | undefined;

before(async () => {
  if (!hasNumpy) return;
  await useBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-parity-'));
  const x = await photoCrop(300, 120, CROP_W, CROP_H);
  const input = path.join(dir, 'in.npy');
  fs.writeFileSync(input, toNpy(nhwcToNchw(await x.data(), CROP_H, CROP_W), [1, 3, CROP_H, CROP_W]));
  const jobs = [];
  for (const [i, [preset, scale, activation]] of CASES.entries()) {
    const config = presetConfig(preset, scale, activation);
    const net = new Network(config, parityWeights(config, 3));
    const [y, skip] = tf.tidy(() => [
      net.forward(x),
      tf.image.resizeBilinear(x, [CROP_H * scale, CROP_W * scale], false, true),
    ]);
    ours.push({ y: (await y!.data()) as Float32Array, bilinear: (await skip!.data()) as Float32Array });
    const weights = path.join(dir, `m-${i}.safetensors`);
    fs.writeFileSync(weights, encodeModel(config, await net.weights()));
    jobs.push({ weights, input });
    tf.dispose([y!, skip!]);
    net.dispose();
  }
  x.dispose();
  twin = runTwin(jobs);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('tfjs matches the float64 numpy twin of torch_ref.RIR', () => {
  for (const [i, [preset, scale, activation]] of CASES.entries()) {
    test(`${preset} x${scale} ${activation} on a ${CROP_W}×${CROP_H} crop of coffee.png`, (t) => {
      if (!hasNumpy) return t.skip('numpy not available');
      assert.equal(twin?.status, 0, twin?.stderr ?? 'the numpy twin did not run');
      const { shape, data: theirs } = twin!.outputs[i]!;
      const { y, bilinear } = ours[i]!;
      const [H, W] = [CROP_H * scale, CROP_W * scale];
      assert.deepEqual(shape, [1, 3, H, W]);
      let maxDiff = 0;
      let bodyEffect = 0;
      for (let yy = 0; yy < H; yy++)
        for (let xx = 0; xx < W; xx++)
          for (let c = 0; c < 3; c++) {
            const k = (yy * W + xx) * 3 + c;
            maxDiff = Math.max(maxDiff, Math.abs(y[k]! - theirs[(c * H + yy) * W + xx]!));
            bodyEffect = Math.max(bodyEffect, Math.abs(y[k]! - bilinear[k]!));
          }
      t.diagnostic(
        `max |tfjs − numpy| = ${maxDiff.toExponential(2)}; max |output − bilinear| = ${bodyEffect.toFixed(2)}`,
      );
      assert.ok(bodyEffect > 0.1, `the network adds only ${bodyEffect} to the bilinear skip: the check would be weak`);
      assert.ok(maxDiff <= TOLERANCE, `max |tfjs − numpy| = ${maxDiff}`);
    });
  }

  test('the twin loads strictly, like load_state_dict(strict=True)', (t) => {
    if (!hasNumpy) return t.skip('numpy not available');
    const config = presetConfig('tiny', 2, 'relu');
    const { tensors, metadata } = decodeSafeTensors(encodeModel(config, initialWeights(config, 1)));
    // One file with a missing, an unexpected and a wrongly shaped tensor: torch reports all three.
    const bad = new Map(tensors);
    bad.delete('body.0.body.3.bias');
    bad.set('up.1.weight', { shape: [1], data: new Float32Array(1) });
    bad.set('head.bias', { shape: [8, 2], data: new Float32Array(16) });
    const file = path.join(dir, 'strict.safetensors');
    fs.writeFileSync(file, encodeSafeTensors(bad, metadata));
    const r = runTwin([{ weights: file, input: path.join(dir, 'in.npy') }]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /Missing key\(s\) in state_dict: "body\.0\.body\.3\.bias"\./);
    assert.match(r.stderr, /Unexpected key\(s\) in state_dict: "up\.1\.weight"\./);
    assert.match(r.stderr, /size mismatch for head\.bias/);
  });
});

test('writes the inputs of scripts/torch-parity.py when SR_TORCH_PARITY_DIR is set', async (t) => {
  const out = process.env.SR_TORCH_PARITY_DIR;
  if (!out) return t.skip('SR_TORCH_PARITY_DIR is not set');
  await useBackend('cpu');
  fs.mkdirSync(out, { recursive: true });
  const config = presetConfig('standard', 2, (process.env.SR_TORCH_PARITY_ACTIVATION ?? 'tanhexp') as ActivationName);
  // The standard net has 4 groups: a smaller gain keeps its output near the image's range (±13 at ×5),
  // so float32 rounding stays far below the tolerance in PyTorch too.
  const net = new Network(config, parityWeights(config, 3, 2));
  const x = await photoCrop(300, 120, CROP_W, CROP_H);
  const y = net.forward(x);
  const [H, W] = [CROP_H * 2, CROP_W * 2];
  fs.writeFileSync(path.join(out, 'm.safetensors'), encodeModel(config, await net.weights()));
  fs.writeFileSync(path.join(out, 'in.npy'), toNpy(nhwcToNchw(await x.data(), CROP_H, CROP_W), [1, 3, CROP_H, CROP_W]));
  fs.writeFileSync(path.join(out, 'out.npy'), toNpy(nhwcToNchw(await y.data(), H, W), [1, 3, H, W]));
  tf.dispose([x, y]);
  net.dispose();
  t.diagnostic(`wrote ${out}/{m.safetensors,in.npy,out.npy}`);
});
