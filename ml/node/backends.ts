import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { errors, firstLine } from '../errors.ts';
import { registerWasmKernels } from '../kernels/wasm/index.ts';
import { useProjectKernels } from '../kernels/webgpu/index.ts';
import { probeGpu, type GpuProbe } from './gpu-probe.ts';
import { captureNativeStderr } from './native-stderr.ts';
import { probeOnnxRuntime } from './onnx-runtime.ts';
import {
  BACKEND_NAMES,
  chooseAndStart,
  withStartFailure,
  type BackendChoice,
  type BackendProbe,
  type BackendSelection,
  type ConcreteBackend,
  type Purpose,
} from '../backend-choice.ts';

/**
 * Starting tfjs backends in Node, lazily: a named backend starts only itself (`wasm`, `onnx` and
 * `cpu` never load Dawn), and auto probes only what its order of preference needs. The GPU is
 * probed in a child process (ml/node/gpu-probe.ts), so Dawn's native output never reaches the user;
 * `webgpu` then opens exactly the graphics API the probe found (Vulkan, or OpenGL ES in
 * compatibility mode). `tensorflow` is tfjs-node-gpu, then tfjs-node, when installed.
 */
const require = createRequire(import.meta.url);

export { BACKEND_NAMES, type BackendChoice, type ConcreteBackend, type Purpose };

/** tfjs-core's Node entry registers no gradients: ml/node/generated/ holds them (built by npm install). */
let gradientsRegistered = false;
function registerGradients(): void {
  if (gradientsRegistered) return;
  try {
    require('./generated/tfjs-gradients.cjs');
  } catch {
    throw errors.brokenInstall(path.join(import.meta.dirname, 'generated', 'tfjs-gradients.cjs'));
  }
  gradientsRegistered = true;
}

async function loadTensorflow(): Promise<{ ok: true; device: string; gpu: boolean } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const [pkg, gpu] of [
    ['@tensorflow/tfjs-node-gpu', true],
    ['@tensorflow/tfjs-node', false],
  ] as const) {
    try {
      require.resolve(pkg);
    } catch {
      reasons.push(`${pkg} is not installed`);
      continue;
    }
    // The TensorFlow C library logs to stderr at start unless told otherwise.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    try {
      await import(pkg);
      return { ok: true, gpu, device: gpu ? 'TensorFlow C library, CUDA build' : 'TensorFlow C library, CPU build' };
    } catch (e) {
      reasons.push(`${pkg} failed to load (${firstLine(e)})`);
    }
  }
  const missing = reasons.every((r) => r.endsWith('is not installed'));
  return { ok: false, reason: missing ? 'the TensorFlow library is not installed' : reasons.join('; ') };
}

function webgpuProbe(g: GpuProbe): BackendProbe {
  if (!g.ok) return { name: 'webgpu', available: false, gpu: false, canTrain: false, reason: g.reason };
  const software = g.kind === 'software';
  return { name: 'webgpu', available: true, gpu: !software, canTrain: true, device: g.device, detail: g.why };
}

const PROBERS: Record<ConcreteBackend, () => Promise<BackendProbe>> = {
  async tensorflow() {
    const t = await loadTensorflow();
    return t.ok
      ? { name: 'tensorflow', available: true, gpu: t.gpu, canTrain: true, device: t.device }
      : { name: 'tensorflow', available: false, gpu: false, canTrain: false, reason: t.reason };
  },
  async webgpu() {
    return webgpuProbe(await probeGpu());
  },
  async onnx() {
    const o = await probeOnnxRuntime();
    return o.ok
      ? { name: 'onnx', available: true, gpu: false, canTrain: true, device: o.device }
      : { name: 'onnx', available: false, gpu: false, canTrain: false, reason: o.reason };
  },
  async wasm() {
    return { name: 'wasm', available: true, gpu: false, canTrain: true, device: 'WebAssembly (XNNPACK, SIMD)' };
  },
  async cpu() {
    return { name: 'cpu', available: true, gpu: false, canTrain: true, device: 'plain JavaScript' };
  },
};

const probed = new Map<ConcreteBackend, Promise<BackendProbe>>();
/** Backends that were probed as available but then failed to start in this process, and why. */
const failedToStart = new Map<ConcreteBackend, string>();

/** What one backend offers on this machine, probed once per process. */
function probeOnce(name: ConcreteBackend): Promise<BackendProbe> {
  let p = probed.get(name);
  if (!p) probed.set(name, (p = PROBERS[name]()));
  return p;
}

