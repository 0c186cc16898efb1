/**
 * What a browser-mode job reads and writes, opened once by the host and checked (opened.ts), then
 * held open until the job ends, however it ends (done, failed or cancelled). The engine is handed
 * `through` (ml/node/through.ts): each path as the request named it → the name of what was opened
 * for it (/proc/self/fd/N, which the engine's threads share), and it reads and writes only through
 * those, so a name swapped for a symlink after the check leads the job nowhere.
 */
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import type { ThroughMap } from '../../ml/node/through.ts';
import type { RequestAccess } from './context.ts';
import type { ModelInfo } from '../api.ts';
import type { TrainSpec } from '../engine/protocol.ts';
import { openModel, type ModelFolders } from './models.ts';
import type { Opened } from './opened.ts';
import { openDir, openPath } from './validate.ts';

/** Files and folders all jobs may hold open at once (each batch's inputs count); more waits for a batch to end. */
export const MAX_HELD = 12_000;

let heldNow = 0;

/** How many files and folders jobs hold open now (for tests). */
export const heldCount = () => heldNow;

export class Held {
  readonly #opened: Opened[] = [];
  readonly #map: Record<string, string> = {};
  #released = false;

  /** The engine's paths for what is held. */
  get through(): ThroughMap {
    return { ...this.#map };
  }

  /** Opens one more (with `open`, which checks it) and holds it for `given`, unless the jobs hold too many already. */
  async open(given: string, open: () => Promise<Opened>): Promise<Opened> {
    if (heldNow >= MAX_HELD) {
      throw errors.badArgument(
        `Jobs already hold ${MAX_HELD} files open; upscale fewer files at a time, or wait for a batch to finish.`,
      );
    }
    heldNow++;
    let o: Opened;
    try {
      o = await open();
    } catch (e) {
      heldNow--;
      throw e;
    }
    this.#opened.push(o);
    this.#map[given] = o.use;
    return o;
  }

  /** Holds a file or folder opened elsewhere (a model). */
  adopt(given: string, o: Opened): void {
    heldNow++;
    this.#opened.push(o);
    this.#map[given] = o.use;
  }

  /** Closes everything once `ended` settles (the job's end). */
  until(ended: Promise<unknown>): void {
    void ended.finally(() => this.release());
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    heldNow -= this.#opened.length;
    await Promise.all(this.#opened.map((o) => o.close().catch(() => undefined)));
  }
}

const q = (p: string) => JSON.stringify(p);

/** Thrown by an opener for a path that is not there: the job says so for that file, the others go on. */
const NOT_THERE = new Error('not there');

/**
 * An upscale's files (each read through its own handle; one not there is left for the job to
 * report), its output folder, or when results go next to the inputs each input's folder.
 */
export async function holdUpscale(
  h: Held,
  files: readonly string[],
  outputDir: string | null,
  access: RequestAccess,
): Promise<void> {
  const skipMissing = (e: unknown) => {
    if (e !== NOT_THERE) throw e;
  };
  for (const f of new Set(files)) {
    const o = await h.open(f, () => openPath(f, 'Image', { access, missing: () => NOT_THERE })).catch(skipMissing);
    if (o?.stats.isDirectory())
      throw errors.badArgument(
        `Image: ${q(f)} is a folder; in browser mode, add the images in it to the list instead.`,
        'Image',
      );
  }
  if (outputDir !== null) {
    const o = await h.open(outputDir, () =>
      openDir(outputDir, 'Output folder', { access, use: 'write', chosen: true }),
    );
    access.chose(outputDir, o.real);
    return;
  }
  for (const dir of new Set(files.map((f) => path.dirname(f)))) {
    await h
      .open(dir, () => openDir(dir, 'Image', { access, use: 'write', missing: () => NOT_THERE }))
      .catch(skipMissing);
  }
}

/**
 * A training's (or comparison's) folders: the photos and validation photos read, and the run's
 * folder written: an earlier run's own folder, or for a new run the folder it is made in (the
 * spec's `run`, the runs folder filled in). `chosen`: the folder typed as the new run's parent
 * (granted as it was opened).
 */
export async function holdTrain(
  h: Held,
  job: Pick<TrainSpec, 'run'> & { readonly data: string; readonly val: string | null; readonly chosen: string | null },
  access: RequestAccess,
): Promise<void> {
  for (const [p, label] of [
    [job.data, 'Training folder'],
    [job.val, 'Validation folder'],
  ] as const) {
    if (p === null) continue;
    const o = await h.open(p, () => openDir(p, label, { access, chosen: true }));
    access.chose(p, o.real);
  }
  const dir = job.run.kind === 'new' ? job.run.parent : job.run.dir;
  const o = await h.open(dir, () => openDir(dir, 'Run folder', { access, use: 'write', chosen: dir === job.chosen }));
  if (dir === job.chosen) access.chose(dir, o.real);
}

/** The model an id names (models.ts); with `held` (browser mode) its file is held for the job, else closed. */
export async function holdModel(
  held: Held | undefined,
  id: unknown,
  field: string,
  folders: ModelFolders,
  access: RequestAccess | undefined,
): Promise<ModelInfo> {
  const m = await openModel(id, field, folders, access);
  if (held) held.adopt(m.info.path, m.file);
  else await m.file.close();
  return m.info;
}
