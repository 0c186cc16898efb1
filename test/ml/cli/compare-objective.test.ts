/**
 * `sr-studio compare --objective perceptual`: the real CLI in a child process on the tiny photos. A
 * perceptual comparison on auto trains every activation on ONNX Runtime with the objective and the
 * weight given, and its printed report shows each activation's detail beside PSNR; --adv-weight
 * without the objective, and a tfjs backend, are refused in one line before anything is written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import { assertNoStack, assertOneError, runCli, show } from '../../helpers/cli.ts';

const PHOTOS = path.resolve(import.meta.dirname, '../../../photos');
const probe = await probeOnnxRuntime();
const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;

let dir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir: tmp('models') });
const SMALL = [
  '--data',
  path.join(PHOTOS, 'tiny'),
  '--val',
  path.join(PHOTOS, 'val'),
  '--val-max-side',
  '48',
  '--preset',
  'tiny',
  '--scale',
  '2',
  '--batch',
  '4',
  '--patch',
  '12',
  '--acts',
  'swish,tanhexp',
];
const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-compare-objective-'));
  await fs.mkdir(tmp('models'));
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio compare --objective', () => {
  test('--help names the objectives and the adversarial weight as train does', async () => {
    const r = await cli(['compare', '--help']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /--objective NAME\s+pixel\|perceptual \(default pixel\)/);
    assert.match(r.stdout, /--adv-weight X\s+weight of the adversarial loss beside the pixel loss's 1, 0\.001 to 10/);
  });

  describe('refused in one line, with no comparison folder made', { concurrency: 2 }, () => {
    test('--adv-weight without --objective perceptual', async () => {
      const r = await cli(['compare', ...SMALL, '--iters', '4', '--adv-weight', '0.2', '--out', tmp('adv')]);
      assertOneError(
        r,
        /--adv-weight weighs the adversarial loss of a perceptual run; add --objective perceptual\./,
        2,
      );
      assert.equal(await exists(tmp('adv')), false);
    });

    test('a perceptual comparison on a tfjs backend', async () => {
      const r = await cli([
        'compare',
        ...SMALL,
        '--iters',
        '4',
        '--objective',
        'perceptual',
        '--backend',
        'wasm',
        '--out',
        tmp('wasm'),
      ]);
      assertOneError(r, /The perceptual objective trains on ONNX Runtime only, not on wasm; pass --backend onnx\./);
      assert.equal(await exists(tmp('wasm')), false);
    });
  });

  test('a perceptual comparison on auto trains on ONNX Runtime, with the weight given, and reports detail beside PSNR', {
    skip,
  }, async () => {
    const out = tmp('perceptual');
    const r = await cli([
      'compare',
      ...SMALL,
      '--iters',
      '4',
      '--objective',
      'perceptual',
      '--adv-weight',
      '0.2',
      '--backend',
      'auto',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, show(r));
    assertNoStack(r);
    // The text goes to stderr (stdout is left for --json).
    const text = r.stderr;
    assert.match(text, /^Backend: onnx .*\(auto: perceptual training runs on ONNX Runtime\)$/m, show(r));
    for (const act of ['swish', 'tanhexp']) {
      const config = JSON.parse(await fs.readFile(path.join(out, 'seed_0', act, 'config.json'), 'utf8'));
      assert.equal(config.objective, 'perceptual');
      assert.equal(config.advWeight, 0.2);
    }
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8'));
    assert.match(report.fairness, /trained perceptually \(adversarial weight 0\.2/);
    // The printed table has a detail column, each row the report's own figure in it.
    assert.match(text, /^\| activation \| PSNR-Y \(dB\) \| SSIM-Y \| detail \| ms \/ iteration \|$/m, show(r));
    const rows = new Map(
      text
        .split('\n')
        .filter((l) => /^\| (bicubic|swish|tanhexp) \|/.test(l))
        .map((l) => {
          const cells = l.split('|').map((c) => c.trim());
          return [cells[1]!, cells] as const;
        }),
    );
    assert.equal(rows.get('bicubic')?.[4], report.bicubic.detail.toFixed(3), show(r));
    for (const act of ['swish', 'tanhexp']) {
      const detail = report.perAct[act].detail;
      assert.equal(detail.n, 1);
      assert.ok(detail.mean > 0.2, JSON.stringify(detail));
      assert.equal(rows.get(act)?.[4], detail.mean.toFixed(3), show(r));
    }
    const d = report.paired.detail.mean;
    assert.match(text, new RegExp(`, detail ${d >= 0 ? '\\+' : '-'}${Math.abs(d).toFixed(3)};`), show(r));
  });
});
