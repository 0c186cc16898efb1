import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_GRAD_KERNEL, ACTIVATION_KERNEL, type SmoothActivation } from '../../activations.ts';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../../train/adam.ts';
import { registerWasmConvBackpropFilter } from '../wasm-conv-backprop-filter.ts';
import { kernelsFor, offsetOf, type WasmBackend, type WasmKernels } from './module.ts';

/**
 * The project's kernels for tfjs's wasm backend, chosen by profiling a training step there:
 * - TanhExp, Swish and Mish forward and backward as one elementwise pass each (ACTIVATION_KERNEL,
 *   ACTIVATION_GRAD_KERNEL, which ml/activations.ts runs where they are registered), in place of the
 *   ~10 tfjs kernels per direction they are composed of elsewhere;
 * - Adam's update of one parameter in one pass (ADAM_KERNEL, which ml/train/adam.ts runs);
 * - Conv2DBackpropFilter as one matrix product (../wasm-conv-backprop-filter.ts).
 * The elementwise ones are WebAssembly SIMD code of the project's own (./source.ts) working on the
 * backend's memory. Where that module cannot run on the backend (its memory is shared or not
 * exported, as in tfjs's threaded browser build), the activation and Adam kernels are unregistered
 * when the backend starts, so the composed forms run instead.
 */
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const FORWARD: Record<SmoothActivation, 'tanhexp' | 'swish' | 'mish'> = { tanhexp: 'tanhexp', swish: 'swish', mish: 'mish' };
const BACKWARD: Record<SmoothActivation, 'tanhexpGrad' | 'swishGrad' | 'mishGrad'> = {
  tanhexp: 'tanhexpGrad',
  swish: 'swishGrad',
  mish: 'mishGrad',
};

function kernels(backend: unknown): WasmKernels {
  const k = kernelsFor(backend);
  if (!k) throw new Error("the project's wasm kernels cannot run on this wasm backend");
  return k;
}

function float32(t: tf.TensorInfo, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`${what} takes float32 tensors, not ${t.dtype}`);
}

function activation({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const act = (attrs as { activation: SmoothActivation }).activation;
  float32(x, ACTIVATION_KERNEL);
  const k = kernels(backend);
  const b = backend as WasmBackend;
  const out = b.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) k[FORWARD[act]](offsetOf(b, x), offsetOf(b, out), n);
  return out;
}

function activationGrad({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const act = (attrs as { activation: SmoothActivation }).activation;
  float32(x, ACTIVATION_GRAD_KERNEL);
  float32(dy, ACTIVATION_GRAD_KERNEL);
  if (!tf.util.arraysEqual(x.shape, dy.shape)) throw new Error(`${ACTIVATION_GRAD_KERNEL}: x and dy differ in shape`);
  const k = kernels(backend);
  const b = backend as WasmBackend;
  const out = b.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) k[BACKWARD[act]](offsetOf(b, x), offsetOf(b, dy), offsetOf(b, out), n);
  return out;
}

function adam({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const a = attrs as unknown as AdamKernelAttrs;
  for (const t of [p, g, m, v]) {
    float32(t, ADAM_KERNEL);
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${ADAM_KERNEL}: the parameter, gradient and moments differ in shape`);
  }
  const k = kernels(backend);
  const b = backend as WasmBackend;
  const outs = [b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32'), b.makeOutput(p.shape, 'float32')] as const;
  const n = tf.util.sizeFromShape(p.shape);
  const at = (t: tf.TensorInfo) => offsetOf(b, t);
  if (n > 0) {
    k.adam(at(p), at(g), at(m), at(v), at(outs[0]), at(outs[1]), at(outs[2]), n,
      a.gradScale, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, a.lr);
  }
  return [...outs];
}

const ELEMENTWISE = [
  { kernelName: ACTIVATION_KERNEL, kernelFunc: activation },
  { kernelName: ACTIVATION_GRAD_KERNEL, kernelFunc: activationGrad },
  { kernelName: ADAM_KERNEL, kernelFunc: adam },
];

/** Drops the elementwise kernels for a backend instance the module cannot run on. */
function checkModule(backend: unknown): void {
  if (kernelsFor(backend)) return;
  for (const { kernelName } of ELEMENTWISE) if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
}

let registered = false;

/** Registers the project's wasm kernels once (call before or after the wasm backend is loaded). */
export function registerWasmKernels(): void {
  registerWasmConvBackpropFilter();
  if (registered) return;
  registered = true;
  for (const { kernelName, kernelFunc } of ELEMENTWISE) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc, setupFunc: checkModule });
  }
}
