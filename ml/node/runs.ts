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
  return { dir, name: path.basename(dir), config, record, state, iterations, iteration, modelPath: hasModel ? model : null, updated };
}

/** The runs directly inside `parent`, most recently updated first. */
export async function listRuns(parent: string): Promise<RunSummary[]> {
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const runs = (await Promise.all(names.map((n) => summariseRun(path.join(parent, n))))).filter((r): r is RunSummary => r !== undefined);
  return runs.sort((a, b) => b.updated.localeCompare(a.updated));
}
