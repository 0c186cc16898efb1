import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATION_GRAD_KERNEL,
  ACTIVATION_KERNEL,
  ACTIVATION_SLOPE_KERNEL,
  type SmoothActivation,
} from '../../activations.ts';
import { CONV3X3_GRADS_KERNEL, CONV3X3_KERNEL, ROTATED_FILTER_KERNEL } from '../../conv.ts';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../../train/adam.ts';
import { runKernel } from '../run-kernel.ts';
import { conv3x3Grads, registerWasmConvBackpropFilter } from '../wasm-conv-backprop-filter.ts';
import { kernelsFor, offsetOf, type WasmBackend, type WasmKernels } from './module.ts';

/**
 * The project's kernels for tfjs's wasm backend, chosen by profiling a training step there:
 * - TanhExp, Swish and Mish forward and backward as one elementwise pass each (ACTIVATION_KERNEL,
 *   ACTIVATION_GRAD_KERNEL, which ml/activations.ts runs where they are registered), in place of the
 *   ~10 tfjs kernels per direction they are composed of elsewhere; in training the forward pass also
 *   gives the slope (ACTIVATION_SLOPE_KERNEL), so the backward pass is one multiplication;
 * - Adam's update of one parameter in one pass (ADAM_KERNEL, which ml/train/adam.ts runs);
 * - Conv2DBackpropFilter as one matrix product (../wasm-conv-backprop-filter.ts);
 * - the network's 3×3 convolution (ml/conv.ts): its forward is XNNPACK's FusedConv2D under a kernel
 *   name of the project's with a registered gradient; the filter and bias gradients come from one
 *   matrix product, and the rotated filter for dx from one pass;
 * - Identity sharing its input's data, as tfjs's cpu and webgpu backends do, where tfjs's wasm
 *   backend copies it: tfjs clones (Identity) every tensor it saves for the backward pass, so a
 *   training step copied each layer's input once more.
 * `Identity` replaces tfjs's own wasm kernel; the others have names of their own.
 * The elementwise ones are WebAssembly SIMD code of the project's own (./source.ts) working on the
 * backend's memory. Where that module cannot run on the backend (its memory is shared or not
 * exported, as in tfjs's threaded browser build), the activation and Adam kernels are unregistered
 * when the backend starts, so the composed forms run instead.
 */
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const FORWARD: Record<SmoothActivation, 'tanhexp' | 'swish' | 'mish'> = {
  tanhexp: 'tanhexp',
  swish: 'swish',
  mish: 'mish',
};
const BACKWARD: Record<SmoothActivation, 'tanhexpGrad' | 'swishGrad' | 'mishGrad'> = {
  tanhexp: 'tanhexpGrad',
  swish: 'swishGrad',
  mish: 'mishGrad',
};
const WITH_SLOPE: Record<SmoothActivation, 'tanhexpWithSlope' | 'swishWithSlope' | 'mishWithSlope'> = {
  tanhexp: 'tanhexpWithSlope',
  swish: 'swishWithSlope',
  mish: 'mishWithSlope',
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

function activationWithSlope({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const { x } = inputs as { x: tf.TensorInfo };
  const act = (attrs as { activation: SmoothActivation }).activation;
  float32(x, ACTIVATION_SLOPE_KERNEL);
  const k = kernels(backend);
  const b = backend as WasmBackend;
  const value = b.makeOutput(x.shape, 'float32');
  const slope = b.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) k[WITH_SLOPE[act]](offsetOf(b, x), offsetOf(b, value), offsetOf(b, slope), n);
  return [value, slope];
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
    if (!tf.util.arraysEqual(t.shape, p.shape))
      throw new Error(`${ADAM_KERNEL}: the parameter, gradient and moments differ in shape`);
  }
  const k = kernels(backend);
  const b = backend as WasmBackend;
  const outs = [
    b.makeOutput(p.shape, 'float32'),
    b.makeOutput(p.shape, 'float32'),
    b.makeOutput(p.shape, 'float32'),
  ] as const;
  const n = tf.util.sizeFromShape(p.shape);
  const at = (t: tf.TensorInfo) => offsetOf(b, t);
  if (n > 0) {
    k.adam(
      at(p),
      at(g),
      at(m),
      at(v),
      at(outs[0]),
      at(outs[1]),
      at(outs[2]),
      n,
      a.gradScale,
      a.beta1,
      1 - a.beta1,
      a.beta2,
      1 - a.beta2,
      a.c1,
      a.c2,
      a.epsilon,
      a.lr,
    );
  }
  return [...outs];
}

function conv3x3({ inputs, backend }: Args): tf.TensorInfo {
  const attrs = {
    strides: [1, 1],
    pad: 'same',
    dataFormat: 'NHWC',
    dilations: [1, 1],
    dimRoundingMode: undefined,
    activation: 'linear',
    leakyreluAlpha: undefined,
  };
  return runKernel('wasm', 'FusedConv2D', backend, inputs, attrs);
}

/** w[kh, kw, ci, co] → w[2 − kh, 2 − kw, co, ci] for a 3×3 filter, in one pass over the heap. */
function rotatedFilter({ inputs, backend }: Args): tf.TensorInfo {
  const { filter } = inputs as { filter: tf.TensorInfo };
  float32(filter, ROTATED_FILTER_KERNEL);
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const b = backend as WasmBackend;
  const out = b.makeOutput([kh, kw, co, ci], 'float32');
  const heap = b.wasm.HEAPU8.buffer;
  const src = new Float32Array(heap, offsetOf(b, filter), kh * kw * ci * co);
  const dst = new Float32Array(heap, offsetOf(b, out), kh * kw * ci * co);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      const from = (h * kw + w) * ci * co;
      const to = ((kh - 1 - h) * kw + (kw - 1 - w)) * ci * co;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o]!;
    }
  }
  return out;
}

function identity({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

const CONVOLUTION = [
  { kernelName: CONV3X3_KERNEL, kernelFunc: conv3x3 },
  { kernelName: CONV3X3_GRADS_KERNEL, kernelFunc: conv3x3Grads },
  { kernelName: ROTATED_FILTER_KERNEL, kernelFunc: rotatedFilter },
];

const ELEMENTWISE = [
  { kernelName: ACTIVATION_KERNEL, kernelFunc: activation },
  { kernelName: ACTIVATION_GRAD_KERNEL, kernelFunc: activationGrad },
  { kernelName: ACTIVATION_SLOPE_KERNEL, kernelFunc: activationWithSlope },
  { kernelName: ADAM_KERNEL, kernelFunc: adam },
];

/** Drops the elementwise kernels for a backend instance the module cannot run on. */
function checkModule(backend: unknown): void {
  if (kernelsFor(backend)) return;
  for (const { kernelName } of ELEMENTWISE)
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
}

let registered = false;

/** Registers the project's wasm kernels once (call before or after the wasm backend is loaded). */
export function registerWasmKernels(): void {
  registerWasmConvBackpropFilter();
  if (registered) return;
  registered = true;
  for (const { kernelName, kernelFunc } of ELEMENTWISE) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      setupFunc: checkModule,
    });
  }
  for (const { kernelName, kernelFunc } of CONVOLUTION) {
    if (!tf.getKernel(kernelName, 'wasm'))
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  if (tf.getKernel('Identity', 'wasm')) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as unknown as tf.KernelFunc });
}
