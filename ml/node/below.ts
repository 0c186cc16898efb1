/**
 * A folder reached through an open handle (a name such as /proc/self/fd/N that a front end opened
 * and checked, through.ts), walked and read without following any symlink below it: each
 * sub-folder is opened through its parent's handle, each file without following a final symlink.
 * A name swapped for a symlink meanwhile leads nowhere (it is skipped, or reads as not there).
 */
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isImagePath } from './files.ts';
import { errors } from '../errors.ts';
import { through } from './through.ts';

const PROC = process.platform === 'linux';
const DIR_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_DIRECTORY ?? 0);

/** The folder `name` in the folder `dir` (a handle's name), opened without following a symlink; null when it is no longer one. */
async function subfolder(dir: string, name: string): Promise<{ use: string; handle: FileHandle } | null> {
  const p = path.join(dir, name);
  const h = await fs.open(p, DIR_FLAGS).catch(() => null);
  return h && { use: PROC ? `/proc/self/fd/${h.fd}` : p, handle: h };
}

/** The images below `dir`, as '/'-separated paths relative to it, sub-folders opened through their parents' handles. */
export async function* imagesBelow(dir: string, rel = ''): AsyncGenerator<string> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const below = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      const sub = await subfolder(dir, e.name);
      if (!sub) continue;
      try {
        yield* imagesBelow(sub.use, below);
      } finally {
        await sub.handle.close();
      }
    } else if (e.isFile() && isImagePath(e.name)) {
      yield below;
    }
  }
}

/**
 * Runs `fn` on the file `rel` ('/'-separated) below the folder `dir`, reached one folder at a time
 * through handles and opened without following a symlink; `fn` gets a name for the open file.
 */
export async function withFileBelow<R>(dir: string, rel: string, fn: (file: string) => Promise<R>): Promise<R> {
  const parts = rel.split('/');
  const file = parts.pop()!;
  const held: FileHandle[] = []; // the folders on the way, then the file
  try {
    let at = dir;
    for (const part of parts) {
      const sub = await subfolder(at, part);
      if (!sub) throw errors.missingPath(path.join(dir, rel));
      held.push(sub.handle);
      at = sub.use;
    }
    // Errors name the file by its path below `dir`, not by the handle it was read through.
    const named = path.join(dir, rel);
    // Not there, or a symlink put in its place: either way not a photo of this folder.
    const h = await fs
      .open(path.join(at, file), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))
      .catch(() => {
        throw errors.missingPath(named);
      });
    held.push(h);
    const f = PROC ? `/proc/self/fd/${h.fd}` : path.join(at, file);
    return await fn(f).catch((e: unknown) => {
      throw through({ [named]: f }).named(e);
    });
  } finally {
    await Promise.all(held.map((h) => h.close()));
  }
}
