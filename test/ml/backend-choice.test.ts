import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseAndStart,
  chooseBackend,
  chooseBackendLazily,
  type BackendProbe,
  type ConcreteBackend,
} from '../../ml/backend-choice.ts';
import { errors, isUserError } from '../../ml/errors.ts';

const probe = (name: BackendProbe['name'], o: Partial<BackendProbe> = {}): BackendProbe => ({
  name,
  available: true,
  gpu: false,
  canTrain: true,
  device: `${name} device`,
  ...o,
});

const cpuOnlyMachine = [
  probe('tensorflow', { available: false, canTrain: false, reason: '@tensorflow/tfjs-node-gpu is not installed' }),
  probe('webgpu', { device: 'llvmpipe via Vulkan' }),
  probe('onnx', { available: false, canTrain: false, reason: 'onnxruntime-node is not installed' }),
  probe('wasm'),
  probe('cpu'),
];

test('auto on a machine without a GPU: wasm for upscaling and training, with the reasons for skipping', () => {
  for (const purpose of ['upscale', 'train'] as const) {
    const s = chooseBackend('auto', purpose, cpuOnlyMachine);
    assert.equal(s.name, 'wasm');
    assert.deepEqual(
      s.skipped.map((k) => k.name),
      ['tensorflow', 'webgpu', 'onnx'],
    );
    assert.match(s.skipped[0]!.reason, /not installed/);
    assert.match(s.skipped[1]!.reason, /no hardware GPU \(llvmpipe via Vulkan\)/);
    assert.match(s.why, /^wasm — wasm device; skipped tensorflow: .*; webgpu: no hardware GPU/);
  }
});

test('auto falls back to webgpu on a software adapter before the cpu backend, for training and upscaling', () => {
  const noWasm = cpuOnlyMachine.map((p) =>
    p.name === 'wasm' ? probe('wasm', { available: false, reason: 'its WebAssembly module failed to load' }) : p,
  );
  for (const purpose of ['upscale', 'train'] as const) {
    const s = chooseBackend('auto', purpose, noWasm);
    assert.equal(s.name, 'webgpu');
    assert.equal(s.device, 'llvmpipe via Vulkan');
    assert.deepEqual(
      s.skipped.map((k) => k.name),
      ['tensorflow', 'onnx', 'wasm'],
    );
    assert.match(
      s.why,
      /^webgpu — llvmpipe via Vulkan; skipped tensorflow: .*; wasm: its WebAssembly module failed to load$/,
    );
  }
  // Without any webgpu adapter either, the cpu backend, and webgpu is named once among the skipped.
  const bare = noWasm.map((p) =>
    p.name === 'webgpu' ? probe('webgpu', { available: false, canTrain: false, reason: 'no GPU adapter found' }) : p,
  );
  const s = chooseBackend('auto', 'train', bare);
  assert.equal(s.name, 'cpu');
  assert.deepEqual(
    s.skipped.map((k) => k.name),
    ['tensorflow', 'webgpu', 'onnx', 'wasm'],
  );
});

test('auto prefers tensorflow with a GPU, then webgpu on a hardware GPU', () => {
  const gpuBox = [probe('tensorflow', { gpu: true }), probe('webgpu', { gpu: true }), probe('wasm'), probe('cpu')];
  assert.equal(chooseBackend('auto', 'train', gpuBox).name, 'tensorflow');
  const webgpuBox = [
    probe('tensorflow', { available: false, reason: 'missing' }),
    probe('webgpu', { gpu: true, device: 'NVIDIA H100 via Vulkan' }),
    probe('wasm'),
    probe('cpu'),
  ];
  const s = chooseBackend('auto', 'upscale', webgpuBox);
  assert.equal(s.name, 'webgpu');
  assert.equal(s.device, 'NVIDIA H100 via Vulkan');
  // A CPU build of TensorFlow is skipped by auto (it is not a GPU), but may be asked for by name.
  const tfCpu = [
    probe('tensorflow', { gpu: false }),
    probe('webgpu', { available: false, reason: 'no adapter' }),
    probe('wasm'),
    probe('cpu'),
  ];
  assert.equal(chooseBackend('auto', 'upscale', tfCpu).name, 'wasm');
  assert.equal(chooseBackend('tensorflow', 'upscale', tfCpu).name, 'tensorflow');
});

test('a backend named explicitly is used or reported, never swapped', () => {
  assert.equal(chooseBackend('webgpu', 'train', cpuOnlyMachine).name, 'webgpu');
  assert.throws(
    () => chooseBackend('tensorflow', 'upscale', cpuOnlyMachine),
    (e) =>
      isUserError(e) &&
      e.code === 'backend-failed' &&
      /tensorflow backend could not start \(@tensorflow\/tfjs-node-gpu is not installed\)/.test(e.message),
  );
  const noTrain = [probe('wasm', { canTrain: false }), probe('cpu')];
  assert.throws(
    () => chooseBackend('wasm', 'train', noTrain),
    (e) => isUserError(e) && /cannot train/.test(e.message),
  );
  assert.equal(chooseBackend('auto', 'train', noTrain).name, 'cpu');
});

