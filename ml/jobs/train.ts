/**
 * The training job, the same for `sr-studio train` and the app: settings checked before anything
 * is written; a new run in a new folder (never into one that holds other files), or an earlier run
 * continued (its settings and data as started; from its newest checkpoint, or from iteration 0 when
 * it stopped before its first); the training data opened; helper threads and the fastest
 * evaluator started; and the trainer's events passed on. The run's record (run.json) says where it
 * stands at every end, so the app can list and continue it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors, firstLine, isUserError, word, type ErrorData } from '../errors.ts';
import { exists } from '../node/files.ts';
import { sharpJpeg } from '../node/jpeg.ts';
import { annotateModel, loadNamedModel, resolveModelName } from '../node/models.ts';
import { endedBy, RunFolder, type RunRecord } from '../node/run-folder.ts';
import { beingTrained, newRunDir } from '../node/runs.ts';
import type { ActivationName } from '../activations.ts';
import type { DegradeName } from '../degrade.ts';
import { presetOf, type NetworkConfig, type PresetName, type Scale } from '../network.ts';
import { through, type Through, type ThroughMap } from '../node/through.ts';
import { checkObjective, namedError, namedTrainEvent, openData, startRunHelpers } from './common.ts';
import type { BestScores, Checkpoint } from '../train/checkpoint.ts';
import { replacesBest } from '../train/best.ts';
import { makeTrainConfig, type Objective, type TrainConfig } from '../train/config.ts';
import { initFromModel, initMismatch } from '../train/init.ts';
import type { TrainControl, TrainEvent } from '../train/events.ts';
import { train } from '../train/trainer.ts';
import { wordForCli } from '../wording.ts';

/** What a new run is made from: any subset of the settings (the rest are the defaults). */
export type TrainSettings = Parameters<typeof makeTrainConfig>[0];

/** The settings the app's Train view sets, by their types (a subset of TrainSettings; the rest keep their defaults). */
export interface ViewSettings {
  readonly preset: PresetName;
  readonly scale: Scale;
  readonly activation: ActivationName;
  readonly iterations: number;
  /** How training inputs are made (`sr-studio train --degrade`); none when absent. */
  readonly degrade?: DegradeName | undefined;
  /** What the network is trained for (`sr-studio train --objective`); pixel when absent, a continued run's own when continuing. */
  readonly objective?: Objective | undefined;
  /** The adversarial loss's weight (`--adv-weight`; perceptual runs only): the default when absent. */
  readonly advWeight?: number | undefined;
}

/**
 * A training, the one definition every layer uses: the engine worker's request
 * (main/engine/protocol.ts) is this without what the worker fills in; the app's (main/api.ts
 * TrainJob) names the same folders, ViewSettings for `settings`, and `run` as the Train view does.
 */
export interface TrainJobSpec {
  /** The training photos; a continued run takes the folders its run.json records when this is absent. */
  readonly data?: string | undefined;
  /** The validation photos (null: a held-out share of the training photos; absent with `data` absent: as recorded). */
  readonly val?: string | null | undefined;
  /**
   * For a new run; when continuing, only `iterations` may differ from the run's own: more than it
   * has trained takes a finished run further (absent: the run's own end).
   */
  readonly settings: TrainSettings;
  /**
   * A trained model a new run starts from (a model's name or a weights file); its preset, scale
   * and activation are the run's unless the settings name them. A continued run keeps its own
   * start (its checkpoint's weights), and one given must be the same.
   */
  readonly init?: string | null | undefined;
  readonly run:
    | {
        readonly kind: 'new' /** The run's own folder (new or empty). */;
        readonly dir?: string | undefined /** Else a new folder in here. */;
        readonly parent: string;
      }
    | { readonly kind: 'continue'; readonly dir: string };
  /** The started tfjs backend that trains. */
  readonly backend: { readonly name: ConcreteBackend; readonly device: string };
  /** Helper threads on CPU backends (null: one per core beyond the first). */
  readonly threads: number | null;
  /** How the run was started, for its model card. */
  readonly command: string;
  readonly control: TrainControl;
  /**
   * The folders and model a front end opened already (through.ts): the photos, the run's folder (a
   * new run's parent folder) and the start model are reached only through them, and named as given.
   */
  readonly through?: ThroughMap | undefined;
}

