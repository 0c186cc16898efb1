import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_KERNEL, ACTIVATION_GRAD_KERNEL, type SmoothActivation } from '../../activations.ts';
import { ACTIVATION_WGSL, ActivationProgram } from './activation.ts';
import { CONV_BLOCK, DirectConvProgram, PIXELS } from './conv.ts';
import {
  BLOCK,
  ColumnSumPartialProgram,
  DEPTH,
  DirectFilterGradProgram,
  FilterGradPartialProgram,
  SumSplitsProgram,
  TILE,
} from './filter-grad.ts';
import type { Program, Uniform, WebGpuBackend } from './program.ts';
import { runKernel } from '../run-kernel.ts';

/**
 * The project's kernels for tfjs's webgpu backend, chosen by profiling a training step of the
 * residual-in-residual network (on an H100, tfjs's own Conv2DBackpropFilter took 93% of the GPU
 * time: it gives each of the KH·KW·Ci·Co outputs one thread that walks batch × height × width alone).
 * Two styles, picked by the adapter:
 *
 * `tiled`, for GPUs:
 * - Conv2DBackpropFilter as an implicit-GEMM reduction. dW is [KH·KW·Ci] × [Co], the sum over
 *   M = batch × height × width of im2col(x)ᵀ · dy. Each 256-thread workgroup computes a 64 × 64 tile
 *   of dW over one slice of M (split-K), staging 16-deep slices of both operands in workgroup memory
 *   and accumulating 4 × 4 outer products per thread; a second pass sums the slices.
 * - Conv2DBackpropInput (stride 1) as the forward convolution of dy with the filter rotated 180° and
 *   its in/out channels swapped, on tfjs's own matrix-multiply convolution (on the H100 tfjs's forward
 *   conv took 0.18 ms where its Conv2DBackpropInput of the same shape took 0.46 ms).
 *
 * `direct`, for software adapters (Mesa's lavapipe/llvmpipe, SwiftShader), which run a workgroup's
 * invocations as the SIMD lanes of one CPU thread: workgroup memory and barriers cost more than they
 * save there, and every storage-buffer load is dear, so each invocation owns a register block of
 * outputs and loads as few values per FMA as it can (DirectConvProgram, DirectFilterGradProgram).
 * The forward convolution (Conv2D, FusedConv2D without activation) and the input gradient use the
 * direct convolution; the filter gradient the direct split-K reduction.
 *
 * Both: the smooth activations (TanhExp, Swish, Mish) forward and backward in one elementwise pass
 * each (kernels named by ACTIVATION_KERNEL / ACTIVATION_GRAD_KERNEL, which ml/activations.ts runs).
 * Shapes a kernel does not handle (other strides, NCHW, fused activations) go to tfjs's own.
 *
 * Registration replaces tfjs's kernels of the same name for 'webgpu' and keeps them, so
 * `useProjectKernels(false)` restores tfjs's own (the benchmark and the parity tests compare both).
 */

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type ConvAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | number[][];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
};

const pair = (v: number | number[] | undefined): [number, number] =>
  v === undefined ? [1, 1] : Array.isArray(v) ? [v[0]!, v[1] ?? v[0]!] : [v, v];

/**
 * Which family of convolution kernels runs: `tiled` (workgroup-memory GEMM tiles for the filter
 * gradient, tfjs's matrix-multiply convolution for the rest: GPUs) or `direct` (register-blocked
 * kernels without workgroup memory: software adapters). See the top of this file.
 */
export type KernelStyle = 'tiled' | 'direct';

/** Workgroups to aim for across the splits: enough to fill a large GPU (or every CPU core), few enough to keep partials small. */
const TARGET_WORKGROUPS: Record<KernelStyle, number> = { tiled: 512, direct: 64 };

let style: KernelStyle = 'tiled';

function theirs(name: string, args: KernelArgs): tf.TensorInfo {
  const k = originals.get(name);
  if (!k) throw new Error(`tfjs's webgpu backend has no ${name} kernel`);
  return k.kernelFunc(args as never) as tf.TensorInfo;
}

