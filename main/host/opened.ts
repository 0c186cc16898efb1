/**
 * A path opened once, and checked through the open handle: what a request reads or writes is the
 * very file or folder that was checked, whatever happens to its name afterwards.
 *
 * The path is resolved (symlinks followed) and checked first, so a path outside is refused before
 * anything is opened; its resolved form is then opened without following a final symlink, and the
 * handle says where it really is: on Linux the link /proc/self/fd/N, elsewhere its device and
 * inode, which must be those of the checked path. Reads and writes then go through `use`, a name
 * for exactly that file or folder (/proc/self/fd/N, or /proc/self/fd/N/NAME inside a folder).
 */
import { constants, existsSync, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UserError, withPaths } from '../../ml/errors.ts';

/** Whether this system names open files as /proc/self/fd/N. */
const PROC = process.platform === 'linux' && existsSync('/proc/self/fd');

/** Read-only, and never blocking on a FIFO or device (those are refused once opened). */
const FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export interface Opened {
  /** The path as the request named it (absolute), for messages. */
  readonly given: string;
  /** Where the opened file or folder really is. */
  readonly real: string;
  /** A name for exactly what was opened: pass it to sharp or fs, or join a name to it for a folder. */
  readonly use: string;
  readonly stats: Stats;
  readonly handle: FileHandle;
  close(): Promise<void>;
}

export interface OpenRules {
  /** any: a file or a folder (a FIFO, device or socket is refused either way). */
  readonly kind: 'file' | 'folder' | 'any';
  /** Whether the real path may be used. */
  readonly admits: (real: string) => boolean;
  /** The refusal for a path that may not be used (the same whether or not it exists). */
  readonly refusal: () => Error;
  /** The sentence for a path inside the allowed folders that is not there (or not of `kind`). */
  readonly missing: (why: 'missing' | 'folder' | 'file') => Error;
}

/**
 * `p` with every symlink resolved, also where its last parts do not exist yet; null when a part
 * of it is a symlink that leads nowhere.
 */
export async function realPath(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return null;
    if (
      await fs.lstat(p).then(
        () => true,
        () => false,
      )
    )
      return null; // a dangling symlink
    const parent = path.dirname(p);
    if (parent === p) return null;
    const real = await realPath(parent);
    return real === null ? null : path.join(real, path.basename(p));
  }
}

/** Where an open handle really is; null when what it names has been removed. */
async function handlePath(h: FileHandle, checked: string): Promise<string | null> {
  if (PROC) {
    const p = await fs.readlink(`/proc/self/fd/${h.fd}`);
    return p.endsWith(' (deleted)') ? null : p;
  }
  // No /proc: the checked path must still name the same file as the handle.
  const [a, b] = await Promise.all([h.stat(), fs.stat(checked).catch(() => undefined)]);
  return b && a.dev === b.dev && a.ino === b.ino ? checked : null;
}

/** Opens `given` (absolute) by the rules; the caller closes it (or uses `withOpened`). */
export async function openChecked(given: string, rules: OpenRules): Promise<Opened> {
  const checked = await realPath(given);
  if (checked === null || !rules.admits(checked)) throw rules.refusal();
  let h: FileHandle;
  try {
    h = await fs.open(checked, FLAGS | (rules.kind === 'folder' ? (constants.O_DIRECTORY ?? 0) : 0));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw rules.missing('missing');
    if (code === 'ENOTDIR' && rules.kind === 'folder') {
      const st = await fs.lstat(checked).catch(() => undefined);
      if (!st) throw rules.missing('missing');
      if (!st.isSymbolicLink()) throw rules.missing('file');
    }
    throw rules.refusal(); // a symlink put in its place since the check, or something no one may open
  }
  try {
    const real = await handlePath(h, checked);
    if (real === null || !rules.admits(real)) throw rules.refusal();
    const stats = await h.stat();
    if (rules.kind === 'file' && stats.isDirectory()) throw rules.missing('folder');
    if (!stats.isFile() && !stats.isDirectory()) throw rules.refusal(); // a FIFO, device or socket
    return { given, real, use: PROC ? `/proc/self/fd/${h.fd}` : real, stats, handle: h, close: () => h.close() };
  } catch (e) {
    await h.close();
    throw e;
  }
}

/**
 * The folder `name` inside an opened folder (`dir`: its `use`), opened through the folder's own
 * handle without following a symlink, so it lies inside whatever happens to names meanwhile; null
 * when it is no longer a folder there (gone, or swapped for a symlink). Without /proc the name is
 * opened under the folder's real path and must still be the same folder as the handle.
 */
export async function openSubfolder(dir: string, name: string): Promise<{ use: string; handle: FileHandle } | null> {
  const p = path.join(dir, name);
  const h = await fs.open(p, FLAGS | (constants.O_DIRECTORY ?? 0)).catch(() => null);
  if (!h) return null;
  if (PROC) return { use: `/proc/self/fd/${h.fd}`, handle: h };
  const [a, b] = await Promise.all([h.stat(), fs.lstat(p).catch(() => undefined)]);
  if (b?.isDirectory() && a.dev === b.dev && a.ino === b.ino) return { use: p, handle: h };
  await h.close();
  return null;
}

const escapeRegExp = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `e` with every `use` (or a path under it) in its message named as the request named it. */
export function asGiven(e: unknown, opened: readonly Opened[]): unknown {
  if (!(e instanceof Error)) return e;
  let { message } = e;
  const patterns = opened
    .filter((o) => o.use !== o.real)
    .map((o) => [new RegExp(`${escapeRegExp(o.use)}(?![0-9])`, 'g'), o.given] as const);
  const given = (t: string) => patterns.reduce((s, [pattern, name]) => s.replace(pattern, name), t);
  if (e instanceof UserError) return patterns.length ? withPaths(e, given) : e;
  message = given(message);
  if (message === e.message) return e;
  const copy = new Error(message);
  copy.stack = e.stack;
  return copy;
}

/** Runs `fn` on the opened file or folder, then closes it; errors name the path as given. */
export async function withOpened<T>(opened: Opened | Promise<Opened>, fn: (o: Opened) => Promise<T>): Promise<T> {
  const o = await opened;
  try {
    return await fn(o);
  } catch (e) {
    throw asGiven(e, [o]);
  } finally {
    await o.close();
  }
}
