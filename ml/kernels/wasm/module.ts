import type * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from './bytes.ts';

/**
 * The project's WebAssembly SIMD kernels (./source.ts), instantiated on the memory of tfjs's wasm
 * backend so that they read and write its tensors where they lie. Pointers are byte offsets into that
 * memory, counts are elements.
 */
export interface WasmKernels {
  readonly tanhexp: (x: number, y: number, n: number) => void;
  readonly tanhexpGrad: (x: number, dy: number, dx: number, n: number) => void;
  readonly swish: (x: number, y: number, n: number) => void;
  readonly swishGrad: (x: number, dy: number, dx: number, n: number) => void;
  readonly mish: (x: number, y: number, n: number) => void;
  readonly mishGrad: (x: number, dy: number, dx: number, n: number) => void;
  readonly tanhexpWithSlope: (x: number, y: number, slope: number, n: number) => void;
  readonly swishWithSlope: (x: number, y: number, slope: number, n: number) => void;
  readonly mishWithSlope: (x: number, y: number, slope: number, n: number) => void;
  readonly adam: (
    p: number,
    g: number,
    m: number,
    v: number,
    pOut: number,
    mOut: number,
    vOut: number,
    n: number,
    scale: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    c1: number,
    c2: number,
    epsilon: number,
    lr: number,
  ) => void;
  readonly im2colTransposed: (
    src: number,
    dst: number,
    c: number,
    n: number,
    h: number,
    w: number,
    kh: number,
    kw: number,
    padTop: number,
    padLeft: number,
    oh: number,
    ow: number,
    n0: number,
    count: number,
  ) => void;
  readonly peak: (iterations: number) => number;
}

/** What the kernels use of tfjs's wasm backend (BackendWasm). */
export interface WasmBackend {
  readonly wasm: { readonly asm?: { readonly memory?: unknown }; readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** The parts of the WebAssembly JavaScript API used here (TypeScript's ES libraries do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
export const WebAssemblyJs = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: object | undefined;
const instances = new WeakMap<WasmMemory, WasmKernels>();

/** The compiled module (synchronously: it is small). */
export function kernelsModule(): object {
  compiled ??= new WebAssemblyJs.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  return compiled;
}

/** The kernels instantiated on `memory` (once per memory). */
export function kernelsOn(memory: WasmMemory): WasmKernels {
  let k = instances.get(memory);
  if (!k) {
    k = new WebAssemblyJs.Instance(kernelsModule(), { env: { memory } }).exports as unknown as WasmKernels;
    instances.set(memory, k);
  }
  return k;
}

/**
 * The kernels on the backend's memory, or undefined where they cannot run there: the backend's
 * memory is not exported (a build of tfjs other than the one in Node) or is shared (its threaded
 * build, whose memory a module without threads cannot import).
 */
export function kernelsFor(backend: unknown): WasmKernels | undefined {
  const memory = (backend as WasmBackend).wasm?.asm?.memory;
  if (!(memory instanceof WebAssemblyJs.Memory) || memory.buffer instanceof SharedArrayBuffer) return undefined;
  try {
    return kernelsOn(memory);
  } catch {
    return undefined;
  }
}

/** Byte offset of a tensor's data in the backend's memory. */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('tensor data is not on the wasm backend');
  return d.memoryOffset;
}
