/**
 * Running small ONNX graphs in ONNX Runtime for tests that check them against a reference: whether
 * the runtime is there (`skip`), one run of a graph (`runModel`) and the error measure they compare with.
 */
import assert from 'node:assert/strict';
import { probeOnnxRuntime } from '../../ml/node/onnx-runtime.ts';

const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
export const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;
const ort = probe.ok ? await import('onnxruntime-node') : undefined;

export type Feeds = Record<string, { data: Float32Array; dims: readonly number[] }>;

/** Runs the model `bytes` once on `feeds` (float32), answering each output by name. */
export async function runModel(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort!.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort!.Tensor('float32', v.data, v.dims)]),
    );
    const out = await session.run(inputs);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** max |a − b| over max |b| (0 when both are 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? err : err / scale;
}
