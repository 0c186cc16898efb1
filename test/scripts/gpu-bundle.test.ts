import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildGpuBundle } from '../../scripts/gpu-bundle.ts';
import { availableBackends } from '../helpers/backends.ts';

/**
 * The GPU bundle runs without the project's node_modules: built (without Node.js and the Vulkan
 * debs) into a temporary folder, unpacked as run.sh unpacks it, and run from there on this machine's
 * webgpu adapter, with the PyTorch figures measured on the H100 standing in for torch_ref.py's output.
 */
const REFERENCE = path.resolve(import.meta.dirname, '../../reference');
const webgpu = (await availableBackends('train')).includes('webgpu');
const hasXz = spawnSync('xz', ['--version'], { stdio: 'ignore' }).status === 0;

test('the GPU bundle runs the training benchmark on its own and prints the ratios to PyTorch', {
  skip: !webgpu ? 'no webgpu backend here' : !hasXz ? 'xz is not installed' : false,
}, async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'sr-gpu-bundle-'));
  try {
    await buildGpuBundle({ out, system: false, torchRef: path.join(REFERENCE, 'torch_ref.py') });
    for (const f of [
      'bench.mjs',
      'gpu-probe-child.mjs',
      'run.sh',
      'torch_ref.py',
      'generated/tfjs-gradients.cjs',
      'node_modules/webgpu/dist/linux-x64/dawn.node.xz',
    ]) {
      assert.ok(existsSync(path.join(out, f)), `${f} is in the bundle`);
    }
    assert.equal(spawnSync('sh', ['-n', path.join(out, 'run.sh')]).status, 0, 'run.sh parses');
    execFileSync('xz', ['-dk', path.join(out, 'node_modules/webgpu/dist/linux-x64/dawn.node.xz')]);
    const torch = path.join(REFERENCE, 'h100_torch_rir.jsonl');
    const r = spawnSync(
      process.execPath,
      [
        'bench.mjs',
        '--mode',
        'train',
        '--backends',
        'webgpu',
        '--presets',
        'tiny',
        '--acts',
        'swish,tanhexp',
        '--batch',
        '2',
        '--patch',
        '12',
        '--infer-size',
        '24',
        '--budget',
        '0.05',
        '--json',
        '--torch',
        torch,
      ],
      { cwd: out, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      rows: Array<{ kernels: string; act: string; stepMs: number; loss: number }>;
      torch: {
        gpu: string;
        rows: Array<{
          kernels: string;
          act: string;
          stepMs: number;
          torchStepMs: number;
          stepOverTorch: number;
          inferOverTorch: number;
        }>;
        torchTanhexpOverSwish: number;
      };
    };
    // The project's kernels in the adapter's style (tiled on a GPU, direct on a software adapter), then tfjs's.
    const style = report.rows[0]!.kernels;
    assert.ok(style === 'tiled' || style === 'direct', style);
    assert.deepEqual(
      report.rows.map((x) => `${x.kernels} ${x.act}`),
      [`${style} swish`, `${style} tanhexp`, 'tfjs swish', 'tfjs tanhexp'],
    );
    // The same network, seed and data: the kernel sets agree on the loss.
    for (const act of ['swish', 'tanhexp']) {
      const [a, b] = report.rows.filter((x) => x.act === act).map((x) => x.loss);
      assert.ok(Math.abs(a! - b!) <= 1e-4 * Math.abs(b!), `${act}: losses ${a} and ${b}`);
    }
    const lines = (await readFile(torch, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.equal(report.torch.gpu, lines[0].gpu);
    for (const row of report.torch.rows) {
      const ref = lines.find((l) => l.act === row.act && l.tf32 === false && l.amp === false);
      assert.equal(row.torchStepMs, ref.step_ms);
      assert.ok(Math.abs(row.stepOverTorch - row.stepMs / ref.step_ms) < 1e-9);
      assert.ok(Number.isFinite(row.inferOverTorch));
    }
    const ts = (act: string) => lines.find((l) => l.act === act && l.tf32 === false && l.amp === false).step_ms;
    assert.ok(Math.abs(report.torch.torchTanhexpOverSwish - ts('tanhexp') / ts('swish')) < 1e-9);
    assert.match(r.stderr, /compare unlike things/, 'a non-reference configuration is flagged');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
