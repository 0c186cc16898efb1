import type { ActivationName } from '../activations.ts';
import type { DatasetSource } from '../dataset.ts';
import type { JpegRoundTrip } from '../degrade.ts';
import { grid, type RgbImage } from '../image.ts';
import { bicubicBaseline } from '../metrics.ts';
import { initialWeights, Network } from '../network.ts';
import { upscaleImage } from '../tiling.ts';
import { decodeModel } from '../weights.ts';
import { makeTrainConfig, type TrainConfig } from './config.ts';
import { initFromModel } from './init.ts';
import type { TrainControl, TrainEvent } from './events.ts';
import type { StepEngineFactory } from './engine.ts';
import { train, type RunStore } from './trainer.ts';
import { previewCrop, type Evaluator, type ValImage } from './validation.ts';

/**
 * The Swish-vs-TanhExp experiment, done fairly: for each seed, every activation starts from the
 * same initial weights, sees the same batches in the same order, for the same iterations with the
 * same learning-rate schedule. Only the activation differs. With several seeds the report gives
 * mean ± standard deviation and the paired difference, so a real gap can be told from noise.
 */
export interface CompareOptions {
  /** Everything but activation and seed; lr must be set (one rate for all activations). */
  readonly base: TrainConfig;
  readonly acts: readonly ActivationName[];
  readonly seeds: readonly number[];
  readonly data: DatasetSource;
  readonly val: readonly ValImage[];
  readonly storeFor: (seed: number, act: ActivationName) => Promise<RunStore>;
  readonly control?: TrainControl | undefined;
  readonly backend?: string | undefined;
  /** What computes each step (default: tfjs on the active backend). */
  readonly engine?: StepEngineFactory | undefined;
  readonly evaluator?: Evaluator | undefined;
  /** The JPEG encoder the base config's degradations need. */
  readonly jpeg?: JpegRoundTrip | undefined;
  /**
   * Each activation's own trained model to start from (compare --init), of the base's shape, in
   * place of the shared initial weights; `name` is how its runs record it.
   */
  readonly init?: ReadonlyMap<ActivationName, StartModel> | undefined;
}

/** A trained model a comparison's run starts from. */
export interface StartModel {
  readonly name: string;
  readonly sha256?: string | undefined;
  readonly config: TrainConfig['network'];
  readonly weights: ReadonlyMap<string, Float32Array>;
}

export interface RunResult {
  readonly seed: number;
  readonly act: ActivationName;
  readonly curve: Array<{ iteration: number; psnrY: number; ssimY: number; detail: number }>;
  readonly losses: Array<{ iteration: number; loss: number }>;
  /** The last validation's scores; `detail` is the detail measure (ml/metrics.ts). */
  readonly final: { psnrY: number; ssimY: number; detail: number } | null;
  readonly msPerIteration: number;
}

