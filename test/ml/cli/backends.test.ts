/**
 * The backend choice as users meet it, through the real CLI and the real GPU probe, on this
 * machine and on the machine it becomes with Vulkan hidden (Dawn then falls back to OpenGL, which
 * on a machine without a GPU is Mesa's llvmpipe, a CPU rasteriser): honest classes, lazy and quiet
 * probing, a broken driver met calmly, clean exits, and the CLI's conventions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNoDawnText, assertNoStack, assertOneError, jsonLines, runCli, show } from '../../helpers/cli.ts';
import { DATA } from '../../helpers/photos.ts';

const HIDE_VULKAN = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };
const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/unloadable.mjs');
const PHOTO = path.join(DATA, 'tiny', 'coffee_64x64.png');
let dir = '';
let modelsDir = '';
let caches = 0;
/** A fresh cache folder: what a first start on this machine sees. */
const freshCache = () => path.join(dir, `cache-${caches++}`);
const cli = (args: string[], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []) =>
  runCli(args, { cwd: dir, modelsDir, env: { SR_STUDIO_CACHE: freshCache(), ...env }, nodeArgs });

interface Info {
  backends: Array<{ name: string; available: boolean; gpu: boolean; reason?: string; device?: string }>;
  auto: { inference: { name: string; why: string }; training: { name: string; why: string } };
}
const infoOf = (stdout: string) => JSON.parse(stdout) as Info;
const onnxThere = async () =>
  (await import('onnxruntime-node').then(
    () => true,
    () => false,
  )) || Boolean(process.env.CI);

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-backends-'));
  modelsDir = path.join(dir, 'models');
  await fs.mkdir(modelsDir);
  await fs.cp(path.join(DATA, 'tiny'), path.join(dir, 'photos'), { recursive: true });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('with Vulkan hidden (a machine with only OpenGL, or none)', () => {
  test('info marks what webgpu finds as no GPU, auto upscales and trains on ONNX Runtime, and Dawn stays silent', async () => {
    const [json, text] = await Promise.all([cli(['info', '--json'], HIDE_VULKAN), cli(['info'], HIDE_VULKAN)]);
    assert.equal(json.code, 0, show(json));
    const info = infoOf(json.stdout);
    const webgpu = info.backends.find((b) => b.name === 'webgpu')!;
    if (process.env.SR_TEST_NO_VULKAN || (!existsSync('/dev/nvidia0') && !existsSync('/dev/dri')))
      assert.ok(!webgpu.available || !webgpu.gpu, JSON.stringify(webgpu));
    if (webgpu.available && !webgpu.gpu) assert.match(text.stdout, /^ {2}webgpu .*\[software: .*CPU rasteriser.*\]$/m);
    if (!webgpu.gpu) {
      const cpu = (await onnxThere()) ? 'onnx' : 'wasm';
      assert.equal(info.auto.inference.name, cpu);
      assert.equal(info.auto.training.name, cpu);
      assert.match(info.auto.training.why, /webgpu: (no hardware GPU|no GPU adapter found)/);
    }
    for (const r of [json, text]) assertNoDawnText(r);
    assert.doesNotMatch(text.stdout, /webgpu .*\[GPU\]/);
  });

  test('upscale and train with no backend option pick ONNX Runtime, printing only their own lines', async () => {
    const out = path.join(dir, 'hidden-up');
    const up = await cli(['upscale', PHOTO, '-o', out], HIDE_VULKAN);
    assert.equal(up.code, 0, show(up));
    assert.match(up.stderr, new RegExp(`^Backend: ${(await onnxThere()) ? 'onnx' : 'wasm'} — `, 'm'));
    assertNoDawnText(up);
    const tr = await cli(
      [
        'train',
        '--data',
        path.join(dir, 'photos'),
        '--iters',
        '2',
        '--batch',
        '4',
        '--patch',
        '16',
        '--out',
        path.join(dir, 'hidden-run'),
      ],
      HIDE_VULKAN,
    );
    assert.equal(tr.code, 0, show(tr));
    assert.match(tr.stderr, (await onnxThere()) ? /^Backend: onnx — ONNX Runtime/m : /^Backend: wasm — WebAssembly/m);
    assertNoDawnText(tr);
    assertNoStack(tr);
  });
});

