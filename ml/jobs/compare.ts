/**
 * The comparison job, the same for `sr-studio compare` and the app: each activation trained
 * alike (ml/train/compare.ts) into a new or empty folder, then report.json, report.md and
 * contact_sheet.png written there.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ActivationName } from '../activations.ts';
import type { ConcreteBackend } from '../backend-choice.ts';
import { errors, fsError } from '../errors.ts';
import type { RgbImage } from '../image.ts';
import { ensureDir, writeFileAtomic } from '../node/atomic.ts';
import { writeImage } from '../node/image-io.ts';
import { sharpJpeg } from '../node/jpeg.ts';
import { MODEL_FILE, RunFolder } from '../node/run-folder.ts';
import { loadNamedModel } from '../node/models.ts';
import { compare, type CompareReport, type StartModel } from '../train/compare.ts';
import { initMismatch } from '../train/init.ts';
import { markdown } from '../train/compare-report.ts';
import { makeTrainConfig, type TrainConfig } from '../train/config.ts';
import { defaultLearningRate, isObjective } from '../train/objective.ts';
import type { TrainControl, TrainEvent } from '../train/events.ts';
import { through, type ThroughMap } from '../node/through.ts';
import { checkObjective, namedTrainEvent, openData, startRunHelpers } from './common.ts';
import type { TrainSettings } from './train.ts';

export interface CompareJobSpec {
  readonly data: string;
  readonly val?: string | null | undefined;
  readonly acts: readonly ActivationName[];
  /**
   * Everything but the activation, the objective and its adversarial weight included; one learning
   * rate for all (the lowest default unless set).
   */
  readonly settings: TrainSettings;
  readonly seeds: number;
  /**
   * Each activation's own model to start from (a model's name or a weights file), one for every
   * activation, all of one shape; their preset and scale are the comparison's unless set.
   */
  readonly init?: Readonly<Partial<Record<ActivationName, string>>> | null | undefined;
  /** A new or empty folder for the runs and the report. */
  readonly dir: string;
  readonly backend: { readonly name: ConcreteBackend; readonly device: string };
  readonly threads: number | null;
  readonly control: TrainControl;
  /**
   * The folders a front end opened already (through.ts): the photos, and the folder `dir` is made
   * in, are reached only through them; `dir` is made and held open, and everything is named as given.
   */
  readonly through?: ThroughMap | undefined;
}

export type CompareJobEvent =
  | { readonly type: 'note'; readonly message: string }
  | { readonly type: 'data-warning'; readonly message: string }
  | { readonly type: 'start'; readonly base: TrainConfig; readonly threads: number; readonly evaluator: string | null }
  /** One run's event: the run is its activation and seed; index/total place it in the whole. */
  | {
      readonly type: 'train';
      readonly act: ActivationName;
      readonly seed: number;
      readonly index: number;
      readonly total: number;
      readonly event: TrainEvent;
    };

export interface CompareJobResult {
  readonly report: CompareReport;
  readonly dir: string;
  readonly sheet: RgbImage | null;
  /** Each activation's trained model of the first seed, by activation. */
  readonly models: Record<string, string>;
}

/** Every activation's model to start from, loaded; one is needed for each activation compared. */
async function startModels(
  init: Readonly<Partial<Record<ActivationName, string>>>,
  acts: readonly ActivationName[],
): Promise<Map<ActivationName, StartModel>> {
  const named = Object.keys(init).filter((a) => init[a as ActivationName]);
  const missing = acts.filter((a) => !init[a]);
  const extra = named.filter((a) => !acts.includes(a as ActivationName));
  if (missing.length || extra.length) {
    throw errors.initPerActivation(acts);
  }
  const out = new Map<ActivationName, StartModel>();
  for (const act of acts) out.set(act, await loadNamedModel(init[act]!));
  return out;
}

const runDir = (out: string, seed: number, act: string) => path.join(out, `seed_${seed}`, act);

/** The name of one run of a comparison, in messages ("tanhexp seed 0"); events carry `act` and `seed` instead. */
export const runLabel = (act: ActivationName, seed: number) => `${act} seed ${seed}`;

