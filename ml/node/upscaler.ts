import type { ConcreteBackend } from '../backend-choice.ts';
import { Network, type NetworkConfig } from '../network.ts';
import { networkTiles, type TileModel } from '../tiling.ts';
import { OnnxUpscaler } from './onnx-runtime.ts';

/** A tile model that owns what it runs on; dispose it when the batch is done. */
export interface Upscaler extends TileModel {
  dispose(): void | Promise<void>;
}

/**
 * Opens the weights on the runtime the backend selection names: ONNX Runtime for `onnx`, the tfjs
 * network (on the active tfjs backend) for everything else. `threads` caps ONNX Runtime's threads
 * (default: one per core), e.g. to leave cores to a training running beside.
 */
export async function openUpscaler(
  backend: ConcreteBackend,
  model: { readonly config: NetworkConfig; readonly weights: ReadonlyMap<string, Float32Array> },
  threads?: number,
): Promise<Upscaler> {
  if (backend === 'onnx') return OnnxUpscaler.create(model.config, model.weights, threads ? { threads } : {});
  const net = new Network(model.config, model.weights, false);
  return { ...networkTiles(net), dispose: () => net.dispose() };
}
