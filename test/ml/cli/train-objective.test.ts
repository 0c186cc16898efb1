/**
 * `sr-studio train --objective perceptual`: the real CLI in a child process on the tiny photos. A
 * perceptual run trains on ONNX Runtime (auto picks it), records its objective, its loss parts,
 * the detail measure and its discriminator, and continues with --resume; a tfjs backend, an
 * unknown objective, --adv-weight without the objective, and a continue with another objective
 * are each refused in one line, before anything is written. auto continues a perceptual run on
 * ONNX Runtime from its recorded objective, even where a GPU backend is there to pick.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chooseBackend, type BackendProbe } from '../../../ml/backend-choice.ts';
import { trainBackendChoice } from '../../../ml/cli/train.ts';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import { RunFolder } from '../../../ml/node/run-folder.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { decodeCheckpoint } from '../../../ml/train/checkpoint.ts';
import { assertNoStack, assertOneError, jsonLines, runCli, show } from '../../helpers/cli.ts';

const TINY = path.resolve(import.meta.dirname, '../../../photos/tiny');
const probe = await probeOnnxRuntime();
const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;

let dir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir: tmp('models') });
const SMALL = ['--data', TINY, '--batch', '4', '--patch', '12', '--scale', '2'];
const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-objective-'));
  await fs.mkdir(tmp('models'));
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio train --objective', () => {
  test('--help names the objectives, the adversarial weight and the usual start from a pixel-trained model', async () => {
    const r = await cli(['train', '--help']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /--objective NAME\s+pixel\|perceptual \(default pixel\)/);
    assert.match(r.stdout, /--adv-weight X[\s\S]*default 0\.1/);
    assert.match(r.stdout, /--init tanhexp_photo_x4/);
  });

  describe('refused in one line, with no run folder made', { concurrency: 3 }, () => {
    test('on a tfjs backend: it names the backend and --backend onnx', async () => {
      const r = await cli(['train', ...SMALL, '--objective', 'perceptual', '--backend', 'wasm', '--out', tmp('wasm')]);
      assertOneError(r, /The perceptual objective trains on ONNX Runtime only, not on wasm; pass --backend onnx\./);
      assert.equal(await exists(tmp('wasm')), false);
    });

    test('an unknown objective', async () => {
      const r = await cli(['train', ...SMALL, '--objective', 'gan', '--out', tmp('gan')]);
      assertOneError(r, /--objective must be one of pixel, perceptual, not "gan"/);
      assert.equal(await exists(tmp('gan')), false);
    });

    test('--adv-weight without --objective perceptual, or out of range', async () => {
      const r = await cli(['train', ...SMALL, '--adv-weight', '0.2', '--out', tmp('adv')]);
      assertOneError(r, /--adv-weight weighs the adversarial loss of a perceptual run; add --objective perceptual/);
      const r2 = await cli(['train', ...SMALL, '--objective', 'perceptual', '--adv-weight', '50', '--out', tmp('adv')]);
      assertOneError(r2, /--adv-weight must be a weight from 0\.001 to 10, not "50"/);
      assert.equal(await exists(tmp('adv')), false);
    });
  });

  test('a perceptual run on auto trains on ONNX Runtime, records its objective, loss parts, detail and discriminator, and --resume continues it (with no other objective)', {
    skip,
  }, async () => {
    const run = tmp('perceptual');
    const r = await cli([
      'train',
      ...SMALL,
      '--objective',
      'perceptual',
      '--iters',
      '4',
      '--val-every',
      '2',
      '--out',
      run,
      '--json',
    ]);
    assert.equal(r.code, 0, show(r));
    assertNoStack(r);
    const lines = jsonLines(r);
    assert.equal(lines.find((l) => l.type === 'backend')?.backend, 'onnx');
    const config = JSON.parse(await fs.readFile(path.join(run, 'config.json'), 'utf8'));
    assert.equal(config.objective, 'perceptual');
    assert.equal(config.advWeight, 0.1);
    assert.equal(config.lr, 1e-4);
    const progress = lines.filter((l) => l.type === 'progress');
    assert.equal(progress.length, 4);
    for (const p of progress) {
      const parts = p.parts as { pixel: number; adversarial: number; discriminator: number };
      assert.ok(parts.pixel > 0 && parts.adversarial > 0 && parts.discriminator > 0, JSON.stringify(p));
    }
    const vals = lines.filter((l) => l.type === 'validation');
    assert.equal(vals.length, 2);
    for (const v of vals) assert.ok((v.detail as number) > 0.2 && (v.bicubicDetail as number) > 0.2, JSON.stringify(v));
    // The model is the latest validation's weights.
    const best = lines.find((l) => l.type === 'end')?.best as { iteration: number; detail: number };
    assert.equal(best.iteration, 4);
    assert.equal(best.detail, vals[1]!.detail);
    const ckpt = decodeCheckpoint(await fs.readFile(path.join(run, 'checkpoints', 'ckpt_0000004.safetensors')), 'ckpt');
    assert.equal(ckpt.discriminator?.adam.step, 4);

    const other = await cli(['train', '--resume', run, '--iters', '6', '--objective', 'pixel']);
    assertOneError(other, /was trained with the perceptual objective; continue it as it was started/);
    const resumed = await cli(['train', '--resume', run, '--iters', '6', '--json']);
    assert.equal(resumed.code, 0, show(resumed));
    assert.deepEqual(
      jsonLines(resumed)
        .filter((l) => l.type === 'progress')
        .map((l) => l.iteration),
      [5, 6],
    );
    const last = decodeCheckpoint(await fs.readFile(path.join(run, 'checkpoints', 'ckpt_0000006.safetensors')), 'ckpt');
    assert.equal(last.discriminator?.adam.step, 6);
  });
});

describe('the backend a training runs on (trainBackendChoice)', () => {
  // A machine with a hardware GPU: auto trains on tensorflow unless the objective needs ONNX Runtime.
  const probes: BackendProbe[] = [
    { name: 'tensorflow', available: true, gpu: true, canTrain: true, device: 'a GPU' },
    { name: 'webgpu', available: false, gpu: false, canTrain: false, reason: 'no adapter' },
    { name: 'onnx', available: true, gpu: false, canTrain: true, device: 'CPU' },
    { name: 'wasm', available: true, gpu: false, canTrain: true },
    { name: 'cpu', available: true, gpu: false, canTrain: true },
  ];
  const picked = async (...a: Parameters<typeof trainBackendChoice>) =>
    chooseBackend(await trainBackendChoice(...a), 'train', probes).name;
  const run = async (name: string, objective: 'pixel' | 'perceptual') => {
    const at = tmp('recorded', name);
    await fs.mkdir(path.dirname(at), { recursive: true });
    const config = makeTrainConfig({ preset: 'tiny', scale: 2, patch: 12, batch: 4, iterations: 4, objective });
    await RunFolder.create(at, config.keepCheckpoints, config);
    return at;
  };

  test('a continued perceptual run on auto trains on ONNX Runtime, from its config.json alone', async () => {
    assert.equal(await picked('auto', undefined, await run('perceptual', 'perceptual')), 'onnx');
  });

  test('a continued pixel run, a new run and a folder that is no run keep auto, which picks the GPU', async () => {
    assert.equal(await picked('auto', undefined, await run('pixel', 'pixel')), 'tensorflow');
    assert.equal(await picked('auto', undefined, undefined), 'tensorflow');
    assert.equal(await picked('auto', undefined, tmp('no-such-run')), 'tensorflow');
  });

  test('an objective given decides as train --objective does; a named backend stays as named', async () => {
    assert.equal(await picked('auto', 'perceptual', undefined), 'onnx');
    assert.equal(await picked('auto', 'pixel', undefined), 'tensorflow');
    assert.equal(await picked('tensorflow', undefined, await run('named', 'perceptual')), 'tensorflow');
  });
});
