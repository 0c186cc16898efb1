/**
 * The upscale history: every photo the engine wrote, newest first, kept in results.json in the
 * data folder so that a restart still leads to them. Clearing it forgets the list; the files stay.
 * Browser mode also has a results folder (<data>/results) that upscales go to when no output
 * folder is typed: uploads live in an inbox that the next start empties, so "next to each photo"
 * would put results where no one looks.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../ml/node/atomic.ts';
import type { Events, ResultInfo } from '../api.ts';
import type { Handlers, HostContext, RequestAccess } from './context.ts';
import { realPath } from './opened.ts';
import { isObj, none } from './validate.ts';

/** Entries kept; the oldest go first. */
export const MAX_RESULTS = 500;

/** What is stored of a result: its input's path, whether or not it is still there. */
type Stored = Omit<ResultInfo, 'input'> & { readonly input: string };

const isStored = (v: unknown): v is Stored =>
  isObj(v) &&
  typeof v.output === 'string' &&
  path.isAbsolute(v.output) &&
  typeof v.name === 'string' &&
  typeof v.input === 'string' &&
  Number.isInteger(v.width) &&
  Number.isInteger(v.height) &&
  typeof v.at === 'string';

/** Whether `p` is a file this request may read (browser mode: in a folder the session may use). */
async function reachable(p: string, access: RequestAccess | undefined): Promise<boolean> {
  const st = await fs.stat(p).catch(() => undefined);
  if (!st?.isFile()) return false;
  if (!access) return true;
  const real = await realPath(p);
  return real !== null && access.admits(real, 'read');
}

export class ResultsBook {
  /** Browser mode's results folder. */
  readonly folder: string;
  readonly file: string;
  #entries: Stored[];
  #saving: Promise<void> = Promise.resolve();
  /** A write is waiting to start: later changes go with it (a long batch is not one write per file). */
  #queued = false;

  private constructor(dataDir: string, entries: Stored[]) {
    this.folder = path.join(dataDir, 'results');
    this.file = path.join(dataDir, 'results.json');
    this.#entries = entries;
  }

  /** The history saved in `dataDir`; a damaged file is kept aside as results.json.bad and the list starts empty. */
  static async open(dataDir: string): Promise<ResultsBook> {
    const file = path.join(dataDir, 'results.json');
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    if (text === null) return new ResultsBook(dataDir, []);
    try {
      const raw: unknown = JSON.parse(text);
      if (!Array.isArray(raw)) throw new Error('not a list');
      return new ResultsBook(dataDir, raw.filter(isStored).slice(0, MAX_RESULTS));
    } catch (e) {
      console.error(`SR Studio: ${file} could not be used (${(e as Error).message}); starting a new list of results.`);
      await fs.rename(file, `${file}.bad`).catch(() => undefined);
      return new ResultsBook(dataDir, []);
    }
  }

  /** Notes a file the engine wrote (an output written again moves to the top); saved in the background. */
  record(done: Events['job:file-done'], name: string, at = new Date()): void {
    const entry: Stored = {
      output: done.output,
      name,
      input: done.file,
      width: done.width,
      height: done.height,
      at: at.toISOString(),
    };
    this.#entries = [entry, ...this.#entries.filter((e) => e.output !== done.output)].slice(0, MAX_RESULTS);
    this.#save();
  }

  /** Whether `file` is a result in the list. */
  has(file: string): boolean {
    const p = path.resolve(file);
    return this.#entries.some((e) => e.output === p);
  }

  /** The results still there (and, in browser mode, in folders the session may open), newest first. */
  async list(access?: RequestAccess): Promise<ResultInfo[]> {
    const kept = await Promise.all(
      this.#entries.map(async (e) =>
        (await reachable(e.output, access))
          ? { ...e, input: (await reachable(e.input, access)) ? e.input : null }
          : null,
      ),
    );
    return kept.filter((e) => e !== null);
  }

  /** Forgets every result; the files stay where they are. */
  clear(): Promise<void> {
    this.#entries = [];
    return this.#save();
  }

  /** Resolves once what was recorded so far is on disk. */
  flush(): Promise<void> {
    return this.#saving;
  }

  #save(): Promise<void> {
    if (this.#queued) return this.#saving;
    this.#queued = true;
    this.#saving = this.#saving.then(async () => {
      this.#queued = false;
      const text = JSON.stringify(this.#entries, null, 1) + '\n';
      await writeFileAtomic(this.file, new TextEncoder().encode(text)).catch((e: unknown) => {
        console.error(`SR Studio: the list of results could not be saved to ${this.file} (${(e as Error).message}).`);
      });
    });
    return this.#saving;
  }
}

export function resultHandlers(ctx: HostContext): Pick<Handlers, 'results:list' | 'results:clear'> {
  return {
    async 'results:list'(arg, access) {
      none(arg, 'results:list');
      return { folder: ctx.uploads ? ctx.results.folder : null, results: await ctx.results.list(access) };
    },
    async 'results:clear'(arg) {
      none(arg, 'results:clear');
      await ctx.results.clear();
    },
  };
}
