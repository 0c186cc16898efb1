/**
 * End-to-end tests of `sr-studio export`: the real CLI in a child process; the file it writes is
 * loaded by ONNX Runtime and run on a real photo at two sizes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { assertOneError, jsonLines, runCli, show } from '../../helpers/cli.ts';
import { DATA } from '../../helpers/photos.ts';

const ort = await import('onnxruntime-node').catch(() => undefined);
const skip = !ort && !process.env.CI ? 'onnxruntime-node is not installed' : false;

let dir = '';
let modelsDir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir });

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-export-'));
  modelsDir = tmp('user-models');
  await fs.mkdir(modelsDir);
  const r = await cli([
    'new-model',
    '-o',
    'light_x3.safetensors',
    '--preset',
    'light',
    '--scale',
    '3',
    '--act',
    'mish',
    '--seed',
    '2',
  ]);
  assert.equal(r.code, 0, show(r));
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('export writes NAME.onnx in the current folder, and ONNX Runtime runs it at any size', { skip }, async () => {
  const r = await cli(['export', 'light_x3.safetensors', '--format', 'onnx', '--json']);
  assert.equal(r.code, 0, show(r));
  const [event] = jsonLines(r);
  assert.equal(event!.type, 'exported');
  assert.equal(event!.path, tmp('light_x3.onnx'));
  assert.equal(event!.opset, 17);
  const session = await ort!.InferenceSession.create(tmp('light_x3.onnx'));
  try {
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['output']);
    for (const [w, h] of [
      [40, 28],
      [23, 31],
    ] as const) {
      const raw = await sharp(path.join(DATA, 'val/coffee.png'))
        .removeAlpha()
        .extract({ left: 100, top: 50, width: w, height: h })
        .raw()
        .toBuffer();
      const chw = new Float32Array(3 * w * h);
      for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) chw[c * w * h + i] = raw[i * 3 + c]! / 255;
      const { output } = await session.run({ input: new ort!.Tensor('float32', chw, [1, 3, h, w]) });
      assert.deepEqual(output!.dims, [1, 3, h * 3, w * 3]);
      // An untrained network is close to its bilinear skip: the mean output tracks the input's.
      const y = output!.data as Float32Array;
      const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
      assert.ok(Math.abs(mean(y) - mean(chw)) < 0.02, `mean ${mean(y)} vs input ${mean(chw)}`);
    }
  } finally {
    await session.release();
  }
});

test('export refuses to overwrite unless asked, and -o names the file', async () => {
  await fs.writeFile(tmp('taken.onnx'), 'keep me');
  const r = await cli(['export', 'light_x3.safetensors', '--format', 'onnx', '-o', 'taken.onnx']);
  assertOneError(r, 'taken.onnx', 1);
  assert.equal(await fs.readFile(tmp('taken.onnx'), 'utf8'), 'keep me');
  const again = await cli(['export', 'light_x3.safetensors', '--format', 'onnx', '-o', 'taken.onnx', '--overwrite']);
  assert.equal(again.code, 0, show(again));
  assert.ok((await fs.stat(tmp('taken.onnx'))).size > 1_000_000);
  assert.deepEqual(
    (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp')),
    [],
    'no temp file is left',
  );
});

test('export: bad requests are one sentence each', async () => {
  await fs.writeFile(tmp('junk.safetensors'), 'not weights at all');
  assertOneError(await cli(['export', 'light_x3.safetensors']), '--format onnx', 2);
  assertOneError(
    await cli(['export', 'light_x3.safetensors', '--format', 'tflite']),
    '--format must be one of onnx',
    2,
  );
  assertOneError(await cli(['export', '--format', 'onnx']), 'needs one weights file', 2);
  assertOneError(await cli(['export', 'light_x3.safetensors', '--format', 'onnx', '-o', 'model.txt']), 'model.txt', 2);
  assertOneError(await cli(['export', 'junk.safetensors', '--format', 'onnx']), 'junk.safetensors', 1);
  assertOneError(await cli(['export', 'missing.safetensors', '--format', 'onnx']), 'missing.safetensors', 1);
  assert.equal(await fs.stat(tmp('junk.onnx')).catch(() => null), null, 'nothing is written for a bad input');
});
