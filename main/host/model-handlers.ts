/** Handlers for models, activation curves and feature maps. */
import { ACTIVATION_NAMES, ACTIVATIONS_F64, type ActivationName } from '../../ml/activations.ts';
import { errors } from '../../ml/errors.ts';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import type { Handlers, HostContext } from './context.ts';
import { keptDownload } from './downloads.ts';
import {
  adjustModel,
  exportModel,
  importedSettings,
  importModel,
  listModels,
  modelBytes,
  openModel,
  probeImport,
} from './models.ts';
import path from 'node:path';
import { asGiven, type Opened } from './opened.ts';
import { int, list, none, num, obj, oneOf, openFile } from './validate.ts';

/** The centre crop (input pixels a side) the feature maps are computed on. */
export const FEATURES_MAX_SIDE = 256;

export function modelHandlers(
  ctx: HostContext,
): Pick<
  Handlers,
  | 'models:list'
  | 'models:probe'
  | 'models:import'
  | 'models:adjust'
  | 'models:export'
  | 'models:download'
  | 'activations:curves'
  | 'features:maps'
> {
  return {
    async 'models:list'(arg, access) {
      none(arg, 'models:list');
      return listModels(ctx.models, access);
    },
    async 'models:probe'(arg, access) {
      const o = obj(arg, 'models:probe', ['path']);
      return probeImport(o.path, access);
    },
    async 'models:import'(arg, access) {
      const o = obj(arg, 'models:import', ['path', 'range', 'margin']);
      return importModel(o.path, ctx.models, access, importedSettings(o), ctx.files.displayName);
    },
    async 'models:adjust'(arg, access) {
      const o = obj(arg, 'models:adjust', ['modelId', 'range', 'margin']);
      const s = importedSettings(o);
      if (s.range === undefined || s.margin === undefined)
        throw errors.badArgument('models:adjust needs both range (1 or 255) and margin (input pixels).');
      return adjustModel(o.modelId, { range: s.range, margin: s.margin }, ctx.models, access);
    },
    async 'models:export'(arg, access) {
      const o = obj(arg, 'models:export', ['modelId', 'to']);
      const model = await openModel(o.modelId, 'modelId', ctx.models, access);
      try {
        await exportModel(model, o.to, ctx.version, access);
      } finally {
        await model.file.close();
      }
    },
    async 'models:download'(arg, access) {
      const o = obj(arg, 'models:download', ['modelId', 'format']);
      if (!ctx.uploads)
        throw errors.badArgument(
          'Downloads are for browser mode; in the desktop app, Export saves the model where you choose.',
        );
      const format = oneOf(o.format, 'format', ['safetensors', 'onnx'] as const);
      const model = await openModel(o.modelId, 'modelId', ctx.models, access);
      try {
        const name = `${path.basename(model.info.path, path.extname(model.info.path))}.${format}`;
        // Made once per model and format in the host's temp folder, then served to this session only.
        const file = await keptDownload(path.join(ctx.viewsDir, 'downloads'), model.bytes, format, name, () =>
          modelBytes(model, format, ctx.version),
        );
        ctx.files.add(file, name);
        return { path: file, name };
      } finally {
        await model.file.close();
      }
    },
    async 'activations:curves'(arg) {
      const o = obj(arg, 'activations:curves', ['names', 'xMin', 'xMax', 'points']);
      const names = list(o.names, 'names', 1, ACTIVATION_NAMES.length).map((n, i) =>
        oneOf(n, `names[${i}]`, ACTIVATION_NAMES),
      );
      if (new Set(names).size !== names.length) throw errors.badArgument('names must not repeat an activation.');
      const xMin = num(o.xMin, 'xMin', -100, 100);
      const xMax = num(o.xMax, 'xMax', -100, 100);
      if (!(xMin < xMax)) throw errors.badArgument(`xMin (${xMin}) must be less than xMax (${xMax}).`);
      const points = int(o.points, 'points', 2, 10_000);
      return curves(names, xMin, xMax, points);
    },
    async 'features:maps'(arg, access) {
      const o = obj(arg, 'features:maps', ['models', 'image', 'layer']);
      const ids = list(o.models, 'models', 2, 2);
      const layer = int(o.layer, 'layer', 0, 10_000);
      // The engine reads the very files checked here, through their open handles.
      const opened: Opened[] = [];
      try {
        const image = await openFile(o.image, 'image', IMAGE_EXTENSIONS, { access });
        opened.push(image);
        const models: string[] = [];
        for (const [i, id] of ids.entries()) {
          const m = await openModel(id, `models[${i}]`, ctx.models, access);
          opened.push(m.file);
          if (m.info.imported)
            throw errors.badArgument(
              `${m.info.name} is an imported ONNX model; feature maps are shown only for SR Studio's own networks, so choose one of those as Model ${i === 0 ? 'A' : 'B'}.`,
            );
          models.push(m.file.use);
        }
        const spec = { models: [models[0]!, models[1]!] as const, image: image.use, layer, maxSide: FEATURES_MAX_SIDE };
        return await ctx.engine.call({ type: 'features', spec });
      } catch (e) {
        throw asGiven(e, opened);
      } finally {
        for (const f of opened) await f.close();
      }
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
