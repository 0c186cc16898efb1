import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { errors } from '../errors.ts';
import { registerWasmKernels } from '../kernels/wasm/index.ts';
import { useProjectKernels } from '../kernels/webgpu/index.ts';
import { probeOnnxRuntime } from './onnx-runtime.ts';
import {
  BACKEND_NAMES,
  chooseBackend,
  type BackendChoice,
  type BackendProbe,
  type BackendSelection,
  type ConcreteBackend,
  type Purpose,
} from '../backend-choice.ts';

/**
 * Starting tfjs backends in Node. `webgpu` runs on Dawn (the `webgpu` package): Vulkan first, then
 * OpenGL ES in compatibility mode (headless, EGL surfaceless). `tensorflow` is tfjs-node-gpu, then
 * tfjs-node, when installed. Gradients are registered here because tfjs-core's Node build does not.
 */
const require = createRequire(import.meta.url);
try {
  require('./generated/tfjs-gradients.cjs');
} catch {
  throw new Error('ml/node/generated/tfjs-gradients.cjs is missing: run "npm install" (or "npm run build") first');
}

export { BACKEND_NAMES, type BackendChoice, type ConcreteBackend, type Purpose };

interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

let webgpuState: Promise<{ ok: true; info: GpuAdapterInfoLike; api: string } | { ok: false; reason: string }> | undefined;

/** Mesa's lavapipe/llvmpipe, SwiftShader and other CPU rasterisers. */
function isSoftwareAdapter(info: GpuAdapterInfoLike): boolean {
  return !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(info.description ?? '');
}

function describeAdapter(info: GpuAdapterInfoLike, api: string): string {
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  return `${name} via ${api}`;
}

/** Finds a Dawn adapter and installs navigator.gpu; the tfjs webgpu backend is imported afterwards. */
async function setUpDawn() {
  webgpuState ??= (async () => {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (e) {
      return { ok: false as const, reason: `the webgpu package could not be loaded: ${firstLine(e)}` };
    }
    Object.assign(globalThis, dawn.globals);
    const attempts: Array<{ api: string; flags: string[]; featureLevel: 'core' | 'compatibility' }> = [
      { api: 'Vulkan', flags: [], featureLevel: 'core' },
      { api: 'OpenGL (compatibility mode)', flags: ['backend=opengl'], featureLevel: 'compatibility' },
    ];
    process.env.EGL_PLATFORM ??= 'surfaceless';
    for (const a of attempts) {
      try {
        const gpu = dawn.create(a.flags);
        const adapter = await gpu.requestAdapter({ featureLevel: a.featureLevel, powerPreference: 'high-performance' });
        if (!adapter) continue;
        const g = globalThis as { navigator?: object };
        if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
        const wrapped = {
          requestAdapter: (o?: object) => gpu.requestAdapter({ ...o, featureLevel: a.featureLevel }),
          getPreferredCanvasFormat: () => 'rgba8unorm',
          wgslLanguageFeatures: gpu.wgslLanguageFeatures,
        };
        Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true });
        return { ok: true as const, info: adapter.info as GpuAdapterInfoLike, api: a.api };
      } catch {
        // try the next graphics API
      }
    }
    return { ok: false as const, reason: 'no GPU adapter found (neither Vulkan nor OpenGL)' };
  })();
  return webgpuState;
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
    try {
      await import(pkg);
      return { ok: true, gpu, device: gpu ? 'TensorFlow C library, CUDA build' : 'TensorFlow C library, CPU build' };
    } catch (e) {
      reasons.push(`${pkg} failed to load (${firstLine(e)})`);
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200);
}

/** What each backend (or each of `only`) would give on this machine, without switching to it. */
export async function probeBackends(only?: readonly ConcreteBackend[]): Promise<BackendProbe[]> {
  const out: BackendProbe[] = [];
  const wanted = (name: ConcreteBackend) => !only || only.includes(name);
  if (wanted('tensorflow')) {
    const tfn = await loadTensorflow();
    out.push(
      tfn.ok
        ? { name: 'tensorflow', available: true, gpu: tfn.gpu, canTrain: true, device: tfn.device }
        : { name: 'tensorflow', available: false, gpu: false, canTrain: false, reason: tfn.reason },
    );
  }
  if (wanted('webgpu')) {
    const w = await setUpDawn();
    out.push(
      w.ok
        ? {
            name: 'webgpu',
            available: true,
            gpu: !isSoftwareAdapter(w.info),
            canTrain: true,
            device: describeAdapter(w.info, w.api),
          }
        : { name: 'webgpu', available: false, gpu: false, canTrain: false, reason: w.reason },
    );
  }
  if (wanted('onnx')) {
    const onnx = await probeOnnxRuntime();
    out.push(
      onnx.ok
        ? { name: 'onnx', available: true, gpu: false, canTrain: false, device: onnx.device }
        : { name: 'onnx', available: false, gpu: false, canTrain: false, reason: onnx.reason },
    );
  }
  if (wanted('wasm')) out.push({ name: 'wasm', available: true, gpu: false, canTrain: true, device: 'WebAssembly (XNNPACK, SIMD)' });
  if (wanted('cpu')) out.push({ name: 'cpu', available: true, gpu: false, canTrain: true, device: 'plain JavaScript' });
  return out;
}

/** The tfjs backend that does the tensor work besides upscaling when upscaling runs on `name`. */
export function tensorBackend(name: ConcreteBackend): Exclude<ConcreteBackend, 'onnx'> {
  return name === 'onnx' ? 'wasm' : name;
}

async function activate(selected: ConcreteBackend): Promise<void> {
  if (selected === 'onnx') {
    const o = await probeOnnxRuntime();
    if (!o.ok) throw errors.backendFailed('onnx', o.reason);
  }
  const name = tensorBackend(selected);
  switch (name) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
      registerWasmKernels();
      break;
    }
    case 'webgpu': {
      const w = await setUpDawn();
      if (!w.ok) throw errors.backendFailed('webgpu', w.reason);
      await import('@tensorflow/tfjs-backend-webgpu');
      useProjectKernels(true, isSoftwareAdapter(w.info) ? 'direct' : 'tiled');
      break;
    }
    case 'tensorflow': {
      const t = await loadTensorflow();
      if (!t.ok) throw errors.backendFailed('tensorflow', t.reason);
      break;
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw errors.backendFailed(name, firstLine(e));
  }
  // setBackend returns false (and stays where it was) when the backend's init fails: never accept that.
  if (!ok || tf.getBackend() !== name) throw errors.backendFailed(name, 'tfjs could not initialise it');
  await tf.ready();
  tf.enableProdMode();
}

/**
 * Switches tfjs to the requested backend. `auto` picks the best available for the purpose and says
 * why each better one was skipped; an explicit backend that fails is reported, never swapped.
 */
export async function initBackend(choice: string, purpose: Purpose): Promise<BackendSelection> {
  if (!(BACKEND_NAMES as readonly string[]).includes(choice)) throw errors.unknownBackend(choice, BACKEND_NAMES);
  // A backend named outright is the only one probed: starting Dawn (and Mesa's threads with it) in
  // every helper thread of data-parallel training made the process crash when they ended.
  const probes = await probeBackends(choice === 'auto' ? undefined : [choice as ConcreteBackend]);
  const selection = chooseBackend(choice as BackendChoice, purpose, probes);
  await activate(selection.name);
  return selection;
}
