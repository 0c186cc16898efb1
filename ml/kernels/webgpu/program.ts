import type * as tf from '@tensorflow/tfjs-core';

/**
 * The shapes of tfjs-backend-webgpu's program machinery that the project's kernels use (its
 * WebGPUProgram interface is not exported in a form that can be implemented from outside).
 */

/** The part of tfjs's WebGPUBackend these kernels use. */
export interface WebGpuBackend {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[]): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}
export type Uniform = { type: 'int32' | 'float32'; data: number[] };

/** tfjs-backend-webgpu's program interface (WebGPUProgram), the fields these programs set. */
export interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  size?: boolean;
  outputComponent?: number;
  variableComponents?: number[];
  getUserCode(): string;
}