function filterGrad(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC') return theirs('Conv2DBackpropFilter', args);
  const backend = args.backend as WebGpuBackend;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape!,
    a.strides,
    1,
    a.pad as never,
    a.dimRoundingMode,
  );
  const [kh, kw, ci, co] = a.filterShape!;
  const rows = kh * kw * ci;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const direct = style === 'direct';
  const tiles = direct ? Math.ceil(rows / 256) * Math.ceil(co / BLOCK) : Math.ceil(rows / TILE) * Math.ceil(co / TILE);
  const wantSplits = Math.max(1, Math.min(Math.ceil(m / (4 * DEPTH)), Math.ceil(TARGET_WORKGROUPS[style] / tiles)));
  const chunk = Math.ceil(m / wantSplits / DEPTH) * DEPTH;
  const splits = Math.ceil(m / chunk);
  const uniforms: Uniform[] = [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [kh, kw] },
    { type: 'int32', data: [chunk] },
  ];
  const program = direct
    ? new DirectFilterGradProgram(splits, rows, ci, co)
    : new FilterGradPartialProgram(splits, rows, co);
  return splitThenSum(backend, program, [x, dy], uniforms, splits, [kh, kw, ci, co]);
}

/** Runs a program that writes [splits, …] partial results, then sums them into `outShape`. */
function splitThenSum(
  backend: WebGpuBackend,
  program: Program,
  inputs: tf.TensorInfo[],
  uniforms: Uniform[],
  splits: number,
  outShape: number[],
): tf.TensorInfo {
  const partial = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  try {
    return backend.runWebGPUProgram(new SumSplitsProgram(outShape), [partial], 'float32', [
      { type: 'int32', data: [splits] },
    ]);
  } finally {
    backend.disposeData(partial.dataId);
  }
}

/** WebGPU's guaranteed limit on workgroups per dispatch dimension. */
const MAX_WORKGROUPS = 65535;

/** Conv2D / FusedConv2D (1-D bias, no activation) with the direct kernel on software adapters, else tfjs's. */
function forwardConv(name: 'Conv2D' | 'FusedConv2D', args: KernelArgs): tf.TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as ConvAttrs & { dilations?: number | number[]; activation?: string };
  const [sh, sw] = pair(a.strides as number | number[]);
  const [dh, dw] = pair(a.dilations);
  const fs = filter!.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x!.shape as [number, number, number, number],
    fs,
    1,
    1,
    a.pad as never,
    a.dimRoundingMode,
  );
  const outShape: [number, number, number, number] = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (
    style !== 'direct' ||
    (a.dataFormat ?? 'NHWC') !== 'NHWC' ||
    sh !== 1 ||
    sw !== 1 ||
    dh !== 1 ||
    dw !== 1 ||
    info.outChannels % CONV_BLOCK !== 0 ||
    (a.activation !== undefined && a.activation !== 'linear') ||
    preluActivationWeights ||
    (bias && !(bias.shape.length === 1 && bias.shape[0] === info.outChannels)) ||
    Math.ceil((info.batchSize * info.outHeight * info.outWidth) / PIXELS / 64) > MAX_WORKGROUPS
  ) {
    return theirs(name, args);
  }
  const backend = args.backend as WebGpuBackend;
  return backend.runWebGPUProgram(
    new DirectConvProgram(outShape, !!bias),
    bias ? [x!, filter!, bias] : [x!, filter!],
    'float32',
    [{ type: 'int32', data: [info.padInfo.top, info.padInfo.left] }],
  );
}

/**
 * Sum over every axis but the last (a convolution's bias gradient) with a split column sum on
 * software adapters; every other Sum is tfjs's.
 */
function sum(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const cols = x.shape[rank - 1]!;
  const allButLast = rank >= 2 && axes.length === rank - 1 && axes.every((v, i) => v === i);
  if (style !== 'direct' || !allButLast || keepDims || x.dtype !== 'float32' || cols % 4 !== 0)
    return theirs('Sum', args);
  const backend = args.backend as WebGpuBackend;
  const rows = tf.util.sizeFromShape(x.shape) / cols;
  const splits = Math.max(1, Math.min(TARGET_WORKGROUPS.direct, Math.ceil(rows / 256)));
  const chunk = Math.ceil(rows / splits);
  const uniforms: Uniform[] = [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [chunk] },
  ];
  return splitThenSum(backend, new ColumnSumPartialProgram(splits, cols), [x], uniforms, splits, [cols]);
}

/** Runs another webgpu kernel (tfjs's or ours) by name. */
const run = (
  name: string,
  args: KernelArgs,
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, unknown>,
): tf.TensorInfo => runKernel('webgpu', name, args.backend, inputs, attrs);

function inputGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  const [sh, sw] = pair(a.strides as number | number[]);
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || sh !== 1 || sw !== 1) return theirs('Conv2DBackpropInput', args);
  const backend = args.backend as WebGpuBackend;
  const inShape = a.inputShape!;
  const [kh, kw] = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filter.shape as [number, number, number, number],
    1,
    1,
    a.pad as never,
    a.dimRoundingMode,
  );
  // dx[y] = Σ_k dy[y + top − k] · w[k] = Σ_k′ dy[y − (kh − 1 − top) + k′] · w[kh − 1 − k′]: a stride-1
  // convolution with the rotated filter, top padding kh − 1 − top, and bottom padding so it gives H rows.
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inShape[1] - info.outHeight - top + kh - 1;
  const right = inShape[2] - info.outWidth - left + kw - 1;
  const temps: tf.TensorInfo[] = [];
  try {
    const swapped = run('Transpose', args, { x: filter }, { perm: [0, 1, 3, 2] });
    temps.push(swapped);
    const rotated = run('Reverse', args, { x: swapped }, { dims: [0, 1] });
    temps.push(rotated);
    const same = top === bottom && left === right && top === (kh - 1) / 2 && left === (kw - 1) / 2;
    return run(
      'Conv2D',
      args,
      { x: dy, filter: rotated },
      {
        strides: 1,
        pad: same
          ? 'same'
          : [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
        dataFormat: 'NHWC',
        dilations: 1,
        dimRoundingMode: undefined,
      },
    );
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function activation(args: KernelArgs, grad: boolean): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy?: tf.TensorInfo };
  const act = (args.attrs as { activation: SmoothActivation }).activation;
  if (!ACTIVATION_WGSL[act]) throw new Error(`no webgpu kernel for the ${act} activation`);
  const backend = args.backend as WebGpuBackend;
  const n = tf.util.sizeFromShape(x.shape);
  return backend.runWebGPUProgram(new ActivationProgram(act, grad, x.shape), grad ? [x, dy!] : [x], 'float32', [
    { type: 'int32', data: [n] },
  ]);
}

const OURS: ReadonlyArray<{ kernelName: string; kernelFunc: (args: KernelArgs) => tf.TensorInfo }> = [
  { kernelName: 'Conv2D', kernelFunc: (a) => forwardConv('Conv2D', a) },
  { kernelName: 'FusedConv2D', kernelFunc: (a) => forwardConv('FusedConv2D', a) },
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: filterGrad },
  { kernelName: 'Conv2DBackpropInput', kernelFunc: inputGrad },
  { kernelName: 'Sum', kernelFunc: sum },
  { kernelName: ACTIVATION_KERNEL, kernelFunc: (a) => activation(a, false) },
  { kernelName: ACTIVATION_GRAD_KERNEL, kernelFunc: (a) => activation(a, true) },
];

/** tfjs's own webgpu kernels that ours replace, kept to restore them and for the cases ours leave to them. */
const originals = new Map<string, tf.KernelConfig | undefined>();
let enabled = false;

/**
 * Installs (or, with `false`, removes) the project's webgpu kernels, in the given style (`direct`
 * for a software adapter, `tiled` for a GPU). Call after @tensorflow/tfjs-backend-webgpu is
 * imported; idempotent. Returns whether they were on before.
 */
export function useProjectKernels(on = true, kernelStyle: KernelStyle = style): boolean {
  const was = enabled;
  style = kernelStyle;
  if (on === enabled) return was;
  for (const k of OURS) {
    if (!originals.has(k.kernelName)) originals.set(k.kernelName, tf.getKernel(k.kernelName, 'webgpu'));
    if (tf.getKernel(k.kernelName, 'webgpu')) tf.unregisterKernel(k.kernelName, 'webgpu');
    const theirs = originals.get(k.kernelName);
    if (on)
      tf.registerKernel({
        kernelName: k.kernelName,
        backendName: 'webgpu',
        kernelFunc: k.kernelFunc as unknown as tf.KernelFunc,
      });
    else if (theirs) tf.registerKernel(theirs);
  }
  enabled = on;
  return was;
}

/** Whether the project's kernels are in use, and in which style. */
export function projectKernels(): { enabled: boolean; style: KernelStyle } {
  return { enabled, style };
}