export type TrainJobEvent =
  | { readonly type: 'note'; readonly message: string }
  | { readonly type: 'data-warning'; readonly message: string }
  | {
      readonly type: 'run';
      readonly dir: string;
      readonly config: TrainConfig;
      /** Continuing an earlier run from this iteration (0: from the start). */
      readonly from: number;
      readonly continued: boolean;
      readonly threads: number;
      /** Where validation runs when not on the training backend. */
      readonly evaluator: string | null;
    }
  /** The trainer's own events, as they are. */
  | TrainEvent;

export interface TrainJobResult {
  readonly reason: 'finished' | 'cancelled' | 'failed';
  readonly iteration: number;
  readonly iterations: number;
  readonly runDir: string;
  readonly modelPath: string | null;
  /** The validation whose weights are the model (a pixel run's best PSNR-Y, a perceptual run's latest). */
  readonly best: BestScores | null;
  readonly elapsedMs: number;
  readonly msPerIteration: number;
  /** Why it failed, when it did, in the command line's words. */
  readonly message: string | null;
  /** Why it failed, as data, for each front end to word. */
  readonly error: ErrorData | null;
}

/** The settings given for a continue that differ from the run's, in words ("scale 2, batch 16"). */
function differences(config: TrainConfig, given: TrainSettings, init?: string): string[] {
  const asked = makeTrainConfig({
    ...given,
    iterations: config.iterations,
    // An adversarial weight alone is asked of a perceptual run.
    objective: given.objective ?? (given.advWeight !== undefined ? 'perceptual' : undefined),
  });
  const out: string[] = [];
  const n = config.network;
  if (given.scale !== undefined && asked.network.scale !== n.scale) out.push(`scale ${n.scale}`);
  if (given.activation !== undefined && asked.network.activation !== n.activation)
    out.push(`activation ${n.activation}`);
  if (given.preset !== undefined && asked.preset !== config.preset) out.push(`preset ${config.preset ?? 'custom'}`);
  if (given.objective !== undefined && asked.objective !== config.objective)
    out.push(`the ${config.objective} objective`);
  if (given.advWeight !== undefined && asked.advWeight !== config.advWeight)
    out.push(config.advWeight === undefined ? 'no adversarial loss' : `adversarial weight ${config.advWeight}`);
  for (const k of ['batch', 'patch', 'lr', 'seed', 'emaDecay', 'loss'] as const) {
    if (given[k] !== undefined && asked[k] !== config[k]) out.push(`${k} ${config[k]}`);
  }
  if (given.degrade !== undefined && asked.degrade !== config.degrade)
    out.push(`the ${config.degrade} training inputs`);
  if (init !== undefined && init !== config.init?.model)
    out.push(`weights started from ${config.init?.model ?? 'scratch'}`);
  return out;
}

interface Prepared {
  readonly config: TrainConfig;
  /** The run's folder as the user names it, and where it is reached (the same without a front end's map). */
  readonly dir: string;
  readonly at: string;
  /** The folders it trains and validates on. */
  readonly data: string;
  readonly val: string | null;
  /** An earlier run's folder, checkpoint and record; none for a new run (its folder is made later). */
  readonly earlier?: {
    readonly folder: RunFolder;
    readonly checkpoint: Checkpoint | undefined;
    readonly record: RunRecord | undefined;
  };
  /** A new run's initial weights when it starts from a model, and the line that says what was loaded. */
  readonly start?: { readonly weights: ReadonlyMap<string, Float32Array>; readonly note: string };
}

