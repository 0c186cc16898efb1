/**
 * `files:expand`'s listing: the images a file or folder holds, named as the request named it.
 * A folder is listed through the handle it was opened and checked with (opened.ts), and so is each
 * sub-folder: opened through its parent's handle without following a symlink, its files' sizes
 * read without following one. A name swapped for a symlink meanwhile lists nothing from where it
 * leads: no name, no size.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, firstLine, fsError, isUserError } from '../../ml/errors.ts';
import { isImagePath } from '../../ml/node/files.ts';
import type { FileEntry } from '../api.ts';
import type { RequestAccess } from './context.ts';
import { openSubfolder, type Opened } from './opened.ts';
import { openPath } from './validate.ts';
import { wordForApp } from './wording.ts';

interface Found {
  /** The path below the listed folder, with '/' between its parts. */
  readonly rel: string;
  readonly bytes: number;
}

/** The images in the folder `use` names (an open handle), in name order, sub-folders first-come. */
async function* walk(use: string, rel: string, gone: string[]): AsyncGenerator<Found> {
  const entries = await fs.readdir(use, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const below = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      const sub = await openSubfolder(use, e.name);
      if (!sub) continue; // no longer a folder of its own there
      try {
        yield* walk(sub.use, below, gone);
      } finally {
        await sub.handle.close();
      }
    } else if (e.isFile() && isImagePath(e.name)) {
      const st = await fs
        .lstat(path.join(use, e.name))
        .catch((err: { code?: string }) => (err.code === 'ENOENT' ? null : undefined));
      if (st === null) gone.push(below);
      else if (st?.isFile()) yield { rel: below, bytes: st.size };
    }
  }
}

/** What `p` holds: itself when it is a file, the images in it (recursively) when it is a folder. */
export async function listImages(
  p: string,
  field: string,
  access: RequestAccess | undefined,
): Promise<{ files: FileEntry[]; problems: string[] }> {
  let top: Opened;
  try {
    top = await openPath(p, field, { access, missing: () => errors.missingPath(p) });
  } catch (e) {
    if (isUserError(e) && e.code === 'missing-path') return { files: [], problems: [wordForApp(e.data)] };
    throw e;
  }
  try {
    if (!top.stats.isDirectory())
      return { files: [{ path: top.given, name: path.basename(top.given), bytes: top.stats.size }], problems: [] };
    const files: FileEntry[] = [];
    const gone: string[] = [];
    const problems: string[] = [];
    try {
      for await (const f of walk(top.use, '', gone)) {
        const named = path.join(top.given, f.rel);
        files.push({ path: named, name: path.basename(named), bytes: f.bytes });
      }
    } catch (e) {
      const error = fsError(e, top.given);
      problems.push(isUserError(error) ? wordForApp(error.data) : firstLine(error));
    }
    problems.push(
      ...gone.map((rel) => `${JSON.stringify(path.join(top.given, rel))} disappeared while it was being listed.`),
    );
    if (!files.length && !problems.length) problems.push(wordForApp(errors.noImages(top.given).data));
    return { files, problems };
  } finally {
    await top.close();
  }
}
