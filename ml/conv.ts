import * as tf from '@tensorflow/tfjs-core';

/**
 * 3×3 "same" convolution with bias. The forward is tfjs's fused conv + bias everywhere.
 *
 * On webgpu its gradient is tfjs's own (Conv2DBackpropInput/Filter), which run the project's kernels
 * there (ml/kernels/webgpu/index.ts). Elsewhere it has its own gradient built from operations every
 * backend runs fast, so that backends without a (fast) Conv2DBackpropFilter kernel can train:
 *
 *   dx = conv2d(dy, w rotated 180° with in/out swapped)  (a forward conv)
 *   dw = conv2d(x_padᵀ, dyᵀ), batch and channels swapped  (a forward conv)
 *   db = Σ dy
 *
 * On wasm the same sums run through the project's kernels (CONV3X3_KERNEL below): dw and db as one
 * matrix product of the transposed im2col with dy (ml/kernels/wasm-conv-backprop-filter.ts).
 */
type Conv = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;

/** Backends whose Conv2DBackpropFilter/Input kernels the gradient uses directly. */
const KERNEL_GRADIENTS = new Set(['webgpu']);

/**
 * Kernels a backend may register to run this convolution's training in fewer, faster steps (the
 * project's wasm kernels do: ml/kernels/wasm/index.ts):
 * - CONV3X3_KERNEL {x, filter, bias} → y, the forward conv with bias, whose registered gradient below
 *   saves x and the filter as they are (tf.customGrad copies what it saves);
 * - CONV3X3_GRADS_KERNEL {x, dy} → [dw, db], the filter and bias gradients in one pass;
 * - ROTATED_FILTER_KERNEL {filter} → the filter rotated 180° with in/out swapped, for dx.
 */
export const CONV3X3_KERNEL = 'SrConv3x3';
export const CONV3X3_GRADS_KERNEL = 'SrConv3x3FilterBiasGrad';
export const ROTATED_FILTER_KERNEL = 'SrRotatedFilter';

const registered = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

export const conv3x3: Conv = (x, w, b) => {
  if (KERNEL_GRADIENTS.has(tf.getBackend())) return tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' });
  if (registered(CONV3X3_KERNEL))
    return tf.engine().runKernel(CONV3X3_KERNEL, { x, filter: w, bias: b }) as tf.Tensor4D;
  return viaForwardConvs(x, w, b);
};

tf.registerGradient({
  kernelName: CONV3X3_KERNEL,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved) => {
    const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
    // Both from one kernel, run here rather than in the per-input closures: the tape runs each closure
    // in a tidy of its own, which would dispose the other's result.
    const [dw, db] = tf.engine().runKernel(CONV3X3_GRADS_KERNEL, { x, dy: dy as tf.Tensor }) as [tf.Tensor, tf.Tensor];
    return { x: () => conv3x3InputGrad(dy as tf.Tensor4D, w), filter: () => dw, bias: () => db };
  },
});

const viaForwardConvs: Conv = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, b] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
  const save = args[3] as tf.GradSaveFunc;
  save([x, w]);
  const value = tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' });
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
    return [conv3x3InputGrad(dy as tf.Tensor4D, ws), conv3x3FilterGrad(xs, dy as tf.Tensor4D), tf.sum(dy, [0, 1, 2])];
  };
  return { value, gradFunc };
}) as unknown as Conv;

/** ∂L/∂x for a 3×3 "same" convolution: dy convolved with the kernel rotated 180° and I/O swapped. */
export function conv3x3InputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const rotated = registered(ROTATED_FILTER_KERNEL)
      ? (tf.engine().runKernel(ROTATED_FILTER_KERNEL, { filter: w }) as tf.Tensor4D)
      : (tf.reverse(tf.transpose(w, [0, 1, 3, 2]), [0, 1]) as tf.Tensor4D);
    return tf.conv2d(dy, rotated, 1, 'same');
  });
}

/** Backends whose Conv2DBackpropFilter kernel is the project's (wasm: one matrix product, ml/kernels/wasm-conv-backprop-filter.ts). */
const KERNEL_FILTER_GRADIENT = new Set(['wasm']);

/**
 * ∂L/∂w for a 3×3 "same" convolution, HWIO, as one forward convolution with batch and channels
 * swapped: dw[kh, kw, ci, co] = Σ_{n,h,w} x_pad[n, h+kh, w+kw, ci] · dy[n, h, w, co] is a "valid"
 * convolution of x_padᵀ ([Ci, H+2, W+2, N]) with dyᵀ ([H, W, N, Co]) as the filter, giving
 * [Ci, 3, 3, Co]. Backends run forward convolutions on their fastest path. On wasm the project's
 * Conv2DBackpropFilter computes the same sum as one matrix product, which XNNPACK runs faster than
 * this convolution (whose inner dimension is only N long per tap).
 */
export function conv3x3FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  if (KERNEL_FILTER_GRADIENT.has(tf.getBackend())) {
    const attrs = {
      strides: 1,
      pad: 'same',
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape: [3, 3, x.shape[3], dy.shape[3]],
    };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const xt = tf.transpose(
      tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      [3, 1, 2, 0],
    ) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xt, dyt, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}
