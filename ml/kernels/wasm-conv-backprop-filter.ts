import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from './run-kernel.ts';

/**
 * Conv2DBackpropFilter for the wasm backend, which ships none (so tf.conv2d's own gradient fails
 * there). Built from the backend's XNNPACK-backed kernels: the filter gradient of a stride-1,
 * dilation-1 NHWC convolution is one "valid" forward convolution of the padded input with the
 * output gradient, batch and channels swapped:
 *
 *   dw[kh, kw, ci, co] = Σ_{n,h,w} x_pad[n, h+kh, w+kw, ci] · dy[n, h, w, co]
 *                      = Conv2D(x_padᵀ [Ci, Hp, Wp, N], dyᵀ [H, W, N, Co], 'valid') → [Ci, kh, kw, Co]
 *
 * The network itself trains through ml/conv.ts (the same idea as a custom gradient, for every
 * backend); this kernel makes plain tfjs code that differentiates tf.conv2d work on wasm too.
 */
type Backend = { disposeData(dataId: tf.DataId): boolean };
type Info = tf.TensorInfo;

const run = (name: string, backend: Backend, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info =>
  runKernel('wasm', name, backend, inputs, attrs);

function conv2dBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = (attrs ?? {}) as { strides: number | number[]; pad: 'same' | 'valid' | number | number[][]; dataFormat: string; dilations?: number | number[]; filterShape: number[] };
  const [kh, kw] = a.filterShape as [number, number];
  const ones = (v: number | number[] | undefined) => v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
  if (a.dataFormat !== 'NHWC' || !ones(a.strides) || !ones(a.dilations) || typeof a.pad === 'object') {
    throw new Error('Conv2DBackpropFilter on wasm supports NHWC, stride 1, dilation 1 and "same"/"valid"/numeric padding only');
  }
  const [, h, w] = x.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  // Padding so that a valid conv of the padded input gives dy's size: ph = (oh − 1 + kh − h) split as tfjs "same" does.
  const total = (o: number, k: number, i: number) => Math.max(0, o - 1 + k - i);
  const before = (t: number) => (a.pad === 'same' ? Math.floor(t / 2) : typeof a.pad === 'number' ? a.pad : 0);
  const th = typeof a.pad === 'number' ? 2 * a.pad : total(oh, kh, h);
  const tw = typeof a.pad === 'number' ? 2 * a.pad : total(ow, kw, w);
  const b = backend as Backend;
  const temps: Info[] = [];
  const keep = (t: Info) => (temps.push(t), t);
  try {
    const paddings = [
      [0, 0],
      [before(th), th - before(th)],
      [before(tw), tw - before(tw)],
      [0, 0],
    ];
    const xp = keep(run('PadV2', b, { x }, { paddings, constantValue: 0 }));
    const xt = keep(run('Transpose', b, { x: xp }, { perm: [3, 1, 2, 0] }));
    const dyt = keep(run('Transpose', b, { x: dy }, { perm: [1, 2, 0, 3] }));
    const conv = keep(run('Conv2D', b, { x: xt, filter: dyt }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined }));
    return run('Transpose', b, { x: conv }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const t of temps) b.disposeData(t.dataId);
  }
}

let registered = false;

/** Registers the kernel for wasm once (call after the wasm backend module is loaded). */
export function registerWasmConvBackpropFilter(): void {
  if (registered || tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc });
  registered = true;
}