export async function compareJob(
  spec: CompareJobSpec,
  emitRaw: (e: CompareJobEvent) => void | Promise<void>,
): Promise<CompareJobResult> {
  // The comparison's folder, made and held open when its parent came opened (closed however the job ends).
  let t = through(spec.through);
  let close = async () => undefined as void;
  const emit = (e: CompareJobEvent) =>
    emitRaw(
      e.type === 'note' || e.type === 'data-warning'
        ? { ...e, message: t.named(e.message) }
        : e.type === 'train'
          ? { ...e, event: namedTrainEvent(e.event, t) }
          : e,
    );
  try {
    const r = await compareIn(spec, emit, async (out) => {
      if (spec.through === undefined) return out;
      const held = await RunFolder.hold(t.use(out));
      close = held.close;
      t = through({ ...spec.through, [out]: held.use });
      return held.use;
    });
    return {
      ...r,
      dir: t.named(r.dir),
      models: Object.fromEntries(Object.entries(r.models).map(([a, m]) => [a, t.named(m)])),
    };
  } catch (e) {
    throw t.named(e);
  } finally {
    await close().catch(() => undefined);
  }
}

/** The comparison; `hold` gives where to reach its (new) folder once the photos are known to be usable. */
async function compareIn(
  spec: CompareJobSpec,
  emit: (e: CompareJobEvent) => void | Promise<void>,
  hold: (out: string) => Promise<string>,
): Promise<CompareJobResult> {
  if (spec.acts.length < 2 || new Set(spec.acts).size !== spec.acts.length)
    throw errors.badArgument('A comparison needs at least two different activations, e.g. swish and tanhexp.');
  const twins = spec.init ? await startModels(spec.init, spec.acts) : undefined;
  // One rate for all: the lowest of their defaults, by the rule a single run's default follows.
  const objective = isObjective(spec.settings.objective) ? spec.settings.objective : 'pixel';
  const lr =
    spec.settings.lr ??
    Math.min(...spec.acts.map((a) => defaultLearningRate(a, { init: twins !== undefined, objective })));
  const first = twins?.get(spec.acts[0]!)?.config;
  const s = spec.settings;
  const base = first
    ? makeTrainConfig({
        ...s,
        activation: spec.acts[0],
        lr,
        iterations: s.iterations ?? 1000,
        ...(s.preset === undefined
          ? { network: { ...first, scale: s.scale ?? first.scale } }
          : { scale: s.scale ?? first.scale }),
      })
    : makeTrainConfig({ ...s, activation: spec.acts[0], lr, iterations: s.iterations ?? 1000 });
  checkObjective(spec.backend.name, base);
  for (const [act, twin] of twins ?? []) {
    const why = initMismatch(twin.name, twin.config, { ...base.network, activation: act });
    if (why) throw errors.initMismatch(twin.name, why);
  }
  const seeds = Array.from({ length: spec.seeds }, (_, i) => base.seed + i);
  const t = through(spec.through);
  const at = (p: string) => (spec.through ? t.use(path.resolve(p)) : p);
  const data = await openData(
    { data: at(spec.data), val: spec.val && at(spec.val), opened: spec.through !== undefined },
    base,
    emit,
  );
  if (!data.val.length)
    throw errors.badArgument(
      'A comparison needs validation images; choose a validation folder, or a training folder with at least two photos.',
    );
  const out = await hold(path.resolve(spec.dir));
  await ensureDir(out);
  const present = await fs.readdir(out).catch((e: unknown) => {
    throw fsError(e, out);
  });
  if (present.some((n) => !n.startsWith('.'))) throw errors.folderNotEmpty(out);
  const { engine, evaluator, threads, close } = await startRunHelpers(spec.backend.name, spec.threads, base);
  await emit({ type: 'start', base, threads, evaluator: evaluator?.name ?? null });
  try {
    for await (const ev of compare({
      base,
      acts: spec.acts,
      seeds,
      data: data.train,
      val: data.val,
      init: twins,
      storeFor: (seed, act) => RunFolder.create(runDir(out, seed, act), 1),
      control: spec.control,
      engine,
      evaluator,
      jpeg: sharpJpeg,
      backend: `${spec.backend.name} (${spec.backend.device})`,
    })) {
      if (ev.type === 'run') {
        await emit({ type: 'train', act: ev.act, seed: ev.seed, index: ev.index, total: ev.total, event: ev.event });
        continue;
      }
      const r = ev.report;
      await writeFileAtomic(path.join(out, 'report.json'), new TextEncoder().encode(JSON.stringify(r, null, 2) + '\n'));
      await writeFileAtomic(path.join(out, 'report.md'), new TextEncoder().encode(markdown(r)));
      if (ev.sheet) await writeImage(path.join(out, 'contact_sheet.png'), ev.sheet, { format: 'png' });
      const models = Object.fromEntries(spec.acts.map((a) => [a, path.join(runDir(out, seeds[0]!, a), MODEL_FILE)]));
      return { report: r, dir: out, sheet: ev.sheet, models };
    }
  } finally {
    await close();
  }
  throw new Error('the comparison ended without a report');
}
