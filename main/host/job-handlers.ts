/** Handlers that start and steer engine jobs; every path and setting is checked before the worker sees it. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ACTIVATION_NAMES } from '../../ml/activations.ts';
import { DEGRADE_NAMES } from '../../ml/degrade.ts';
import { errors } from '../../ml/errors.ts';
import { IMAGE_EXTENSIONS, OUTPUT_FORMATS } from '../../ml/node/image-io.ts';
import type { ImportedRuns } from '../../ml/node/imported-models.ts';
import { endMessage, RunFolder } from '../../ml/node/run-folder.ts';
import { listRuns, stamp } from '../../ml/node/runs.ts';
import { PRESET_NAMES, PRESETS, SCALES } from '../../ml/network.ts';
import { OBJECTIVES, SETTING_RANGES, type Objective } from '../../ml/train/config.ts';
import { initMismatch } from '../../ml/train/init-mismatch.ts';
import type { JobId, JobInfo, ModelInfo, RunInfo, TrainJob, TrainRun, UpscaleJob } from '../api.ts';
import type { TrainSpec } from '../engine/protocol.ts';
import type { Handlers, HostContext, RequestAccess } from './context.ts';
import type { JobInput } from './engine-host.ts';
import { Held, holdModel, holdTrain, holdUpscale } from './held.ts';
import {
  absPath,
  bool,
  existingDir,
  existingFile,
  folderOrNew,
  int,
  list,
  madeDir,
  none,
  num,
  obj,
  oneOf,
  openDir,
  openFile,
  str,
} from './validate.ts';
import { wordForApp } from './wording.ts';

export const MAX_ITERATIONS = SETTING_RANGES.iterations[1];
export const MAX_FILES = 10_000;
/** compare-models keeps the outputs of its latest few jobs (the UI shows only the latest). */
export const COMPARE_MODELS_KEEP = 3;

const jobIdOf = (arg: unknown, what: string): JobId => str(obj(arg, what, ['jobId']).jobId, 'jobId', { max: 100 });