describe('lazy, cached and quiet probing', () => {
  test('a named CPU backend never probes the GPU or loads Dawn', async () => {
    const cache = freshCache();
    for (const args of [
      ['upscale', PHOTO, '-o', path.join(dir, 'named-wasm'), '--backend', 'wasm'],
      ['upscale', PHOTO, '-o', path.join(dir, 'named-cpu'), '--backend', 'cpu'],
      [
        'train',
        '--data',
        path.join(dir, 'photos'),
        '--iters',
        '1',
        '--batch',
        '2',
        '--patch',
        '16',
        '--backend',
        'wasm',
        '--out',
        path.join(dir, 'named-run'),
      ],
    ]) {
      const r = await cli(args, { SR_STUDIO_CACHE: cache });
      assert.equal(r.code, 0, show(r));
      assertNoDawnText(r);
    }
    assert.equal(existsSync(path.join(cache, 'gpu-probe.json')), false, 'the GPU was never probed');
  });

  test('the GPU probe is cached per machine and made again when the drivers change', async () => {
    const cache = freshCache();
    const file = path.join(cache, 'gpu-probe.json');
    const entries = async () =>
      (JSON.parse(await fs.readFile(file, 'utf8')) as { entries: Array<{ fingerprint: string; at: string }> }).entries;
    assert.equal((await cli(['info', '--json'], { SR_STUDIO_CACHE: cache })).code, 0);
    const first = await entries();
    assert.equal(first.length, 1);
    assert.equal((await cli(['info', '--json'], { SR_STUDIO_CACHE: cache })).code, 0);
    assert.deepEqual(await entries(), first, 'the second start used the cache');
    // Drivers named elsewhere than in this test's environment: whatever that was, they changed.
    const other = { VK_DRIVER_FILES: '/nonexistent/other-icd.json', VK_ICD_FILENAMES: '/nonexistent/other-icd.json' };
    assert.equal((await cli(['info', '--json'], { SR_STUDIO_CACHE: cache, ...other })).code, 0);
    const third = await entries();
    assert.equal(third.length, 2, 'other drivers, another probe');
    assert.notEqual(third[0]!.fingerprint, first[0]!.fingerprint);
  });

  test('a driver that crashes the probe: auto goes on and says why; webgpu by name fails in one sentence', async () => {
    const cache = freshCache();
    const env = { SR_STUDIO_PROBE_FAULT: 'crash', SR_STUDIO_CACHE: cache };
    const info = await cli(['info', '--json'], env);
    assert.equal(info.code, 0, show(info));
    const webgpu = infoOf(info.stdout).backends.find((b) => b.name === 'webgpu')!;
    assert.equal(webgpu.available, false);
    assert.match(webgpu.reason!, /the GPU probe crashed \(SIGSEGV\)/);
    assert.equal(
      existsSync(path.join(cache, 'gpu-probe.json')),
      false,
      'a crash is not remembered: the next start tries again',
    );
    const up = await cli(['upscale', PHOTO, '-o', path.join(dir, 'crash-up')], env);
    assert.equal(up.code, 0, show(up));
    assert.match(
      up.stderr,
      /^Backend: \w+ — .*; webgpu: the GPU probe crashed \(SIGSEGV\); the graphics driver may be broken/m,
    );
    const named = await cli(['upscale', PHOTO, '-o', path.join(dir, 'crash-named'), '--backend', 'webgpu'], env);
    assertOneError(
      named,
      /^error: The webgpu backend could not start \(the GPU probe crashed \(SIGSEGV\); the graphics driver may be broken\); choose another with --backend/,
      1,
    );
  });

  test('an unknown backend is a usage error in one sentence', async () => {
    const r = await cli(['upscale', PHOTO, '--backend', 'cuda']);
    assertOneError(r, /^error: Unknown backend "cuda"; use one of auto, tensorflow, webgpu, onnx, wasm, cpu\.$/, 2);
  });
});

describe('clean ends', () => {
  test('training with a helper thread exits 0, ten times in a row', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await cli([
        'train',
        '--data',
        path.join(dir, 'photos'),
        '--iters',
        '2',
        '--batch',
        '4',
        '--patch',
        '16',
        '--backend',
        'wasm',
        '--threads',
        '1',
        '--out',
        path.join(dir, `threads-${i}`),
        '--json',
      ]);
      assert.equal(r.signal, null, `run ${i + 1} died of ${r.signal}:\n${show(r)}`);
      assert.equal(r.code, 0, `run ${i + 1}:\n${show(r)}`);
      assert.ok(
        jsonLines(r).some((e) => e.type === 'note' && e.threads === 2),
        show(r),
      );
    }
  });

  test('an output folder on a pseudo-filesystem fails in one sentence within seconds', async () => {
    const t0 = Date.now();
    const r = await cli(['upscale', PHOTO, '-o', '/proc/sr-studio-out', '--backend', 'wasm']);
    assert.ok(Date.now() - t0 < 30_000, 'it answers promptly');
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^error: Cannot write to "\/proc\/sr-studio-out" \(folders cannot be created there\)/m);
    assertNoStack(r);
  });
});

describe('CLI conventions', () => {
  test('--help, COMMAND --help, help COMMAND and --version answer on stdout and exit 0; no command is a usage error', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: sr-studio <command> \[options\]/);
    for (const c of ['upscale', 'train', 'compare', 'info', 'new-model', 'export']) {
      for (const args of [
        [c, '--help'],
        ['help', c],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, new RegExp(`^Usage: sr-studio ${c}\\b`), show(r));
      }
    }
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^sr-studio \d+\.\d+\.\d+\n$/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: sr-studio/);
    assertOneError(await cli(['frobnicate']), /^error: Unknown command "frobnicate"; run "sr-studio --help"/, 2);
    assertOneError(await cli(['info', 'extra']), /^error: info takes no plain arguments \("extra"\)\.$/, 2);
  });

  test('a dependency that fails to load is one sentence with what to do, and help still works', async () => {
    const broken = { SR_TEST_BREAK: 'sharp' };
    const r = await cli(['upscale', PHOTO, '--backend', 'wasm'], broken, ['--import', FIXTURE]);
    assertOneError(
      r,
      /^error: SR Studio could not load sharp, which reads and writes images \(Could not load the "sharp" module using the linux-x64 runtime\); run "npm install"/,
      1,
    );
    const help = await cli(['upscale', '--help'], broken, ['--import', FIXTURE]);
    assert.equal(help.code, 0, show(help));
    const grads = await cli(
      [
        'train',
        '--data',
        path.join(dir, 'photos'),
        '--iters',
        '1',
        '--backend',
        'wasm',
        '--out',
        path.join(dir, 'no-grads'),
      ],
      { SR_TEST_BREAK: 'gradients' },
      ['--import', FIXTURE],
    );
    assertOneError(
      grads,
      /^error: SR Studio's generated file .*tfjs-gradients\.cjs is missing; run "npm install" in SR Studio's folder\.$/,
      1,
    );
  });
});
