/** Handlers that start and steer engine jobs; every path and setting is checked before the worker sees it. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ACTIVATION_NAMES } from '../../ml/activations.ts';
import { DEGRADE_NAMES } from '../../ml/degrade.ts';
import { errors } from '../../ml/errors.ts';
import { IMAGE_EXTENSIONS, OUTPUT_FORMATS } from '../../ml/node/image-io.ts';
import { PRESET_NAMES, SCALES } from '../../ml/network.ts';
import { makeTrainConfig, runName } from '../../ml/train/config.ts';
import type { Handlers, HostContext } from './context.ts';
import { resolveModel } from './models.ts';
import { absPath, bool, existingDir, existingFile, int, list, obj, oneOf, str } from './validate.ts';

export const MAX_ITERATIONS = 1_000_000;
export const MAX_FILES = 10_000;
/** The centre crop (input pixels a side) that compare-models upscales. */
export const COMPARE_MODELS_MAX_SIDE = 256;

const jobIdOf = (arg: unknown, what: string) => str(obj(arg, what, ['jobId']).jobId, 'jobId', { max: 100 });

/** A folder for a new run: absolute, with an existing parent. */
async function outFolder(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  await existingDir(path.dirname(p), `${field}'s parent folder`);
  return p;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

export function jobHandlers(ctx: HostContext): Pick<
  Handlers,
  'job:upscale' | 'job:train' | 'job:compare' | 'job:compare-models' | 'job:pause' | 'job:resume' | 'job:cancel'
> {
  return {
    async 'job:upscale'(arg) {
      const o = obj(arg, 'job:upscale', ['files', 'modelId', 'format', 'outputDir', 'overwrite']);
      const files = list(o.files, 'files', 1, MAX_FILES).map((f, i) => absPath(f, `files[${i}]`));
      const format = oneOf(o.format, 'format', OUTPUT_FORMATS);
      const overwrite = bool(o.overwrite, 'overwrite');
      const outputDir = o.outputDir === null ? ctx.settings.get().outputDir : await existingDir(o.outputDir, 'outputDir');
      const model = await resolveModel(o.modelId, 'modelId', ctx.models);
      const jobId = ctx.engine.startJob({ type: 'upscale', spec: { files, modelPath: model.path, format, outputDir, overwrite } });
      await ctx.settings.useModel(model.id).catch(() => undefined);
      return { jobId };
    },
    async 'job:train'(arg) {
      const o = obj(arg, 'job:train', ['data', 'val', 'preset', 'scale', 'activation', 'iterations', 'outDir', 'degrade']);
      const data = await existingDir(o.data, 'data');
      const val = o.val === null ? null : await existingDir(o.val, 'val');
      const preset = oneOf(o.preset, 'preset', PRESET_NAMES);
      const scale = oneOf(o.scale, 'scale', SCALES);
      const activation = oneOf(o.activation, 'activation', ACTIVATION_NAMES);
      const iterations = int(o.iterations, 'iterations', 1, MAX_ITERATIONS);
      const degrade = o.degrade === undefined ? 'none' : oneOf(o.degrade, 'degrade', DEGRADE_NAMES);
      const outDir = o.outDir === null ? path.join(ctx.runsDir, runName(makeTrainConfig({ preset, scale, activation, iterations, degrade }))) : await outFolder(o.outDir, 'outDir');
      await fs.mkdir(path.dirname(outDir), { recursive: true });
      return { jobId: ctx.engine.startJob({ type: 'train', spec: { data, val, preset, scale, activation, iterations, outDir, degrade } }) };
    },
    async 'job:compare'(arg) {
      const o = obj(arg, 'job:compare', ['data', 'val', 'acts', 'preset', 'scale', 'iterations', 'seeds']);
      const data = await existingDir(o.data, 'data');
      const val = await existingDir(o.val, 'val');
      const [a, b] = list(o.acts, 'acts', 2, 2).map((x, i) => oneOf(x, `acts[${i}]`, ACTIVATION_NAMES));
      if (a === b) throw errors.badArgument('acts must name two different activations, e.g. swish and tanhexp.');
      const preset = oneOf(o.preset, 'preset', PRESET_NAMES);
      const scale = oneOf(o.scale, 'scale', SCALES);
      const iterations = int(o.iterations, 'iterations', 1, MAX_ITERATIONS);
      const seeds = int(o.seeds, 'seeds', 1, 20);
      const outDir = path.join(ctx.runsDir, `compare_${a}-${b}_${preset}_x${scale}_it${iterations}_${stamp()}`);
      const spec = { data, val, acts: [a!, b!] as const, preset, scale, iterations, seeds, outDir };
      return { jobId: ctx.engine.startJob({ type: 'compare', spec }) };
    },
    async 'job:compare-models'(arg) {
      const o = obj(arg, 'job:compare-models', ['modelA', 'modelB', 'image']);
      const a = await resolveModel(o.modelA, 'modelA', ctx.models);
      const b = await resolveModel(o.modelB, 'modelB', ctx.models);
      const image = await existingFile(o.image, 'image', IMAGE_EXTENSIONS);
      const spec = { modelA: a.path, modelB: b.path, image, maxSide: COMPARE_MODELS_MAX_SIDE };
      return { jobId: ctx.engine.startJob({ type: 'compare-models', spec }) };
    },
    async 'job:pause'(arg) {
      ctx.engine.control(jobIdOf(arg, 'job:pause'), 'pause');
    },
    async 'job:resume'(arg) {
      ctx.engine.control(jobIdOf(arg, 'job:resume'), 'resume');
    },
    async 'job:cancel'(arg) {
      ctx.engine.control(jobIdOf(arg, 'job:cancel'), 'cancel');
    },
  };
}
