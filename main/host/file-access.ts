/**
 * Browser mode's file access policy. Whoever holds the session token may only reach the folders
 * the user chose: the upload inbox, the models folders, the runs folder, and the folders typed in
 * the UI as the output folder or as training, validation or run folders (each becomes a folder the
 * session may use once the request that named it succeeds). Every path is compared after
 * resolving symlinks, and a path outside gives the same refusal whether or not it exists: paths
 * that are not inside a chosen folder as written are refused without touching the disk.
 *
 * The desktop app does not use this: there the user picks files with the system's own dialogs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import type { Handlers } from './context.ts';
import { isObj } from './validate.ts';

export type Access = 'read' | 'write';

interface Root {
  /** As given (so a path typed through a symlinked parent still matches before it is resolved). */
  readonly given: string;
  readonly real: string;
  readonly access: Access;
}

/** Folders no browser-mode request may choose: the whole disk and the system's own. */
const SYSTEM_FOLDERS = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr'];

const q = (p: string) => JSON.stringify(p);
const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

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
    if (await fs.lstat(p).then(() => true, () => false)) return null; // a dangling symlink
    const parent = path.dirname(p);
    if (parent === p) return null;
    const real = await realPath(parent);
    return real === null ? null : path.join(real, path.basename(p));
  }
}

function isSystemFolder(p: string): boolean {
  if (path.dirname(p) === p) return true; // a file system root (or a Windows drive)
  if (process.platform === 'win32') return /^[A-Za-z]:\\(windows|program files( \(x86\))?)(\\|$)/i.test(p);
  return SYSTEM_FOLDERS.some((d) => inside(p, d));
}

export class FolderAccess {
  readonly #roots: Root[] = [];

  /** The folders granted so far (resolved), for the log and tests. */
  get folders(): ReadonlyArray<{ path: string; access: Access }> {
    return this.#roots.map((r) => ({ path: r.real, access: r.access }));
  }

  /** Lets the session use `dir` (absolute; it need not exist yet): read, or read and write. */
  async allow(dir: string, access: Access): Promise<void> {
    const given = path.resolve(dir);
    const real = (await realPath(given)) ?? given;
    if (this.#roots.some((r) => r.real === real && (r.access === access || r.access === 'write'))) return;
    this.#roots.push({ given, real, access });
  }

  /**
   * Refuses a folder typed in the UI that no request may choose (the disk's root, system folders,
   * also when reached through a symlink); the handler then checks it as usual.
   */
  async checkChoice(p: string, field: string): Promise<void> {
    const abs = path.resolve(p);
    const real = (await realPath(abs)) ?? abs;
    if (isSystemFolder(abs) || isSystemFolder(real)) {
      throw errors.badArgument(`${field}: SR Studio does not use ${q(abs)} in browser mode; choose a folder of your own.`);
    }
  }

  /** Throws the one refusal unless `p` (absolute) lies inside a folder granted for `access`. */
  async check(p: string, access: Access, field: string): Promise<void> {
    const abs = path.resolve(p);
    const fits = (r: Root) => access === 'read' || r.access === 'write';
    const near = this.#roots.some((r) => fits(r) && (inside(abs, r.given) || inside(abs, r.real)));
    const real = near ? await realPath(abs) : null;
    if (real !== null && this.#roots.some((r) => fits(r) && inside(real, r.real))) return;
    throw access === 'read'
      ? errors.badArgument(
          `${field}: ${q(abs)} is outside the folders SR Studio may open in browser mode (dropped files, the output, training and models folders); drop the file onto the window instead.`,
        )
      : errors.badArgument(
          `${field}: ${q(abs)} is outside the folders SR Studio may write to in browser mode (the output folder, run folders and the models folder); choose one of those instead.`,
        );
  }
}

/** Strings that look like absolute paths; anything else is left for the handler to refuse. */
const paths = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((p): p is string => typeof p === 'string' && path.isAbsolute(p) && !p.includes('\0'));
const field = (arg: unknown, key: string): unknown => (isObj(arg) ? arg[key] : undefined);

/** What a channel's argument may touch: files read, files written, folders chosen by typing them. */
interface Rule {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly choose?: Readonly<Record<string, Access>>;
}

const RULES: { readonly [C in keyof Handlers]?: Rule } = {
  'files:expand': { read: ['paths'] },
  'image:thumbnail': { read: ['path'] },
  'image:load': { read: ['path'] },
  'image:info': { read: ['path'] },
  'image:tile': { read: ['path'] },
  'shell:reveal': { read: ['path'] },
  'models:import': { read: ['path'] },
  'models:export': { write: ['to'] },
  'features:maps': { read: ['image'] },
  'job:compare-models': { read: ['image'] },
  'job:upscale': { read: ['files'], choose: { outputDir: 'write' } },
  'job:train': { write: ['continueRun'], choose: { data: 'read', val: 'read', outDir: 'write' } },
  'job:compare': { choose: { data: 'read', val: 'read' } },
  'settings:set': { choose: { outputDir: 'write' } },
};

/**
 * The handlers with the policy in front: each path a request names is checked before its handler
 * runs, and the folders it chose are granted once it succeeds. Upscaling without an output folder
 * writes next to each input, so then each input's folder must be writable.
 */
export function guardFileAccess(handlers: Handlers, access: FolderAccess): Handlers {
  const guarded: Record<string, (arg: unknown) => Promise<unknown>> = { ...handlers };
  for (const [channel, rule] of Object.entries(RULES) as Array<[keyof Handlers, Rule]>) {
    const handler = handlers[channel] as (arg: unknown) => Promise<unknown>;
    guarded[channel] = async (arg: unknown) => {
      for (const key of rule.read ?? []) for (const p of paths(field(arg, key))) await access.check(p, 'read', key);
      for (const key of rule.write ?? []) for (const p of paths(field(arg, key))) await access.check(p, 'write', key);
      const chosen = Object.entries(rule.choose ?? {}).flatMap(([key, a]) => paths(field(arg, key)).map((p) => ({ key, p, a })));
      for (const c of chosen) await access.checkChoice(c.p, c.key);
      // The request's own outputDir decides: the handler passes null on to the engine as it is.
      if (channel === 'job:upscale' && field(arg, 'outputDir') === null) {
        for (const dir of new Set(paths(field(arg, 'files')).map((p) => path.dirname(p)))) {
          await access.check(dir, 'write', 'files').catch(() => {
            throw errors.badArgument(`Results go next to each input when no output folder is set, and SR Studio may not write to ${q(dir)} in browser mode; choose an output folder in Settings.`);
          });
        }
      }
      const result = await handler(arg);
      for (const c of chosen) await access.allow(c.p, c.a);
      return result;
    };
  }
  return guarded as unknown as Handlers;
}
