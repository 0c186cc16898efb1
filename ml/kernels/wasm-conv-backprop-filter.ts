import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from './run-kernel.ts';
import { kernelsFor, offsetOf, type WasmBackend, type WasmKernels } from './wasm/module.ts';

/**
 * Conv2DBackpropFilter for the wasm backend, which ships none (so tf.conv2d's own gradient fails
 * there), for NHWC, stride 1, dilation 1. The filter gradient is one matrix product:
 *
 *   dw[(kh, kw, ci), co] = Σ_{n,h,w} x_pad[n, h+kh, w+kw, ci] · dy[n, h, w, co] = colsᵀ · dy
 *
 * with colsᵀ [KH·KW·Ci, N·H·W] the transposed im2col of the input, written by the project's wasm
 * kernel from xᵀ [Ci, N, H, W] (one transpose), and dy read as it lies ([N·H·W, Co]). XNNPACK's
 * matrix product then runs with a long inner dimension, and its rows (kh, kw, ci) are HWIO's order,
 * so the product is the gradient itself. The columns take KH·KW times the input's memory; larger
 * batches go in chunks of images whose products are summed, so that they stay under MAX_COLUMN_FLOATS.
 *
 * Where the project's wasm module cannot run, the same sum is one "valid" forward convolution of the
 * padded input with the output gradient, batch and channels swapped:
 *   Conv2D(x_padᵀ [Ci, Hp, Wp, N], dyᵀ [H, W, N, Co], 'valid') → [Ci, KH, KW, Co]
 * (3× slower on a training step: XNNPACK's convolution has only N channels per tap to reduce over).
 *
 * The network's own convolutions (ml/conv.ts) use this kernel on wasm; it also makes plain tfjs code
 * that differentiates tf.conv2d work there.
 */
type Info = tf.TensorInfo;
type Attrs = {
  strides: number | number[];
  pad: 'same' | 'valid' | number | number[][];
  dataFormat: string;
  dilations?: number | number[];
  filterShape: number[];
};

/** The columns of one product (KH·KW times its images' input) stay under 64 MB. */
export const MAX_COLUMN_FLOATS = 16 * 2 ** 20;