/** A new numbered folder for a job's outputs under `root`, removing all but the newest COMPARE_MODELS_KEEP before it. */
async function viewerFolder(root: string, prefix: string): Promise<string> {
  const taken = (await fs.readdir(root).catch(() => [] as string[]))
    .map((n) => new RegExp(`^${prefix}-(\\d+)$`).exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((x, y) => x - y);
  for (const n of taken.slice(0, Math.max(0, taken.length - COMPARE_MODELS_KEEP + 1))) {
    await fs.rm(path.join(root, `${prefix}-${n}`), { recursive: true, force: true });
  }
  return path.join(root, `${prefix}-${(taken.at(-1) ?? 0) + 1}`);
}

/** How the imported ONNX models among `models` run (range and tile margin, as kept with them), for a job's spec. */
function importedRuns(...models: ModelInfo[]): { imported?: ImportedRuns } {
  const runs = models.flatMap((m) =>
    m.imported ? [[m.path, { range: m.imported.range, margin: m.imported.margin }] as const] : [],
  );
  return runs.length ? { imported: Object.fromEntries(runs) } : {};
}

/** How the app's controls name a run's folder (a new run's parent, or the run to continue), as the file policy does. */
const RUN_FOLDER = 'Run folder';

/**
 * Where a training goes (api.ts TrainRun): a new run under a folder that is there (it is not
 * created here; null: the app's runs folder), or an earlier run in its own folder, which is there.
 */
async function trainRun(v: unknown): Promise<TrainRun> {
  const kind = oneOf(obj(v, 'run', ['kind', 'parent', 'dir']).kind, 'run.kind', ['new', 'continue'] as const);
  if (kind === 'new') {
    const o = obj(v, 'run', ['kind', 'parent']);
    return { kind, parent: o.parent === null ? null : await existingDir(o.parent, RUN_FOLDER) };
  }
  return { kind, dir: await existingDir(obj(v, 'run', ['kind', 'dir']).dir, RUN_FOLDER) };
}

/** How the Train and Compare views name the adversarial loss's weight. */
const ADV_WEIGHT = 'Adversarial weight';

/**
 * What a training or a comparison is trained for, as the request gives it: the objective (absent:
 * pixel, or a continued run's own) and a perceptual run's adversarial weight (absent: the default),
 * each passed on only when given.
 */
function objectiveOf(o: Record<string, unknown>): { objective?: Objective; advWeight?: number } {
  const objective = o.objective === undefined ? undefined : oneOf(o.objective, 'objective', OBJECTIVES);
  if (o.advWeight === undefined) return objective === undefined ? {} : { objective };
  const advWeight = num(o.advWeight, ADV_WEIGHT, ...SETTING_RANGES.advWeight);
  if (objective !== 'perceptual')
    throw errors.badArgument(
      `${ADV_WEIGHT} weighs the adversarial loss of a perceptual run; choose the perceptual objective, or leave it out.`,
      ADV_WEIGHT,
    );
  return { objective, advWeight };
}

/** A job as `startHeld` starts it: the engine's job, and what the job book keeps of it. */
interface Starting {
  readonly input: Extract<JobInput, { type: JobInfo['kind'] }>;
  readonly job: JobInfo['spec'];
  /** What follows once the job is started (the upscale remembers its model); it does not throw. */
  readonly started?: () => Promise<unknown>;
}

/**
 * Starts a job and enters it in the job book. Browser mode (`access`): `prepare` opens and holds
 * what the job reads and writes (held.ts), which is let go when the job ends, or at once if
 * anything fails before it starts; the folders the request chose (`chose`) are the session's only
 * while the job does not fail (file-access.ts).
 */
async function startHeld(
  ctx: HostContext,
  access: RequestAccess | undefined,
  prepare: (held: Held | undefined) => Promise<Starting>,
  { chose = true } = {},
): Promise<{ jobId: JobId }> {
  const held = access && new Held();
  try {
    const { input, job, started } = await prepare(held);
    const jobId = ctx.engine.startJob(input);
    ctx.jobs.start(jobId, input.type, job);
    if (chose) access?.until(ctx.jobs.failed(jobId));
    held?.until(ctx.jobs.failed(jobId));
    await started?.();
    return { jobId };
  } catch (e) {
    await held?.release();
    throw e;
  }
}

export function jobHandlers(
  ctx: HostContext,
): Pick<
  Handlers,
  | 'job:upscale'
  | 'job:train'
  | 'job:compare'
  | 'job:compare-models'
  | 'job:pause'
  | 'job:resume'
  | 'job:cancel'
  | 'runs:list'
  | 'jobs:list'
> {
  return {
    async 'job:upscale'(arg, access) {
      const o = obj(arg, 'job:upscale', ['files', 'model', 'format', 'outputDir', 'overwrite']);
      const files = list(o.files, 'files', 1, MAX_FILES).map((f, i) => absPath(f, `files[${i}]`));
      const format = oneOf(o.format, 'format', OUTPUT_FORMATS);
      const overwrite = bool(o.overwrite, 'overwrite');
      // A folder the user typed is used as typed (never silently replaced), and made if it is not there yet.
      const typed = o.outputDir === null ? null : await folderOrNew(o.outputDir, 'Output folder');
      // Browser mode: the job reads and writes through what was opened and checked here (held.ts).
      return startHeld(ctx, access, async (held) => {
        const model = await holdModel(held, o.model, 'model', ctx.models, access);
        const outputDir = typed === null ? null : await madeDir(typed, 'Output folder');
        if (held && access) await holdUpscale(held, files, outputDir, access);
        const job: UpscaleJob = { files, model: model.id, format, outputDir, overwrite };
        // The engine gets the same job, the model named by its file.
        const spec = { ...job, model: model.path, ...importedRuns(model), ...(held && { through: held.through }) };
        const started = () => ctx.settings.useModel(model.id).catch(() => undefined);
        return { input: { type: 'upscale', spec }, job, started };
      });
    },
    async 'job:train'(arg, access) {
      const o = obj(arg, 'job:train', [
        'data',
        'val',
        'preset',
        'scale',
        'activation',
        'iterations',
        'run',
        'degrade',
        'init',
        'objective',
        'advWeight',
      ]);
      const data = await existingDir(o.data, 'Training folder');
      const val = o.val === null ? null : await existingDir(o.val, 'Validation folder');
      const preset = oneOf(o.preset, 'preset', PRESET_NAMES);
      const scale = oneOf(o.scale, 'scale', SCALES);
      const activation = oneOf(o.activation, 'activation', ACTIVATION_NAMES);
      const iterations = int(o.iterations, 'Iterations', 1, MAX_ITERATIONS);
      const degrade = o.degrade === undefined ? 'none' : oneOf(o.degrade, 'degrade', DEGRADE_NAMES);
      const run = await trainRun(o.run);
      // A continued run trains for what it recorded: named here when the request leaves it out, so
      // the backend follows it (auto trains a perceptual run on ONNX Runtime, as the command line does).
      const asked = objectiveOf(o);
      const recorded =
        run.kind === 'continue' && asked.objective === undefined
          ? (await RunFolder.readConfig(run.dir).catch(() => undefined))?.objective
          : undefined;
      const objective = recorded ? { objective: recorded } : asked;
      // The engine's run: a new one goes into the app's runs folder unless a folder was chosen.
      const target: TrainSpec['run'] = run.kind === 'new' ? { kind: 'new', parent: run.parent ?? ctx.runsDir } : run;
      // Browser mode: the job reads and writes through what was opened and checked here (held.ts).
      return startHeld(ctx, access, async (held) => {
        // The model to start from, looked up as the upscale job's is; checked here, so a misfit is refused before the job is queued.
        const model =
          o.init === undefined || o.init === null || run.kind === 'continue'
            ? null
            : await holdModel(held, o.init, 'init', ctx.models, access);
        if (model && !model.config) throw errors.importedNotTrainable(model.name);
        const misfit = model?.config && initMismatch(model.name, model.config, { ...PRESETS[preset], activation });
        if (model && misfit) throw errors.initMismatch(model.name, misfit);
        const init = model?.path ?? null;
        const chosen = run.kind === 'new' ? run.parent : null;
        if (held && access) await holdTrain(held, { data, val, run: target, chosen }, access);
        const settings = { preset, scale, activation, iterations, degrade, ...objective };
        const spec = { data, val, settings, run: target, init, ...(held && { through: held.through }) };
        const job: TrainJob = {
          data,
          val,
          preset,
          scale,
          activation,
          iterations,
          run,
          degrade,
          ...objective,
          init: model?.id ?? null,
        };
        return { input: { type: 'train', spec }, job };
      });
    },
    async 'job:compare'(arg, access) {
      const o = obj(arg, 'job:compare', [
        'data',
        'val',
        'acts',
        'preset',
        'scale',
        'iterations',
        'seeds',
        'objective',
        'advWeight',
      ]);
      const data = await existingDir(o.data, 'Training folder');
      const val = await existingDir(o.val, 'Validation folder');
      const [a, b] = list(o.acts, 'acts', 2, 2).map((x, i) => oneOf(x, `acts[${i}]`, ACTIVATION_NAMES));
      if (a === b) throw errors.badArgument('Choose two different activations, e.g. Swish and TanhExp.');
      const preset = oneOf(o.preset, 'preset', PRESET_NAMES);
      const scale = oneOf(o.scale, 'scale', SCALES);
      const iterations = int(o.iterations, 'Iterations', 1, MAX_ITERATIONS);
      const seeds = int(o.seeds, 'Seeds', 1, 20);
      const objective = objectiveOf(o);
      const sharp = objective.objective === 'perceptual' ? '_perceptual' : '';
      const outDir = path.join(
        ctx.runsDir,
        `compare_${a}-${b}_${preset}_x${scale}${sharp}_it${iterations}_${stamp(new Date())}`,
      );
      const acts = [a!, b!] as const;
      return startHeld(ctx, access, async (held) => {
        // The comparison's folder is made by the job, through the runs folder held here.
        if (held && access)
          await holdTrain(held, { data, val, run: { kind: 'new', parent: ctx.runsDir }, chosen: null }, access);
        const spec = {
          data,
          val,
          acts,
          settings: { preset, scale, iterations, ...objective },
          seeds,
          dir: outDir,
          ...(held && { through: held.through }),
        };
        const job = { data, val, acts, preset, scale, iterations, seeds, ...objective };
        return { input: { type: 'compare', spec }, job };
      });
    },
    async 'job:compare-models'(arg, access) {
      const o = obj(arg, 'job:compare-models', ['modelA', 'modelB', 'image', 'groundTruth']);
      const groundTruth = o.groundTruth === undefined ? false : bool(o.groundTruth, 'groundTruth');
      // Browser mode: the job reads the image and models through what was opened and checked here (held.ts).
      // The request chooses no folder (file-access.ts), so none is taken back if the job fails.
      return startHeld(
        ctx,
        access,
        async (held) => {
          const a = await holdModel(held, o.modelA, 'modelA', ctx.models, access);
          const b = await holdModel(held, o.modelB, 'modelB', ctx.models, access);
          const image = held
            ? (
                await held.open(absPath(o.image, 'Image'), () =>
                  openFile(o.image, 'Image', IMAGE_EXTENSIONS, { access }),
                )
              ).given
            : await existingFile(o.image, 'Image', IMAGE_EXTENSIONS);
          const outDir = await viewerFolder(ctx.viewsDir, 'compare-models');
          // The app's own folder for the viewer: made here, so that it too is held.
          if (held) await held.open(outDir, () => madeDir(outDir, 'outDir').then(() => openDir(outDir, 'outDir')));
          const spec = {
            modelA: a.path,
            modelB: b.path,
            image,
            groundTruth,
            outDir,
            ...importedRuns(a, b),
            ...(held && { through: held.through }),
          };
          return { input: { type: 'compare-models', spec }, job: { modelA: a.id, modelB: b.id, image, groundTruth } };
        },
        { chose: false },
      );
    },
    async 'job:pause'(arg) {
      const jobId = jobIdOf(arg, 'job:pause');
      ctx.engine.control(jobId, 'pause');
      return { jobId, state: 'pausing' };
    },
    async 'job:resume'(arg) {
      const jobId = jobIdOf(arg, 'job:resume');
      ctx.engine.control(jobId, 'resume');
      return { jobId, state: 'running' };
    },
    async 'job:cancel'(arg) {
      const jobId = jobIdOf(arg, 'job:cancel');
      ctx.engine.control(jobId, 'cancel');
      return { jobId, state: 'cancelling' };
    },
    async 'runs:list'(arg) {
      none(arg, 'runs:list');
      const runs = await listRuns(ctx.runsDir);
      return runs.map(
        (r): RunInfo => ({
          dir: r.dir,
          name: r.name,
          preset: r.config.preset ?? null,
          scale: r.config.network.scale,
          activation: r.config.network.activation,
          iterations: r.iterations,
          degrade: r.config.degrade,
          objective: r.config.objective,
          advWeight: r.config.advWeight ?? null,
          data: r.record?.data ?? null,
          val: r.record?.val ?? null,
          state: r.state,
          iteration: r.iteration,
          best: r.record?.best ?? null,
          modelPath: r.modelPath,
          // In the app's words when the record keeps the error that ended it (its message is the command line's).
          message: r.record ? endMessage(r.record, (e) => wordForApp(e)) : null,
          updated: r.updated,
        }),
      );
    },
    async 'jobs:list'(arg) {
      none(arg, 'jobs:list');
      return ctx.jobs.list();
    },
  };
}