/**
 * A new run that starts from a model: the run's network is the model's, with the preset, scale and
 * activation the settings name; a model of another shape or activation is refused in one sentence.
 */
async function startFrom(
  given: string,
  s: TrainSettings,
  t: Through,
): Promise<{ config: TrainConfig; weights: ReadonlyMap<string, Float32Array>; note: string }> {
  const use = t.use(given);
  const file = await loadNamedModel(use);
  const model = use === given ? file : { ...file, name: path.resolve(given), path: path.resolve(given) };
  const m = model.config;
  // Validates the settings given, with the model's preset, scale and activation for those not given.
  const asked = makeTrainConfig({
    ...s,
    preset: s.preset ?? presetOf(m) ?? 'tiny',
    scale: s.scale ?? m.scale,
    activation: s.activation ?? m.activation,
  });
  const network: NetworkConfig =
    s.preset === undefined
      ? { ...asked.network, features: m.features, groups: m.groups, blocks: m.blocks }
      : asked.network;
  const why = initMismatch(model.name, m, network);
  if (why) throw errors.initMismatch(model.name, why);
  const { weights, loaded } = initFromModel(model, network, asked.seed);
  const config = makeTrainConfig({ ...s, network, init: { model: model.name, loaded, sha256: model.sha256 } });
  const note =
    loaded === 'all'
      ? `Starting from ${model.name}: every weight is loaded.`
      : `Starting from ${model.name} (x${m.scale}) for this x${network.scale} run: every layer but the upsampler is loaded; the upsampler starts fresh from seed ${config.seed}.`;
  return { config, weights, note };
}

type Best = { readonly iteration: number; readonly psnrY: number };

/**
 * The best validation so far, as run.json shows it: the trainer's (from the checkpoint, then by
 * each validation, with the trainer's rule), and, until a continued run gets past it, the better
 * one that a stopped process recorded after its last checkpoint (its model file is still there).
 */
class BestSoFar {
  #trainer: Best | null;
  readonly #recorded: Best | null;
  readonly #objective: Objective;

  constructor(objective: Objective, trainer: Best | null, recorded: Best | null, from: number) {
    this.#objective = objective;
    this.#trainer = trainer && { iteration: trainer.iteration, psnrY: trainer.psnrY };
    this.#recorded = recorded && recorded.iteration > from ? recorded : null;
  }