test('ONNX Runtime upscales and trains on machines without a GPU, and yields to a GPU', () => {
  const withOnnx = cpuOnlyMachine.map((p) =>
    p.name === 'onnx' ? probe('onnx', { device: 'ONNX Runtime 1.30.0 (CPU)' }) : p,
  );
  for (const purpose of ['upscale', 'train'] as const) {
    const s = chooseBackend('auto', purpose, withOnnx);
    assert.equal(s.name, 'onnx');
    assert.match(s.why, /^onnx — ONNX Runtime 1\.30\.0 \(CPU\); skipped tensorflow: .*; webgpu: no hardware GPU/);
    assert.equal(chooseBackend('onnx', purpose, withOnnx).name, 'onnx');
    const gpu = withOnnx.map((p) => (p.name === 'webgpu' ? { ...p, gpu: true } : p));
    assert.equal(chooseBackend('auto', purpose, gpu).name, 'webgpu');
  }
  // An ONNX Runtime that cannot train is named as such, and auto trains on wasm instead.
  const upscaleOnly = withOnnx.map((p) => (p.name === 'onnx' ? { ...p, canTrain: false } : p));
  assert.throws(
    () => chooseBackend('onnx', 'train', upscaleOnly),
    (e) => isUserError(e) && /onnx backend could not start \(it cannot train/.test(e.message),
  );
  const tr = chooseBackend('auto', 'train', upscaleOnly);
  assert.equal(tr.name, 'wasm');
  assert.match(tr.why, /; onnx: cannot train$/);
  // Without onnxruntime-node, upscaling falls back to wasm and says why.
  assert.match(
    chooseBackend('auto', 'upscale', cpuOnlyMachine).why,
    /^wasm .*; onnx: onnxruntime-node is not installed$/,
  );
});

/** A probe function over a machine's probes that records which backends were asked about. */
function counting(machine: readonly BackendProbe[]) {
  const asked: ConcreteBackend[] = [];
  const fn = async (name: ConcreteBackend) => {
    asked.push(name);
    return machine.find((p) => p.name === name)!;
  };
  return { asked, fn };
}

test('lazily: a named backend probes only itself; auto stops at the first that fits', async () => {
  const withOnnx = cpuOnlyMachine.map((p) => (p.name === 'onnx' ? probe('onnx') : p));
  for (const name of ['wasm', 'cpu', 'onnx'] as const) {
    const c = counting(withOnnx);
    assert.equal((await chooseBackendLazily(name, 'upscale', c.fn)).name, name);
    assert.deepEqual(c.asked, [name], `${name} starts only itself`);
  }
  const up = counting(withOnnx);
  assert.equal((await chooseBackendLazily('auto', 'upscale', up.fn)).name, 'onnx');
  assert.deepEqual(up.asked, ['tensorflow', 'webgpu', 'onnx'], 'neither wasm nor cpu is probed once onnx fits');
  const tr = counting(withOnnx);
  assert.equal((await chooseBackendLazily('auto', 'train', tr.fn)).name, 'onnx');
  assert.deepEqual(
    tr.asked,
    ['tensorflow', 'webgpu', 'onnx'],
    'neither wasm nor cpu is probed once onnx fits, for training too',
  );
  const gpuBox = counting([
    probe('tensorflow', { available: false, reason: 'missing' }),
    probe('webgpu', { gpu: true }),
    probe('onnx'),
    probe('wasm'),
    probe('cpu'),
  ]);
  assert.equal((await chooseBackendLazily('auto', 'upscale', gpuBox.fn)).name, 'webgpu');
  assert.deepEqual(gpuBox.asked, ['tensorflow', 'webgpu']);
  // The lazy walk gives the same answer and the same reasons as the walk over every probe.
  for (const purpose of ['upscale', 'train'] as const) {
    assert.deepEqual(
      await chooseBackendLazily('auto', purpose, counting(withOnnx).fn),
      chooseBackend('auto', purpose, withOnnx),
    );
  }
});

test("auto's reason names why a software adapter is not a GPU", () => {
  const m = cpuOnlyMachine.map((p) =>
    p.name === 'webgpu'
      ? probe('webgpu', { device: 'llvmpipe via OpenGL', detail: 'Mesa llvmpipe, a CPU rasteriser' })
      : p,
  );
  assert.match(
    chooseBackend('auto', 'train', m).why,
    /webgpu: no hardware GPU \(llvmpipe via OpenGL: Mesa llvmpipe, a CPU rasteriser\)/,
  );
});

test("auto's pick that fails to start: the next candidate starts, and the reason is among the skipped", async () => {
  const gpuBox = [
    probe('tensorflow', { available: false, reason: 'missing' }),
    probe('webgpu', { gpu: true, device: 'NVIDIA H200 via Vulkan' }),
    probe('onnx'),
    probe('wasm'),
    probe('cpu'),
  ];
  const started: ConcreteBackend[] = [];
  const start = async (name: ConcreteBackend) => {
    started.push(name);
    if (name === 'webgpu') throw errors.backendFailed('webgpu', 'requestDevice failed: out of memory');
  };
  const s = await chooseAndStart('auto', 'train', counting(gpuBox).fn, start);
  assert.equal(s.name, 'onnx');
  assert.deepEqual(started, ['webgpu', 'onnx']);
  assert.match(s.why, /webgpu: it failed to start \(requestDevice failed: out of memory\)/);
  // A named backend that fails is reported, not swapped.
  await assert.rejects(
    chooseAndStart('webgpu', 'train', counting(gpuBox).fn, start),
    (e) => isUserError(e) && /webgpu backend could not start \(requestDevice failed/.test(e.message),
  );
  // When even the last resort fails, that failure is what the user sees.
  const dead = async () => {
    throw errors.backendFailed('cpu', 'no memory');
  };
  const bare = [
    probe('tensorflow', { available: false }),
    probe('webgpu', { available: false }),
    probe('onnx', { available: false }),
    probe('wasm', { available: false }),
    probe('cpu'),
  ];
  await assert.rejects(
    chooseAndStart('auto', 'train', counting(bare).fn, dead),
    (e) => isUserError(e) && /cpu backend could not start \(no memory\)/.test(e.message),
  );
});
