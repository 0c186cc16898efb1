/**
 * Paths a front end opened already. Browser mode opens each file and folder a job names once,
 * checks where it really is, and hands the job a map: each path as the user named it → a name for
 * the open file or folder itself (on Linux /proc/self/fd/N, which every thread of the process
 * shares). A job given such a map reads and writes only through it, so what it uses is what was
 * checked whatever happens to the names meanwhile, and it reports everything by the names the user
 * gave. A path inside an opened folder goes through the folder (`/proc/self/fd/N/NAME`); a path
 * that is in no opened file or folder is not there.
 */
import path from 'node:path';
import { constants, promises as fs } from 'node:fs';
import { errors, UserError, withPaths } from '../errors.ts';

/** Each path as the user named it (absolute) → where to reach what was opened for it. */
export type ThroughMap = Readonly<Record<string, string>>;

export interface Through {
  /** Where to read or write `p` (a path the user named, or one inside a folder they named). */
  use(p: string): string;
  /** `e` (an error or a message) with every opened name in it shown as the user named it. */
  named<T>(e: T): T;
}

const escapeRegExp = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Paths as they are: for the command line and the desktop app, which open by name. */
const AS_NAMED: Through = { use: (p) => p, named: (e) => e };

export function through(map: ThroughMap | undefined): Through {
  if (!map) return AS_NAMED;
  const back = new Map(Object.entries(map).map(([given, use]) => [use, given]));
  // Longest first, and never a prefix of a longer number (/proc/self/fd/1 in /proc/self/fd/12).
  const uses = [...back.keys()].filter((u) => u !== back.get(u)).sort((a, b) => b.length - a.length);
  const pattern = uses.length ? new RegExp(`(${uses.map(escapeRegExp).join('|')})(?![0-9])`, 'g') : null;
  const text = (t: string) => (pattern ? t.replace(pattern, (u) => back.get(u) ?? u) : t);
  return {
    use(p) {
      for (let given = p; ; given = path.dirname(given)) {
        const use = map[given];
        if (use !== undefined) return given === p ? use : use + p.slice(given.length);
        if (path.dirname(given) === given) throw errors.missingPath(p);
      }
    },
    named<T>(e: T): T {
      if (typeof e === 'string') return text(e) as T;
      if (!(e instanceof Error)) return e;
      if (e instanceof UserError) return withPaths(e, text) as T;
      const message = text(e.message);
      if (message === e.message) return e;
      const copy = new Error(message);
      copy.stack = e.stack;
      return copy as T;
    },
  };
}

/**
 * Runs `fn` on the file `p` opened without following a final symlink (a name under an opened
 * folder is still a name: what lies there now may have been swapped for a symlink); `fn` gets a
 * name for the open file.
 */
export async function withFileAt<R>(p: string, fn: (file: string) => Promise<R>): Promise<R> {
  const h = await fs.open(p, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    const opened = process.platform === 'linux' ? `/proc/self/fd/${h.fd}` : p;
    return await fn(opened);
  } finally {
    await h.close();
  }
}