  scored(iteration: number, psnrY: number): void {
    if (replacesBest(this.#objective, this.#trainer, { iteration, psnrY })) this.#trainer = { iteration, psnrY };
  }

  shown(iteration: number): Best | null {
    const r = this.#recorded;
    return r && iteration < r.iteration && replacesBest(this.#objective, this.#trainer, r) ? r : this.#trainer;
  }
}

const resolved = (p: string | null | undefined) => (p ? path.resolve(p) : null);
const isDir = (p: string) =>
  fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * The folders a continued run trains on: those given, or else those its run.json records, which
 * must still be there. A recorded folder that is gone may be given anew (it was moved).
 */
async function continuedFolders(
  dir: string,
  rec: RunRecord | undefined,
  spec: TrainJobSpec,
): Promise<{ data: string; val: string | null; moved: { data: boolean; val: boolean } }> {
  const gone = async (p: string | null | undefined) => p != null && !(await isDir(p));
  const moved = { data: await gone(rec?.data), val: await gone(rec?.val) };
  if (spec.data !== undefined) return { data: path.resolve(spec.data), val: resolved(spec.val), moved };
  if (!rec?.data) throw errors.runRecordsNoData(dir);
  if (moved.data) throw errors.runFolderGone(dir, 'training', rec.data);
  const val = spec.val === undefined ? rec.val : spec.val;
  if (spec.val === undefined && moved.val) throw errors.runFolderGone(dir, 'validation', rec.val!);
  return { data: rec.data, val: resolved(val), moved };
}

async function prepareRun(spec: TrainJobSpec, t: Through): Promise<Prepared> {
  if (spec.run.kind === 'new') {
    if (spec.data === undefined) throw errors.noTrainingFolder();
    const start = spec.init ? await startFrom(spec.init, spec.settings, t) : undefined;
    const config = start?.config ?? makeTrainConfig(spec.settings);
    const at = spec.run.dir ? t.use(path.resolve(spec.run.dir)) : await newRunDir(t.use(spec.run.parent), config);
    const dir = t.named(at);
    return {
      config,
      dir,
      at,
      data: path.resolve(spec.data),
      val: resolved(spec.val),
      ...(start ? { start: { weights: start.weights, note: start.note } } : {}),
    };
  }
  const dir = path.resolve(spec.run.dir);
  const at = t.use(dir);
  const opened = await RunFolder.open(at);
  if (beingTrained(opened.record)) throw errors.runBusy(dir, opened.record!.pid);
  const diff = differences(
    opened.config,
    spec.settings,
    spec.init ? (await resolveModelName(spec.init)).name : undefined,
  );
  const rec = opened.record;
  const { data, val, moved } = await continuedFolders(dir, rec, spec);
  // A recorded folder that is gone was moved: the one given for it now is taken.
  if (rec && !moved.data && path.resolve(rec.data) !== data)
    diff.push(`the training folder ${JSON.stringify(rec.data)}`);
  if (rec && !(moved.val && val !== null) && resolved(rec.val) !== val)
    diff.push(rec.val ? `the validation folder ${JSON.stringify(rec.val)}` : 'no validation folder');
  if (diff.length) throw errors.runMismatch(dir, diff.join(', '));
  // The run's own end is the one its newest checkpoint trains to (a continue may have raised it).
  const from = opened.checkpoint?.state.iteration ?? 0;
  const iterations =
    spec.settings.iterations ??
    opened.checkpoint?.state.config.iterations ??
    rec?.iterations ??
    opened.config.iterations;
  // Asking for no more than it has trained does nothing, except finish a run whose end was never recorded.
  if (iterations < from || (iterations === from && rec?.state === 'finished')) throw errors.runTrained(dir, from);
  const config = makeTrainConfig({ ...opened.config, iterations });
  return { config, dir, at, data, val, earlier: { folder: opened.folder, checkpoint: opened.checkpoint, record: rec } };
}

export async function trainJob(
  spec: TrainJobSpec,
  emit: (e: TrainJobEvent) => void | Promise<void>,
): Promise<TrainJobResult> {
  // A new run's folder, made and held open when its parent came opened (closed however the run ends).
  const run = { t: through(spec.through), close: async () => undefined as void };
  try {
    return await trainIn(spec, run, emit);
  } catch (e) {
    throw run.t.named(e);
  } finally {
    await run.close().catch(() => undefined);
  }
}

async function trainIn(
  spec: TrainJobSpec,
  run: { t: Through; close: () => Promise<void> },
  emitRaw: (e: TrainJobEvent) => void | Promise<void>,
): Promise<TrainJobResult> {
  // Everything the user sees names folders and files as they named them.
  const emit = (e: TrainJobEvent) =>
    emitRaw(
      e.type === 'note' || e.type === 'data-warning'
        ? { ...e, message: run.t.named(e.message) }
        : e.type === 'run'
          ? e
          : namedTrainEvent(e, run.t),
    );
  const { config, dir, at, earlier, start, ...folders } = await prepareRun(spec, run.t);
  checkObjective(spec.backend.name, config);
  if (start) await emit({ type: 'note', message: start.note });
  const opened = spec.through !== undefined;
  const data = await openData(
    { data: run.t.use(folders.data), val: folders.val && run.t.use(folders.val), opened },
    config,
    emit,
  );
  // The folder is made only once the settings and the data are known to be usable.
  let home = at;
  if (opened && !earlier) {
    const held = await RunFolder.hold(at);
    run.close = held.close;
    run.t = through({ ...spec.through, [dir]: held.use });
    home = held.use;
  }
  const folder = earlier?.folder ?? (await RunFolder.create(home, config.keepCheckpoints, config));
  const checkpoint = earlier?.checkpoint;
  const from = checkpoint?.state.iteration ?? 0;
  const best = new BestSoFar(config.objective, checkpoint?.state.best ?? null, earlier?.record?.best ?? null, from);
  if (earlier) await folder.rewindTo(from);
  const backend = `${spec.backend.name} (${spec.backend.device})`;
  const started = new Date().toISOString();
  await folder.writeRecord({
    data: folders.data,
    val: folders.val,
    iterations: config.iterations,
    command: spec.command,
    backend,
    created: earlier?.record?.created ?? started,
    state: 'running',
    pid: process.pid,
    iteration: from,
    best: best.shown(from),
    message: null,
    error: null,
    init: config.init ?? null,
  });
  const { engine, evaluator, threads, close } = await startRunHelpers(spec.backend.name, spec.threads, config);
  await emit({
    type: 'run',
    dir,
    config,
    from,
    continued: earlier !== undefined,
    threads,
    evaluator: evaluator?.name ?? null,
  });
  let iteration = from;
  let result: TrainJobResult | undefined;
  let stopped: { readonly message: string; readonly error: ErrorData | null } | null = null;
  try {
    const events = train({
      config,
      data: data.train,
      val: data.val,
      store: folder,
      control: spec.control,
      from: checkpoint,
      initial: start?.weights,
      engine,
      evaluator,
      jpeg: sharpJpeg,
      summary: { data: folders.data, ...(folders.val ? { val: folders.val } : {}), backend, command: spec.command },
    });
    for await (const event of events) {
      if ('iteration' in event) iteration = event.iteration;
      if (event.type === 'validation') best.scored(event.iteration, event.psnrY);
      await emit(event);
      // The record follows each checkpoint, so even a run killed later says where it stood.
      if (event.type === 'checkpoint') await folder.writeRecord({ iteration, best: best.shown(iteration) });
      const modelPath = async () => ((await exists(folder.modelPath)) ? run.t.named(folder.modelPath) : null);
      if (event.type === 'failed') {
        result = {
          reason: 'failed',
          iteration,
          iterations: config.iterations,
          runDir: dir,
          modelPath: await modelPath(),
          best: null,
          elapsedMs: 0,
          msPerIteration: 0,
          message: run.t.named(event.message),
          error: namedError(event.error, run.t),
        };
      } else if (event.type === 'end') {
        result = {
          reason: event.reason,
          iteration,
          iterations: config.iterations,
          runDir: dir,
          modelPath: await modelPath(),
          best: event.best,
          elapsedMs: event.elapsedMs,
          msPerIteration: event.msPerIteration,
          message: null,
          error: null,
        };
      }
    }
  } catch (caught) {
    const e = run.t.named(caught);
    // The record keeps the error as data too, so that each front end says it in its own words.
    stopped = isUserError(e)
      ? { message: endedBy(e.data, iteration, (d) => word(wordForCli, d)), error: e.data }
      : { message: `Stopped at iteration ${iteration} by an unexpected error (${firstLine(e)}).`, error: null };
    throw e;
  } finally {
    await close();
    const state = !result
      ? 'failed'
      : result.reason === 'finished'
        ? 'finished'
        : result.reason === 'cancelled'
          ? 'stopped'
          : 'failed';
    const message = result ? result.message : (stopped?.message ?? 'The run ended with an error.');
    const error = result ? result.error : (stopped?.error ?? null);
    await folder.writeRecord({ state, iteration, best: best.shown(iteration), message, error }).catch(() => undefined);
    // The model says how far its run got, beside the iteration its weights are from.
    if (await exists(folder.modelPath))
      await annotateModel(folder.modelPath, { trainedIterations: iteration }).catch(() => undefined);
  }
  if (!result) throw new Error('the training ended without saying how');
  return result;
}
