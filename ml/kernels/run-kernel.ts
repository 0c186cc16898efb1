import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs the kernel registered under `name` for `backendName` (tfjs's or the project's) on tensor infos,
 * from inside another kernel: kernels compose other kernels this way, without the engine's tape.
 */
export function runKernel(
  backendName: string,
  name: string,
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`the ${backendName} backend has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as tf.TensorInfo;
}