export interface Stat {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

export interface CompareReport {
  readonly acts: readonly ActivationName[];
  readonly seeds: readonly number[];
  readonly config: Omit<TrainConfig, 'seed'>;
  readonly backend?: string | undefined;
  readonly bicubic: { psnrY: number; ssimY: number; detail: number };
  readonly runs: RunResult[];
  readonly perAct: Record<string, { psnrY: Stat; ssimY: Stat; detail: Stat; msPerIteration: Stat }>;
  /** Second activation minus first, seed by seed. */
  readonly paired: {
    a: ActivationName;
    b: ActivationName;
    psnrY: Stat;
    ssimY: Stat;
    detail: Stat;
    tPsnr: number | null;
    msRatio: number;
  } | null;
  readonly fairness: string;
  readonly cancelled: boolean;
}

export type CompareEvent =
  | { type: 'run'; seed: number; act: ActivationName; index: number; total: number; event: TrainEvent }
  | { type: 'report'; report: CompareReport; sheet: RgbImage | null };

export const stat = (xs: number[]): Stat => {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
};

export async function* compare(o: CompareOptions): AsyncGenerator<CompareEvent> {
  const runs: RunResult[] = [];
  const models = new Map<ActivationName, Uint8Array>();
  const total = o.seeds.length * o.acts.length;
  let index = 0;
  let cancelled = false;
  for (const seed of o.seeds) {
    // The shapes do not depend on the activation, so one set of initial weights serves them all.
    const initial = initialWeights(o.base.network, seed);
    for (const act of o.acts) {
      const network = { ...o.base.network, activation: act };
      const twin = o.init?.get(act);
      const start = twin ? initFromModel(twin, network, seed) : undefined;
      const init =
        twin && start
          ? { model: twin.name, loaded: start.loaded, ...(twin.sha256 ? { sha256: twin.sha256 } : {}) }
          : undefined;
      const config = makeTrainConfig({ ...o.base, network, seed, init });
      const inner = await o.storeFor(seed, act);
      const store: RunStore = {
        ...bind(inner),
        writeModel: async (bytes) => {
          if (seed === o.seeds[0]) models.set(act, bytes);
          return inner.writeModel(bytes);
        },
      };
      const result: RunResult = { seed, act, curve: [], losses: [], final: null, msPerIteration: 0 };
      const mutable = result as { -readonly [K in keyof RunResult]: RunResult[K] };
      for await (const event of train({
        config,
        data: o.data,
        val: o.val,
        store,
        control: o.control,
        initial: start?.weights ?? initial,
        engine: o.engine,
        evaluator: o.evaluator,
        jpeg: o.jpeg,
      })) {
        if (event.type === 'progress') result.losses.push({ iteration: event.iteration, loss: event.loss });
        if (event.type === 'validation')
          result.curve.push({
            iteration: event.iteration,
            psnrY: event.psnrY,
            ssimY: event.ssimY,
            detail: event.detail,
          });
        if (event.type === 'end') {
          mutable.msPerIteration = event.msPerIteration;
          mutable.final = event.last
            ? { psnrY: event.last.psnrY, ssimY: event.last.ssimY, detail: event.last.detail }
            : null;
          cancelled ||= event.reason === 'cancelled';
        }
        yield { type: 'run', seed, act, index, total, event };
      }
      runs.push(result);
      index++;
      if (cancelled) break;
    }
    if (cancelled) break;
  }
  const report = summarise(o, runs, cancelled);
  yield { type: 'report', report, sheet: await contactSheet(o, models) };
}

function bind(s: RunStore): RunStore {
  return {
    writeConfig: s.writeConfig.bind(s),
    appendMetrics: s.appendMetrics.bind(s),
    writeCheckpoint: s.writeCheckpoint.bind(s),
    readLatestCheckpoint: s.readLatestCheckpoint.bind(s),
    writePreview: s.writePreview.bind(s),
    writeModel: s.writeModel.bind(s),
  };
}

function summarise(o: CompareOptions, runs: RunResult[], cancelled: boolean): CompareReport {
  const perAct: CompareReport['perAct'] = {};
  for (const act of o.acts) {
    const mine = runs.filter((r) => r.act === act && r.final);
    perAct[act] = {
      psnrY: stat(mine.map((r) => r.final!.psnrY)),
      ssimY: stat(mine.map((r) => r.final!.ssimY)),
      detail: stat(mine.map((r) => r.final!.detail)),
      msPerIteration: stat(mine.map((r) => r.msPerIteration)),
    };
  }
  let paired: CompareReport['paired'] = null;
  const [a, b] = o.acts;
  if (a && b) {
    const pairs = o.seeds
      .map(
        (seed) =>
          [runs.find((r) => r.seed === seed && r.act === a), runs.find((r) => r.seed === seed && r.act === b)] as const,
      )
      .filter(([x, y]) => x?.final && y?.final);
    const dp = pairs.map(([x, y]) => y!.final!.psnrY - x!.final!.psnrY);
    const ds = pairs.map(([x, y]) => y!.final!.ssimY - x!.final!.ssimY);
    const dd = pairs.map(([x, y]) => y!.final!.detail - x!.final!.detail);
    const p = stat(dp);
    paired = {
      a,
      b,
      psnrY: p,
      ssimY: stat(ds),
      detail: stat(dd),
      tPsnr: p.n > 1 && p.sd > 0 ? p.mean / (p.sd / Math.sqrt(p.n)) : null,
      msRatio: perAct[b]!.msPerIteration.mean / perAct[a]!.msPerIteration.mean,
    };
  }
  const { seed: _, ...config } = o.base;
  const v = o.val;
  const bicubic = {
    psnrY: v.reduce((s, x) => s + x.bicubic.psnrY, 0) / Math.max(1, v.length),
    ssimY: v.reduce((s, x) => s + x.bicubic.ssimY, 0) / Math.max(1, v.length),
    detail: v.reduce((s, x) => s + x.bicubic.detail, 0) / Math.max(1, v.length),
  };
  const fairness =
    (o.init
      ? `Each of ${o.acts.join(', ')} was trained from its own model of the same shape (${o.acts.map((a) => `${a} from ${o.init!.get(a)?.name}`).join(', ')}; seeds ${o.seeds.join(', ')}), `
      : `Each of ${o.acts.join(', ')} was trained from the same initial weights per seed (seeds ${o.seeds.join(', ')}), `) +
    `on the same batches in the same order, for ${o.base.iterations} iterations with the same learning rate ` +
    `(${o.base.lr}, warm-up ${o.base.warmup} then cosine), batch ${o.base.batch} × ${o.base.patch}² LR patches` +
    `${o.base.degrade === 'none' ? '' : ` with the ${o.base.degrade} degradations`}` +
    (o.base.objective === 'perceptual'
      ? `, trained perceptually (adversarial weight ${o.base.advWeight}, each seed's discriminator starting alike)`
      : '') +
    `${o.backend ? `, on the ${o.backend} backend` : ''}; only the activation differed.` +
    (cancelled ? ' The comparison was cancelled before it finished, so these figures are incomplete.' : '');
  return {
    acts: o.acts,
    seeds: o.seeds,
    config,
    backend: o.backend,
    bicubic,
    runs,
    perAct,
    paired,
    fairness,
    cancelled,
  };
}

/** Rows of crops from the validation images: bicubic | each activation | ground truth. */
async function contactSheet(o: CompareOptions, models: Map<ActivationName, Uint8Array>): Promise<RgbImage | null> {
  const acts = o.acts.filter((a) => models.has(a));
  if (!acts.length || !o.val.length) return null;
  const scale = o.base.network.scale;
  const crops = o.val.slice(0, 4).map((v) => previewCrop(v, scale));
  const nets = acts.map((a) => {
    const m = decodeModel(models.get(a)!, `${a} model`);
    return new Network(m.config, m.weights, false);
  });
  try {
    const rows: RgbImage[][] = [];
    for (const c of crops) {
      const row = [bicubicBaseline(c.lr, c.hr.width, c.hr.height)];
      for (const net of nets) row.push(await upscaleImage(net, c.lr));
      row.push(c.hr);
      rows.push(row);
    }
    return grid(rows, 4);
  } finally {
    for (const n of nets) n.dispose();
  }
}