const run = (name: string, backend: WasmBackend, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info =>
  runKernel('wasm', name, backend, inputs, attrs);

function conv2dBackpropFilter({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = (attrs ?? {}) as unknown as Attrs;
  const [kh, kw] = a.filterShape as [number, number];
  const ones = (v: number | number[] | undefined) =>
    v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
  if (a.dataFormat !== 'NHWC' || !ones(a.strides) || !ones(a.dilations) || typeof a.pad === 'object') {
    throw new Error(
      'Conv2DBackpropFilter on wasm supports NHWC, stride 1, dilation 1 and "same"/"valid"/numeric padding only',
    );
  }
  const [, h, w] = x.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  // Padding so that a valid conv of the padded input gives dy's size: (oh − 1 + kh − h) split as tfjs's "same" does.
  const total = (o: number, k: number, i: number) => Math.max(0, o - 1 + k - i);
  const before = (t: number) => (a.pad === 'same' ? Math.floor(t / 2) : typeof a.pad === 'number' ? a.pad : 0);
  const th = typeof a.pad === 'number' ? 2 * a.pad : total(oh, kh, h);
  const tw = typeof a.pad === 'number' ? 2 * a.pad : total(ow, kw, w);
  const pads = { top: before(th), bottom: th - before(th), left: before(tw), right: tw - before(tw) };
  const b = backend as WasmBackend;
  const kernels = kernelsFor(backend);
  return kernels ? viaColumns(kernels, b, x, dy, kh, kw, pads, false)[0]! : viaForwardConv(b, x, dy, pads);
}

/**
 * The filter and bias gradients of a 3×3 "same" convolution together (CONV3X3_GRADS_KERNEL of
 * ml/conv.ts): the columns get one more row, of ones, whose product with dy is the bias gradient Σ dy.
 */
export function conv3x3Grads({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): Info[] {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const b = backend as WasmBackend;
  const pads = { top: 1, bottom: 1, left: 1, right: 1 };
  const kernels = kernelsFor(backend);
  if (kernels) return viaColumns(kernels, b, x, dy, 3, 3, pads, true);
  return [viaForwardConv(b, x, dy, pads), run('Sum', b, { x: dy }, { axis: [0, 1, 2], keepDims: false })];
}

function viaColumns(
  k: WasmKernels,
  b: WasmBackend,
  x: Info,
  dy: Info,
  kh: number,
  kw: number,
  pads: { top: number; left: number },
  withBias: boolean,
): Info[] {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [, oh, ow, co] = dy.shape as [number, number, number, number];
  const rows = kh * kw * ci;
  const perImage = oh * ow;
  const chunk = Math.max(1, Math.min(n, Math.floor(MAX_COLUMN_FLOATS / ((rows + 1) * perImage))));
  const temps: Info[] = [];
  const keep = (t: Info) => (temps.push(t), t);
  try {
    const xt = keep(run('Transpose', b, { x }, { perm: [3, 0, 1, 2] }));
    let sum: Info | undefined;
    for (let n0 = 0; n0 < n; n0 += chunk) {
      const count = Math.min(chunk, n - n0);
      const cols = keep(b.makeOutput([rows + (withBias ? 1 : 0), count * perImage], 'float32'));
      k.im2colTransposed(
        offsetOf(b, xt),
        offsetOf(b, cols),
        ci,
        n,
        h,
        w,
        kh,
        kw,
        pads.top,
        pads.left,
        oh,
        ow,
        n0,
        count,
      );
      if (withBias)
        new Float32Array(b.wasm.HEAPU8.buffer, offsetOf(b, cols) + rows * count * perImage * 4, count * perImage).fill(
          1,
        );
      const rhs = keep(
        count === n
          ? run('Reshape', b, { x: dy }, { shape: [n * perImage, co] })
          : rowsOf(b, dy, n0 * perImage * co, count * perImage, co),
      );
      const product = keep(run('BatchMatMul', b, { a: cols, b: rhs }, { transposeA: false, transposeB: false }));
      sum = sum ? keep(run('Add', b, { a: sum, b: product }, {})) : product;
    }
    if (!withBias) return [run('Reshape', b, { x: sum! }, { shape: [kh, kw, ci, co] })];
    return [rowsOf(b, sum!, 0, rows, co, [kh, kw, ci, co]), rowsOf(b, sum!, rows * co, 1, co, [co])];
  } finally {
    for (const t of temps) b.disposeData(t.dataId);
  }
}

/** A copy of `count` rows of `width` floats of `t`, from float `start` on, as a [count, width] tensor (or `shape`). */
function rowsOf(b: WasmBackend, t: Info, start: number, count: number, width: number, shape = [count, width]): Info {
  const out = b.makeOutput(shape, 'float32');
  const heap = new Uint8Array(b.wasm.HEAPU8.buffer);
  const from = offsetOf(b, t) + start * 4;
  heap.copyWithin(offsetOf(b, out), from, from + count * width * 4);
  return out;
}

function viaForwardConv(
  b: WasmBackend,
  x: Info,
  dy: Info,
  pads: { top: number; bottom: number; left: number; right: number },
): Info {
  const temps: Info[] = [];
  const keep = (t: Info) => (temps.push(t), t);
  try {
    const paddings = [
      [0, 0],
      [pads.top, pads.bottom],
      [pads.left, pads.right],
      [0, 0],
    ];
    const xp = keep(run('PadV2', b, { x }, { paddings, constantValue: 0 }));
    const xt = keep(run('Transpose', b, { x: xp }, { perm: [3, 1, 2, 0] }));
    const dyt = keep(run('Transpose', b, { x: dy }, { perm: [1, 2, 0, 3] }));
    const conv = keep(
      run(
        'Conv2D',
        b,
        { x: xt, filter: dyt },
        { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined },
      ),
    );
    return run('Transpose', b, { x: conv }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temps) b.disposeData(t.dataId);
  }
}

let registered = false;

/** Registers the kernel for wasm once (before or after the wasm backend module is loaded). */
export function registerWasmConvBackpropFilter(): void {
  if (registered || tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  });
  registered = true;
}