/** What one backend would give on this machine, without switching to it: unavailable if it failed to start. */
export async function probeBackend(name: ConcreteBackend): Promise<BackendProbe> {
  return withStartFailure(await probeOnce(name), failedToStart.get(name));
}

/** Every backend's probe (`sr-studio info`, the app's settings). */
export async function probeBackends(): Promise<BackendProbe[]> {
  const names: ConcreteBackend[] = ['tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'];
  return Promise.all(names.map(probeBackend));
}

/** The tfjs backend that does the tensor work besides upscaling when upscaling runs on `name`. */
export function tensorBackend(name: ConcreteBackend): Exclude<ConcreteBackend, 'onnx'> {
  return name === 'onnx' ? 'wasm' : name;
}

/** Dawn's own lines (its log levels and the source locations after them) in captured stderr. */
const DAWN_LINE = /^(Warning|Error|Info|Debug): |^\s+at \S+ \(.*(dawn|third_party).*\)$|^\s*$/;

/** Opens Dawn in this process on the graphics API the probe found, with its native output kept back. */
async function startWebgpu(): Promise<void> {
  const g = await probeGpu();
  if (!g.ok) throw errors.backendFailed('webgpu', g.reason);
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const { captured } = await captureNativeStderr(async () => {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (e) {
      throw errors.backendFailed('webgpu', `the webgpu package could not be loaded: ${firstLine(e)}`);
    }
    Object.assign(globalThis, dawn.globals);
    const featureLevel = g.api === 'Vulkan' ? 'core' : 'compatibility';
    const gpu = dawn.create([`backend=${g.api === 'Vulkan' ? 'vulkan' : 'opengl'}`]);
    const root = globalThis as { navigator?: object };
    if (!root.navigator)
      Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    // tfjs-backend-webgpu looks for navigator.gpu when it is imported, so this comes first.
    const wrapped = {
      requestAdapter: (o?: object) => gpu.requestAdapter({ ...o, featureLevel }),
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    };
    Object.defineProperty(root.navigator, 'gpu', { value: wrapped, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    useProjectKernels(true, g.kind === 'software' ? 'direct' : 'tiled');
    await switchTo('webgpu');
  });
  const rest = captured.split('\n').filter((l) => !DAWN_LINE.test(l));
  if (rest.length) process.stderr.write(rest.join('\n') + '\n');
}

async function switchTo(name: Exclude<ConcreteBackend, 'onnx'>): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw errors.backendFailed(name, firstLine(e));
  }
  // setBackend returns false (and stays where it was) when the backend's init fails: never accept that.
  if (!ok || tf.getBackend() !== name) throw errors.backendFailed(name, 'tfjs could not initialise it');
  await tf.ready();
}

const started = new Set<string>();

/** Makes `selected` the active tfjs backend (for onnx: wasm, for the tensor work beside ONNX Runtime), starting it once. */
export async function activateBackend(selected: ConcreteBackend): Promise<void> {
  registerGradients();
  if (selected === 'onnx') {
    const o = await probeOnnxRuntime();
    if (!o.ok) throw errors.backendFailed('onnx', o.reason);
  }
  const name = tensorBackend(selected);
  if (started.has(name)) {
    if (tf.getBackend() !== name) await switchTo(name);
    return;
  }
  switch (name) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      await switchTo('cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
      registerWasmKernels();
      await switchTo('wasm');
      break;
    }
    case 'webgpu':
      await startWebgpu();
      break;
    case 'tensorflow': {
      const t = await loadTensorflow();
      if (!t.ok) throw errors.backendFailed('tensorflow', t.reason);
      await switchTo('tensorflow');
      break;
    }
  }
  started.add(name);
  tf.enableProdMode();
}

/**
 * Chooses the backend for a purpose and switches tfjs to it. `auto` picks the best available, says
 * why each better one was skipped, and when its pick fails to start goes on to the next, saying
 * why; an explicit backend that fails is reported in one sentence, never swapped.
 */
export async function initBackend(choice: string, purpose: Purpose): Promise<BackendSelection> {
  if (!(BACKEND_NAMES as readonly string[]).includes(choice)) throw errors.unknownBackend(choice, BACKEND_NAMES);
  registerGradients();
  return chooseAndStart(choice as BackendChoice, purpose, probeOnce, activateBackend, failedToStart);
}
