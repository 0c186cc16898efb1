import type { ConcreteBackend } from '../backend-choice.ts';
import type { Evaluator } from '../train/validation.ts';
import { probeBackend } from './backends.ts';
import { OnnxUpscaler } from './onnx-runtime.ts';

/**
 * Where a training run on `backend` validates and previews: on a GPU, the training network itself
 * (its weights are already there); on CPUs, ONNX Runtime when it is installed, the fastest CPU
 * inference path (several times faster than tfjs-wasm on the same weights: `npm run bench -- --mode cpu`).
 */
export async function evaluatorFor(backend: ConcreteBackend): Promise<Evaluator | undefined> {
  if (backend === 'tensorflow' || backend === 'webgpu') {
    if ((await probeBackend(backend)).gpu) return undefined;
  }
  const onnx = await probeBackend('onnx');
  if (!onnx.available) return undefined;
  return { name: onnx.device ?? 'ONNX Runtime', open: (config, weights) => OnnxUpscaler.create(config, weights) };
}
