/**
 * The folders a browser-mode session may use, and those no one may choose. Every path is compared
 * after resolving symlinks; a path outside gives the same refusal whether or not it exists, and
 * paths that are not inside a granted folder as written are refused without touching the disk.
 */
import { promises as fs, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import type { Access } from './context.ts';
import { findAppRoot } from './host.ts';
import { realPath } from './opened.ts';

interface Root {
  /** As given (so a path typed through a symlinked parent still matches before it is resolved). */
  readonly given: string;
  readonly real: string;
  readonly access: Access;
  /** The request whose job must not fail for the grant to stay; none for a lasting grant. */
  readonly owner?: object | undefined;
}

/** Folders no request may choose, nor anything inside them: the whole disk's and the system's own. */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
];
/** Folders too wide to choose as they are, though a folder inside one may be chosen. */
const TOO_WIDE = ['/root', '/home', '/tmp', '/opt', '/srv', '/mnt', '/media'];

const q = (p: string) => JSON.stringify(p);
export const inside = (p: string, dir: string) =>
  p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
const both = (p: string) => [
  ...new Set([
    p,
    (() => {
      try {
        return realpathSync(p);
      } catch {
        return p;
      }
    })(),
  ]),
];

const HOME = both(os.homedir());
const TEMP = both(os.tmpdir());

/** Whether `p` (absolute, normalised) is a folder no person would let a browser page use. */
export function isForbiddenFolder(p: string): boolean {
  if (path.dirname(p) === p) return true; // a file system root (or a Windows drive)
  if (process.platform === 'win32')
    return /^[A-Za-z]:\\(windows|program files( \(x86\))?)(\\|$)/i.test(p) || HOME.includes(p);
  if (TOO_WIDE.includes(p) || HOME.includes(p) || TEMP.includes(p) || path.dirname(p) === '/home') return true;
  // The temp folder may itself lie under /var (macOS); folders in it are fine.
  if (TEMP.some((t) => inside(p, t))) return false;
  return SYSTEM_TREES.some((d) => inside(p, d));
}

export class FolderAccess {
  readonly #roots: Root[] = [];
  /** The app's own install folder (its code and bundled models), as given and resolved. */
  readonly #app: readonly string[];

  constructor(appRoot = findAppRoot(import.meta.dirname)) {
    this.#app = both(path.resolve(appRoot));
  }

  /** The folders granted so far (resolved), for the log and tests. */
  get folders(): ReadonlyArray<{ path: string; access: Access }> {
    return this.#roots.map((r) => ({ path: r.real, access: r.access }));
  }

  /**
   * Lets the session use `dir` (absolute; it need not exist yet): read, or read and write. With
   * `owner`, the grant lasts until `revoke(owner)`; `real`: where `dir` was found to be once opened.
   */
  async allow(dir: string, access: Access, owner?: object, real?: string): Promise<void> {
    const given = path.resolve(dir);
    real ??= (await realPath(given)) ?? given;
    if (this.#roots.some((r) => r.owner === owner && r.real === real && (r.access === access || r.access === 'write')))
      return;
    this.#roots.push({ given, real, access, owner });
  }

  /** Takes back the grants made for `owner`; the same folders granted otherwise stay. */
  revoke(owner: object): void {
    for (let i = this.#roots.length - 1; i >= 0; i--) if (this.#roots[i]!.owner === owner) this.#roots.splice(i, 1);
  }

  #inApp = (p: string) => this.#app.some((a) => inside(p, a));

  /**
   * Whether `real` (resolved) lies in a folder granted for `access`. The app's own folder is never
   * written, also not through a chosen folder around it.
   */
  admits(real: string, access: Access): boolean {
    return this.#roots.some(
      (r) =>
        (access === 'read' || r.access === 'write') &&
        inside(real, r.real) &&
        (access === 'read' || !this.#inApp(real) || this.#inApp(r.real)),
    );
  }

  /** The one refusal for a path outside the folders granted for `access`. */
  refusal(p: string, access: Access, field: string): Error {
    const abs = path.resolve(p);
    return access === 'read'
      ? errors.badArgument(
          `${q(abs)} is outside the folders SR Studio may open in browser mode (dropped files, the output, training and models folders); drop the file onto the window instead.`,
          field,
        )
      : errors.badArgument(
          `${q(abs)} is outside the folders SR Studio may write to in browser mode (the output folder, run folders and the models folder); choose one of those instead.`,
          field,
        );
  }

  /** Whether `real` (resolved) is a folder a request may choose for `access` (checkChoice's rule). */
  choosable(real: string, access: Access): boolean {
    return !isForbiddenFolder(real) && !(access === 'write' && this.#inApp(real));
  }

  /**
   * Refuses a folder typed in the UI that no request may choose (the disk's root, system and
   * top-level folders, the home folder itself, and for writing the app's own folder), also when
   * reached through a symlink; the handler then checks it as usual.
   */
  async checkChoice(p: string, field: string, access: Access = 'read'): Promise<void> {
    const abs = path.resolve(p);
    const real = (await realPath(abs)) ?? abs;
    const mine = access === 'write' && (this.#inApp(abs) || this.#inApp(real));
    if (mine || isForbiddenFolder(abs) || isForbiddenFolder(real)) {
      // A file typed where a folder goes is said as such: the fix is another path, not another place.
      if ((await fs.stat(real).catch(() => undefined))?.isFile())
        throw errors.badArgument(
          `${q(abs)} is a file, not a folder; type the path of a folder of your own instead.`,
          field,
        );
      throw errors.badArgument(`SR Studio does not use ${q(abs)} in browser mode; choose a folder of your own.`, field);
    }
  }

  /** Throws the one refusal unless `p` (absolute) lies inside a folder granted for `access`. */
  async check(p: string, access: Access, field: string): Promise<void> {
    const abs = path.resolve(p);
    const fits = (r: Root) => access === 'read' || r.access === 'write';
    const near = this.#roots.some((r) => fits(r) && (inside(abs, r.given) || inside(abs, r.real)));
    const real = near ? await realPath(abs) : null;
    if (real !== null && this.admits(real, access)) return;
    throw this.refusal(abs, access, field);
  }
}
