/**
 * Training runs in a folder: naming a new one (its settings and when it started) and listing the
 * earlier ones with where each stands, for the app's Train view.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runName, type TrainConfig } from '../train/config.ts';
import { alive } from './atomic.ts';
import { exists } from './files.ts';
import { RunFolder, type RunRecord } from './run-folder.ts';

/** A moment as `YYYYMMDD-HHMMSS` (UTC), for folder names that sort by time. */
export const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

/** `<parent>/<settings>_<YYYYMMDD-HHMMSS>` that does not exist yet (a second start in the same second gets -2, -3…). */
export async function newRunDir(parent: string, config: TrainConfig, now = new Date()): Promise<string> {
  const base = path.join(parent, `${runName(config)}_${stamp(now)}`);
  for (let k = 1; ; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    if (!(await exists(dir))) return dir;
  }
}

export interface RunSummary {
  readonly dir: string;
  readonly name: string;
  readonly config: TrainConfig;
  readonly record: RunRecord | undefined;
  readonly state: 'finished' | 'stopped' | 'failed' | 'interrupted' | 'running';
  /** The iterations it trains to: as run.json records (a continue may raise them), else config.json's. */
  readonly iterations: number;
  /** Where a continue starts: the newest checkpoint's iteration (0 when there is none). */
  readonly iteration: number;
  readonly modelPath: string | null;
  readonly updated: string;
}

/** Whether a process is training the run now (run.json says running and its process is alive). */
export const beingTrained = (r: RunRecord | undefined) => r?.state === 'running' && alive(r.pid);

export async function summariseRun(dir: string): Promise<RunSummary | undefined> {
  let config: TrainConfig;
  try {
    config = await RunFolder.readConfig(dir);
  } catch {
    return undefined; // not a run (or a damaged one, which is not offered)
  }
  const folder = new RunFolder(dir, config.keepCheckpoints);
  const record = await folder.readRecord();
  const iteration = await folder.latestCheckpointIteration();
  const model = folder.modelPath;
  const hasModel = await exists(model);
  const updated = record?.updated ?? (await fs.stat(path.join(dir, 'config.json'))).mtime.toISOString();
  const iterations = record?.iterations ?? config.iterations;
  let state: RunSummary['state'];
  if (record?.state === 'running') state = beingTrained(record) ? 'running' : 'interrupted';
  else if (record) state = record.state;
  else state = iteration >= iterations ? 'finished' : 'stopped';
  return {
    dir,
    name: path.basename(dir),
    config,
    record,
    state,
    iterations,
    iteration,
    modelPath: hasModel ? model : null,
    updated,
  };
}

/** The runs directly inside `parent`, most recently updated first. */
export async function listRuns(parent: string): Promise<RunSummary[]> {
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const runs = (await Promise.all(names.map((n) => summariseRun(path.join(parent, n))))).filter(
    (r): r is RunSummary => r !== undefined,
  );
  return runs.sort((a, b) => b.updated.localeCompare(a.updated));
}

/** One point of metrics.jsonl: a training loss, or a validation's scores. */
export interface RunPoint {
  readonly iteration: number;
  readonly loss?: number;
  readonly psnrY?: number;
  readonly bicubicPsnrY?: number;
  /** The detail measure (validations recorded since it was measured). */
  readonly detail?: number;
}

/** The most loss points `runPoints` gives; beyond, they are thinned evenly (validations are all kept). */
export const MAX_LOSS_POINTS = 2000;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A run's metrics.jsonl as chart points, in order: each progress record's loss and each
 * validation's scores. Lines cut short by a crash, and anything else that is not a record, are
 * skipped; the losses of a long run are thinned to MAX_LOSS_POINTS, keeping the last.
 */
export function runPoints(text: string): RunPoint[] {
  const losses: RunPoint[] = [];
  const vals: RunPoint[] = [];
  for (const line of text.split('\n')) {
    let r: {
      iteration?: unknown;
      loss?: unknown;
      val?: { psnrY?: unknown; bicubicPsnrY?: unknown; detail?: unknown };
    };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue;
    }
    if (typeof r !== 'object' || r === null || !Number.isInteger(r.iteration)) continue;
    const iteration = r.iteration as number;
    if (finite(r.loss)) losses.push({ iteration, loss: r.loss });
    else if (typeof r.val === 'object' && r.val !== null && finite(r.val.psnrY)) {
      vals.push({
        iteration,
        psnrY: r.val.psnrY,
        ...(finite(r.val.bicubicPsnrY) ? { bicubicPsnrY: r.val.bicubicPsnrY } : {}),
        ...(finite(r.val.detail) ? { detail: r.val.detail } : {}),
      });
    }
  }
  const step = Math.ceil(losses.length / MAX_LOSS_POINTS);
  const kept = step <= 1 ? losses : losses.filter((_, i) => i % step === 0 || i === losses.length - 1);
  return [...kept, ...vals].sort((a, b) => a.iteration - b.iteration);
}
