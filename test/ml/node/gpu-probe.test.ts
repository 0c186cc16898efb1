/**
 * The GPU probe in its child process, run for real on this machine (no hand-made probe objects):
 * whatever Dawn finds here is classified, a broken driver (the child exiting, crashing or hanging)
 * becomes a reason instead of a failure, and Dawn's text from the child is turned into a gist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { classifyAdapter } from '../../../ml/adapter-class.ts';
import { driverFingerprint } from '../../../ml/node/driver-fingerprint.ts';
import { explainDawn, probeGpuUncached } from '../../../ml/node/gpu-probe.ts';

const CHILD = path.resolve(import.meta.dirname, '../../../ml/node/gpu-probe-child.mjs');

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('the real probe: each adapter Dawn reports here is judged by what it reports', async () => {
  const raw = spawnSync(process.execPath, [CHILD, 'list'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(raw.status, 0, raw.stderr);
  const listed = JSON.parse(raw.stdout.trim().split('\n').at(-1)!) as {
    adapters: Array<Parameters<typeof classifyAdapter>[0]>;
  };
  const probe = await probeGpuUncached();
  if (!listed.adapters.length) {
    assert.equal(probe.ok, false);
    if (!probe.ok) assert.match(probe.reason, /^no GPU adapter found \(Vulkan: .*; OpenGL: .*\)$/);
    return;
  }
  assert.ok(probe.ok, JSON.stringify(probe));
  assert.ok(listed.adapters.some((a) => a.api === probe.api && a.device === probe.adapter.device));
  const verdict = classifyAdapter(probe.adapter);
  if (verdict.kind !== 'unknown') assert.equal(probe.kind, verdict.kind);
  assert.match(probe.device, new RegExp(` via ${probe.api}$`));
  // A hardware adapter wins over a software one wherever both are found.
  if (listed.adapters.some((a) => classifyAdapter(a).kind === 'hardware')) assert.equal(probe.kind, 'hardware');
  if (process.env.SR_TEST_BACKENDS?.split(',').includes('webgpu')) assert.ok(probe.ok);
});

/** Whether the kernel shows any GPU device node (none on a machine with only CPU rasterisers). */
const gpuNodes = () =>
  existsSync('/dev/nvidia0') ||
  (existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD')));

test('with Vulkan hidden, what is left is never called a GPU on a machine without one', async () => {
  const probe = await withEnv({ VK_DRIVER_FILES: '/nonexistent.json', VK_ICD_FILENAMES: '/nonexistent.json' }, () =>
    probeGpuUncached(),
  );
  if (probe.ok) {
    assert.equal(probe.api, 'OpenGL', 'Vulkan has no drivers left');
    if (probe.kind === 'hardware')
      assert.equal(classifyAdapter(probe.adapter).kind, 'hardware', 'only an adapter that names its GPU maker');
    if (!gpuNodes()) assert.equal(probe.kind, 'software', JSON.stringify(probe));
  } else {
    assert.match(probe.reason, /no GPU adapter found/);
  }
});

test('a driver that makes the probe exit, crash or hang costs only the child, and says so', async () => {
  const exit = await withEnv({ SR_STUDIO_PROBE_FAULT: 'exit' }, () => probeGpuUncached());
  assert.deepEqual(exit, {
    ok: false,
    reason: 'the GPU probe failed (exit code 3); the graphics driver may be broken',
  });
  const crash = await withEnv({ SR_STUDIO_PROBE_FAULT: 'crash' }, () => probeGpuUncached());
  assert.deepEqual(crash, { ok: false, reason: 'the GPU probe crashed (SIGSEGV); the graphics driver may be broken' });
  const t0 = performance.now();
  const hang = await withEnv({ SR_STUDIO_PROBE_FAULT: 'hang' }, () => probeGpuUncached(1500));
  assert.ok(performance.now() - t0 < 10_000, 'a hung probe is given up on');
  assert.equal(hang.ok, false);
  if (!hang.ok)
    assert.match(hang.reason, /^the GPU probe did not answer within \d+ s \(the graphics driver may be stuck\)$/);
});

test("Dawn's stderr is turned into a reason, not shown", () => {
  const noLoader = [
    "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
    '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
  ].join('\n');
  assert.deepEqual(explainDawn(noLoader), { Vulkan: 'no Vulkan loader (libvulkan.so.1 is not installed)' });
  assert.deepEqual(explainDawn('Warning: Found no drivers!'), { Vulkan: 'no Vulkan driver' });
  assert.deepEqual(explainDawn(''), {});
});

test('the driver fingerprint follows the variables that steer the drivers, and nothing else', async () => {
  const base = await driverFingerprint({ HOME: '/x' });
  assert.equal(await driverFingerprint({ HOME: '/y' }), base);
  assert.notEqual(await driverFingerprint({ HOME: '/x', VK_ICD_FILENAMES: '/nonexistent.json' }), base);
  assert.notEqual(await driverFingerprint({ HOME: '/x', LIBGL_ALWAYS_SOFTWARE: '1' }), base);
  assert.match(base, /^[0-9a-f]{32}$/);
});
