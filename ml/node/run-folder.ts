import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, errors, fsError, isUserError, type ErrorData } from '../errors.ts';
import type { RgbImage } from '../image.ts';
import { decodeCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import { parseTrainConfig, type TrainConfig, type TrainInit } from '../train/config.ts';
import type { RunStore } from '../train/trainer.ts';
import { alive, ensureDir, removeStaleTemps, tempPathFor, writeFileAtomic } from './atomic.ts';
import { writeImage } from './image-io.ts';

/**
 * A training run's folder:
 *   config.json                 the validated configuration
 *   run.json                    what the run was started on and where it stands (RunRecord)
 *   metrics.jsonl               one JSON record per line (progress and validation)
 *   checkpoints/ckpt_NNNNNNN.safetensors   the newest N, plus best.safetensors
 *   preview.png, previews/NNNNNNN.png      bicubic | network | ground truth
 *   model_best.safetensors      the best model, ready for `sr-studio upscale --model`
 * Every file is written atomically, so a crash or a full disk never loses the previous one.
 */
export const MODEL_FILE = 'model_best.safetensors';
const RECORD_FILE = 'run.json';

/** run.json: the folders a run trains on, and its state as the last process left it. */
export interface RunRecord {
  readonly data: string;
  readonly val: string | null;
  /** The iterations the run trains to (a continue may raise it past config.json's); absent in older runs. */
  readonly iterations?: number;
  readonly command: string;
  readonly backend: string;
  readonly created: string;
  readonly updated: string;
  /** running: a process is (or was, if `pid` is gone) training it. */
  readonly state: 'running' | 'finished' | 'stopped' | 'failed';
  readonly pid: number;
  readonly iteration: number;
  readonly best: { readonly iteration: number; readonly psnrY: number } | null;
  /** How it ended, when an error ended it, in the command line's words (older runs record only this). */
  readonly message: string | null;
  /** The error that ended it, as data, for each front end to word (`endMessage`); null or absent: none, or not known. */
  readonly error?: ErrorData | null;
  /** The model the run's weights started from (train --init); null or absent: from scratch. */
  readonly init?: TrainInit | null;
}

/**
 * What a run's record says of the error that ended it at `iteration`, in a front end's words
 * (`word`): a training that diverged says so itself; any other error stopped it at that iteration.
 */
export function endedBy(error: ErrorData, iteration: number, word: (e: ErrorData) => string): string {
  const said = word(error);
  return error.code === 'training-diverged'
    ? said
    : `Stopped at iteration ${iteration}: ${said.charAt(0).toLowerCase()}${said.slice(1)}`;
}

/**
 * How a recorded run ended, in a front end's words: from the error it records, when SR Studio knows
 * its code, else the record's own sentence (the command line's).
 */
export function endMessage(r: RunRecord, word: (e: ErrorData) => string): string | null {
  const e = r.error;
  if (!e || !ERROR_CODES.includes(e.code) || typeof e.facts !== 'object' || e.facts === null) return r.message;
  try {
    return endedBy(e, r.iteration, word);
  } catch {
    return r.message; // facts this version cannot word
  }
}

export interface OpenedRun {
  readonly folder: RunFolder;
  readonly config: TrainConfig;
  /** The newest checkpoint; none when the run stopped before its first (it then starts again from 0). */
  readonly checkpoint: Checkpoint | undefined;
  readonly record: RunRecord | undefined;
}

export class RunFolder implements RunStore {
  constructor(
    readonly dir: string,
    readonly keep: number,
  ) {}

  /**
   * A folder for a new run, with its config.json written before anything else, so that a process
   * killed at any later moment leaves a run that --resume continues. The folder must be new, empty,
   * or hold only what a run killed before its config.json leaves (see `unstarted`), which it then
   * starts anew; a folder with a run in it is continued, not restarted, and one with other files in
   * it is never written into. Of two processes creating the same run, only one gets it.
   */
  static async create(dir: string, keep: number, config?: TrainConfig): Promise<RunFolder> {
    const names = await fs.readdir(dir).catch((e: { code?: string }) => {
      if (e.code === 'ENOENT') return [] as string[];
      if (e.code === 'ENOTDIR') throw errors.unwritableOutput(dir, 'it is a file, not a folder');
      throw fsError(e, dir);
    });
    if (names.includes('config.json')) throw errors.runExists(dir);
    const visible = names.filter((n) => !n.startsWith('.'));
    if (visible.length && !(await unstarted(dir, visible))) throw errors.folderNotEmpty(dir);
    // What a killed start left goes; the empty folders stay.
    if (visible.includes(RECORD_FILE)) {
      await fs.rm(path.join(dir, RECORD_FILE)).catch((e: unknown) => {
        throw fsError(e, dir);
      });
    }
    await removeStaleTemps(dir);
    await ensureDir(dir);
    const folder = new RunFolder(dir, keep);
    if (config) {
      // Never replaces: a second process racing for the same folder is told a run is there.
      await writeFileAtomic(path.join(dir, 'config.json'), configBytes(config), { replace: false }).catch(
        (e: unknown) => {
          throw isUserError(e) && e.code === 'output-exists' ? errors.runExists(dir) : e;
        },
      );
    } else {
      try {
        const probe = tempPathFor(path.join(dir, 'write-test'));
        await fs.writeFile(probe, '');
        await fs.rm(probe);
      } catch (e) {
        throw fsError(e, dir);
      }
    }
    await ensureDir(path.join(dir, 'checkpoints'));
    await ensureDir(path.join(dir, 'previews'));
    return folder;
  }

  /**
   * A new run's folder `dir` (its parent a folder opened already, through.ts) made if it is not
   * there and opened without following a symlink: `use` names the open folder, so the run is
   * written into it whatever happens to its name meanwhile. Close it when the run ends.
   */
  static async hold(dir: string): Promise<{ use: string; close: () => Promise<void> }> {
    await fs.mkdir(dir).catch((e: { code?: string }) => {
      if (e.code !== 'EEXIST') throw fsError(e, dir);
    });
    const h = await fs
      .open(dir, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_DIRECTORY ?? 0))
      .catch((e: { code?: string }) => {
        // ELOOP or ENOTDIR: a symlink or a file took its name since it was made.
        throw e.code === 'ENOENT' ? fsError(e, dir) : errors.unwritableOutput(dir, 'it is not a folder of its own');
      });
    return { use: process.platform === 'linux' ? `/proc/self/fd/${h.fd}` : dir, close: () => h.close() };
  }

  /** An earlier run's config, record and newest checkpoint (to continue it). */
  static async open(dir: string): Promise<OpenedRun> {
    const st = await fs.stat(dir).catch((e: unknown) => {
      throw fsError(e, dir, { what: 'training run folder' });
    });
    if (!st.isDirectory()) throw errors.notARun(dir, 'it is a file, not a folder');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const visible = names.filter((n) => !n.startsWith('.'));
    if (!names.includes('config.json') && (await unstarted(dir, visible))) throw errors.runNotStarted(dir);
    const config = await RunFolder.readConfig(dir);
    const folder = new RunFolder(dir, config.keepCheckpoints);
    for (const d of [dir, path.join(dir, 'checkpoints'), path.join(dir, 'previews')]) await removeStaleTemps(d);
    const latest = await folder.readLatestCheckpoint();
    return {
      folder,
      config,
      checkpoint: latest ? decodeCheckpoint(latest.bytes, latest.path) : undefined,
      record: await folder.readRecord(),
    };
  }

  /** The run's config.json, validated; a folder without a usable one is not a run. */
  static async readConfig(dir: string): Promise<TrainConfig> {
    try {
      return parseTrainConfig(JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw errors.notARun(dir, 'it has no config.json');
      throw errors.notARun(dir, `its config.json cannot be used: ${(e as Error).message.replace(/\.$/, '')}`);
    }
  }

  get modelPath(): string {
    return path.join(this.dir, MODEL_FILE);
  }

  async writeConfig(config: TrainConfig): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'config.json'), configBytes(config));
  }

  async readRecord(): Promise<RunRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir, RECORD_FILE), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
  }

  /** Updates run.json (atomically); the first call must give every field. */
  async writeRecord(patch: Partial<RunRecord>): Promise<RunRecord> {
    const record = { ...(await this.readRecord()), ...patch, updated: new Date().toISOString() } as RunRecord;
    const file = path.join(this.dir, RECORD_FILE);
    const bytes = new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n');
    try {
      await writeFileAtomic(file, bytes);
    } catch (e) {
      // A full disk has no room for a temp file, but the record rewritten in place keeps its own
      // block: better that than a record that still says the run is going, without its end.
      if (!(isUserError(e) && e.code === 'disk-full') || !(await overwriteInPlace(file, bytes))) throw e;
    }
    return record;
  }

  /**
   * Before continuing from `iteration`: the metrics and previews recorded after it (by a process
   * that died before its next checkpoint) go, so the run's records read as one unbroken run.
   */
  async rewindTo(iteration: number): Promise<void> {
    const file = path.join(this.dir, 'metrics.jsonl');
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    const kept = text.split('\n').filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { iteration?: number }).iteration! <= iteration;
      } catch {
        return false; // a line cut short by a crash
      }
    });
    await writeFileAtomic(file, new TextEncoder().encode(kept.map((l) => l + '\n').join('')));
    const previews = path.join(this.dir, 'previews');
    for (const f of await fs.readdir(previews).catch(() => [] as string[])) {
      const m = /^(\d+)\.png$/.exec(f);
      if (m && Number(m[1]) > iteration) await fs.rm(path.join(previews, f), { force: true });
    }
    if (iteration === 0) await fs.rm(path.join(this.dir, 'preview.png'), { force: true });
  }

  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    const file = path.join(this.dir, 'metrics.jsonl');
    try {
      await fs.appendFile(file, JSON.stringify(record) + '\n');
    } catch (e) {
      throw fsError(e, file);
    }
  }

  async writeCheckpoint(iteration: number, bytes: Uint8Array, best: boolean): Promise<string> {
    const dir = path.join(this.dir, 'checkpoints');
    const file = path.join(dir, `ckpt_${String(iteration).padStart(7, '0')}.safetensors`);
    await writeFileAtomic(file, bytes);
    if (best) await writeFileAtomic(path.join(dir, 'best.safetensors'), bytes);
    const old = (await this.#checkpointFiles()).slice(0, -this.keep);
    for (const f of old) await fs.rm(path.join(dir, f), { force: true });
    return file;
  }

  async #checkpointFiles(): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.dir, 'checkpoints')))
        .filter((f) => /^ckpt_\d+\.safetensors$/.test(f))
        .sort();
    } catch {
      return [];
    }
  }

  /** The newest checkpoint's iteration: where a continue starts (0 when there is none). */
  async latestCheckpointIteration(): Promise<number> {
    const last = (await this.#checkpointFiles()).at(-1);
    return last ? Number(/\d+/.exec(last)![0]) : 0;
  }

  async readLatestCheckpoint(): Promise<{ bytes: Uint8Array; path: string } | undefined> {
    const last = (await this.#checkpointFiles()).at(-1);
    if (!last) return undefined;
    const p = path.join(this.dir, 'checkpoints', last);
    try {
      return { bytes: await fs.readFile(p), path: p };
    } catch (e) {
      throw fsError(e, p, { what: 'checkpoint' });
    }
  }

  async writePreview(iteration: number, image: RgbImage): Promise<string> {
    const numbered = path.join(this.dir, 'previews', `${String(iteration).padStart(7, '0')}.png`);
    await writeImage(numbered, image, { format: 'png' });
    const latest = path.join(this.dir, 'preview.png');
    await writeImage(latest, image, { format: 'png' });
    return latest;
  }

  async writeModel(bytes: Uint8Array): Promise<string> {
    await writeFileAtomic(this.modelPath, bytes);
    return this.modelPath;
  }
}

/** Rewrites an existing small file where it is (no new file, so no new block); false when that fails. */
async function overwriteInPlace(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const fh = await fs.open(file, 'r+');
    try {
      await fh.write(bytes, 0, bytes.length, 0);
      await fh.truncate(bytes.length);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch {
    return false;
  }
}

const configBytes = (config: TrainConfig) => new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n');

/**
 * Whether `visible` (a folder's entries, hidden ones left out) is only what a training killed
 * before writing its config.json leaves: empty checkpoints/ and previews/ folders (hidden temp
 * files aside) and a run.json. Nothing of value, so a new run may start there; a run.json of a
 * process that is still training is refused.
 */
async function unstarted(dir: string, visible: readonly string[]): Promise<boolean> {
  for (const n of visible) {
    const p = path.join(dir, n);
    const st = await fs.stat(p).catch(() => undefined);
    if (n === RECORD_FILE && st?.isFile()) continue;
    if (!(n === 'checkpoints' || n === 'previews') || !st?.isDirectory()) return false;
    if ((await fs.readdir(p).catch(() => ['?'])).some((f) => !f.startsWith('.'))) return false;
  }
  if (visible.includes(RECORD_FILE)) {
    const record = await new RunFolder(dir, 1).readRecord();
    if (record?.state === 'running' && record.pid !== process.pid && alive(record.pid))
      throw errors.runBusy(dir, record.pid);
  }
  return true;
}
