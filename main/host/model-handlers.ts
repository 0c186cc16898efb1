/** Handlers for models, activation curves and feature maps. */
import { ACTIVATION_NAMES, ACTIVATIONS_F64, type ActivationName } from '../../ml/activations.ts';
import { errors } from '../../ml/errors.ts';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import type { Handlers, HostContext } from './context.ts';
import { exportModel, importModel, listModels, modelBytes, resolveModel } from './models.ts';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../../ml/node/atomic.ts';
import { existingFile, int, list, none, num, obj, oneOf } from './validate.ts';

/** The centre crop (input pixels a side) the feature maps are computed on. */
export const FEATURES_MAX_SIDE = 256;

export function modelHandlers(ctx: HostContext): Pick<Handlers, 'models:list' | 'models:import' | 'models:export' | 'models:download' | 'activations:curves' | 'features:maps'> {
  return {
    async 'models:list'(arg) {
      none(arg, 'models:list');
      return listModels(ctx.models);
    },
    async 'models:import'(arg) {
      const o = obj(arg, 'models:import', ['path']);
      return importModel(o.path, ctx.models);
    },
    async 'models:export'(arg) {
      const o = obj(arg, 'models:export', ['modelId', 'to']);
      await exportModel(await resolveModel(o.modelId, 'modelId', ctx.models), o.to, ctx.version);
    },
    async 'models:download'(arg) {
      const o = obj(arg, 'models:download', ['modelId', 'format']);
      if (!ctx.uploads) throw errors.badArgument('Downloads are for browser mode; in the desktop app, Export saves the model where you choose.');
      const model = await resolveModel(o.modelId, 'modelId', ctx.models);
      const format = oneOf(o.format, 'format', ['safetensors', 'onnx'] as const);
      const name = `${path.basename(model.path, '.safetensors')}.${format}`;
      // A file written for this request, in the session's own folder, then served to this session only.
      const file = path.join(ctx.uploads.dir, 'downloads', `${randomUUID()}`, name);
      await writeFileAtomic(file, await modelBytes(model, format, ctx.version));
      ctx.files.add(file, name);
      return { path: file, name };
    },
    async 'activations:curves'(arg) {
      const o = obj(arg, 'activations:curves', ['names', 'xMin', 'xMax', 'points']);
      const names = list(o.names, 'names', 1, ACTIVATION_NAMES.length).map((n, i) => oneOf(n, `names[${i}]`, ACTIVATION_NAMES));
      if (new Set(names).size !== names.length) throw errors.badArgument('names must not repeat an activation.');
      const xMin = num(o.xMin, 'xMin', -100, 100);
      const xMax = num(o.xMax, 'xMax', -100, 100);
      if (!(xMin < xMax)) throw errors.badArgument(`xMin (${xMin}) must be less than xMax (${xMax}).`);
      const points = int(o.points, 'points', 2, 10_000);
      return curves(names, xMin, xMax, points);
    },
    async 'features:maps'(arg) {
      const o = obj(arg, 'features:maps', ['modelIds', 'image', 'layer']);
      const ids = list(o.modelIds, 'modelIds', 2, 2);
      const layer = int(o.layer, 'layer', 0, 10_000);
      const image = await existingFile(o.image, 'image', IMAGE_EXTENSIONS);
      const a = await resolveModel(ids[0], 'modelIds[0]', ctx.models);
      const b = await resolveModel(ids[1], 'modelIds[1]', ctx.models);
      const spec = { models: [a.path, b.path] as const, image, layer, maxSide: FEATURES_MAX_SIDE };
      return ctx.engine.call({ type: 'features', spec });
    },
  };
}

/** f and f′ of each activation on an even grid (float64 references). */
export function curves(names: readonly ActivationName[], xMin: number, xMax: number, points: number) {
  const x = Array.from({ length: points }, (_, i) => xMin + ((xMax - xMin) * i) / (points - 1));
  const out: Record<string, { x: number[]; f: number[]; df: number[] }> = {};
  for (const n of names) {
    const a = ACTIVATIONS_F64[n];
    out[n] = { x, f: x.map(a.f), df: x.map(a.df) };
  }
  return out;
}
