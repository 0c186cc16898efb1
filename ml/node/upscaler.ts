import type { ConcreteBackend } from '../backend-choice.ts';
import { errors } from '../errors.ts';
import { Network, type NetworkConfig } from '../network.ts';
import { networkTiles, type TileModel } from '../tiling.ts';
import type { ModelFile } from '../weights.ts';
import { ImportedOnnx, isOnnxPath, type ImportedFacts } from './imported-model.ts';
import type { InputRange } from './imported-probe.ts';
import { loadModelFile } from './models.ts';
import { OnnxUpscaler } from './onnx-runtime.ts';

/** A tile model that owns what it runs on; dispose it when the batch is done. */
export interface Upscaler extends TileModel {
  dispose(): void | Promise<void>;
}

/** An imported ONNX model to run (ml/node/imported-model.ts), with what is known of it already. */
export interface ImportedModelRef {
  readonly onnx: string;
  readonly known?: ImportedFacts | undefined;
  readonly range?: InputRange | undefined;
  readonly overlap?: number | undefined;
  /** How messages name the model, when `onnx` is another path to it (an open file's). */
  readonly shownAs?: string | undefined;
  /** The scale the caller asked for, checked once the model is opened. */
  readonly scale?: number | undefined;
}

export type UpscaleModel = Pick<ModelFile, 'config' | 'weights'> | ImportedModelRef;

export const isImportedRef = (m: UpscaleModel): m is ImportedModelRef => 'onnx' in m;

/** A model file for upscaling: an SR Studio weights file, or an ONNX model to import as it is. */
export async function loadUpscaleModel(
  file: string,
  expect: Partial<NetworkConfig> = {},
): Promise<ModelFile | ImportedModelRef> {
  return isOnnxPath(file) ? { onnx: file } : loadModelFile(file, expect);
}

/**
 * Opens the weights on the runtime the backend selection names: ONNX Runtime for `onnx`, the tfjs
 * network (on the active tfjs backend) for everything else. Imported ONNX models always run on
 * ONNX Runtime. `threads` caps ONNX Runtime's threads (default: one per core), e.g. to leave cores
 * to a training running beside.
 */
export async function openUpscaler(backend: ConcreteBackend, model: UpscaleModel, threads?: number): Promise<Upscaler> {
  if (isImportedRef(model)) {
    const m = await ImportedOnnx.open(model.onnx, {
      threads,
      known: model.known,
      range: model.range,
      overlap: model.overlap,
      shownAs: model.shownAs,
    });
    if (model.scale !== undefined && model.scale !== m.scale) {
      await m.dispose();
      throw errors.scaleMismatch(model.shownAs ?? model.onnx, m.scale, model.scale);
    }
    return m;
  }
  if (backend === 'onnx') return OnnxUpscaler.create(model.config, model.weights, threads ? { threads } : {});
  const net = new Network(model.config, model.weights, false);
  return { ...networkTiles(net), dispose: () => net.dispose() };
}
