/**
 * Checks for untrusted request arguments. Every handler takes `unknown` and goes through these;
 * each failure is a UserError with one sentence that says what is wanted, and the field it is about
 * beside it. A path that will not do is named in its sentence by itself, with no field label before
 * it: the page places the sentence by its field, and a toast reads as a plain sentence.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import type { Access, RequestAccess } from './context.ts';
import { openChecked, type Opened } from './opened.ts';

export type Obj = Record<string, unknown>;

/** A refusal in one sentence; `field`: the control or argument it is about, by which the UI places it. */
const bad = (message: string, field?: string) => errors.badArgument(message, field);
/** A value as an error message shows it: short strings quoted, containers by kind. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** The argument as an object with only the allowed keys. */
export function obj(v: unknown, what: string, allowed: readonly string[]): Obj {
  if (!isObj(v)) throw bad(`${what} needs an object argument, not ${show(v)}.`);
  const extra = Object.keys(v).find((k) => !allowed.includes(k));
  if (extra !== undefined)
    throw bad(`${what} does not take a field ${JSON.stringify(extra)}; it takes ${allowed.join(', ') || 'none'}.`);
  return v;
}

/** For channels whose argument is void. */
export function none(v: unknown, what: string): void {
  if (v !== undefined && v !== null) throw bad(`${what} takes no argument.`);
}

export function str(v: unknown, field: string, opts: { max?: number; min?: number } = {}): string {
  if (typeof v !== 'string') throw bad(`${field} must be text, not ${show(v)}.`, field);
  if (v.includes('\0')) throw bad(`${field} must not contain NUL characters.`, field);
  if (v.length < (opts.min ?? 1)) throw bad(`${field} must not be empty.`, field);
  if (v.length > (opts.max ?? 4096)) throw bad(`${field} is longer than ${opts.max ?? 4096} characters.`, field);
  return v;
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${field} must be true or false, not ${show(v)}.`, field);
  return v;
}

export function num(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${field} must be a number, not ${show(v)}.`, field);
  if (v < lo || v > hi) throw bad(`${field} must be between ${lo} and ${hi}, not ${v}.`, field);
  return v;
}

export function int(v: unknown, field: string, lo: number, hi: number): number {
  num(v, field, lo, hi);
  if (!Number.isInteger(v)) throw bad(`${field} must be a whole number, not ${v as number}.`, field);
  return v as number;
}

export function oneOf<T extends string | number>(v: unknown, field: string, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(v))
    throw bad(`${field} must be one of ${choices.join(', ')}, not ${show(v)}.`, field);
  return v as T;
}

export function list(v: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(`${field} must be a list, not ${show(v)}.`, field);
  if (v.length < min || v.length > max)
    throw bad(`${field} must have ${min === max ? min : `${min} to ${max}`} entries, not ${v.length}.`, field);
  return v;
}

/** An absolute, normalised path (no NUL bytes, no `..` segments left after normalising). */
export function absPath(v: unknown, field: string): string {
  const p = str(v, field);
  if (!path.isAbsolute(p)) throw bad(`${field} must be an absolute path, not ${show(p)}.`, field);
  return path.resolve(p);
}

/**
 * `p` as a path relative to `dir` ('' for `dir` itself), or null when it lies outside `dir`. Both
 * are resolved first; a first part that starts with ".." counts as outside.
 */
export function pathInside(dir: string, p: string): string | null {
  const rel = path.relative(dir, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? null : rel;
}

async function statOf(p: string, field: string): Promise<Stats> {
  try {
    return await fs.stat(p);
  } catch {
    throw bad(`${JSON.stringify(p)} does not exist; check the path and try again.`, field);
  }
}

export async function existingFile(v: unknown, field: string, exts?: readonly string[]): Promise<string> {
  const p = absPath(v, field);
  if (exts && !exts.includes(path.extname(p).slice(1).toLowerCase())) {
    throw bad(`${field} must be a ${exts.map((e) => `.${e}`).join(', ')} file, not ${show(path.basename(p))}.`, field);
  }
  if (!(await statOf(p, field)).isFile()) throw bad(`${JSON.stringify(p)} is a folder, not a file.`, field);
  return p;
}

export async function existingDir(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  if (!(await statOf(p, field)).isDirectory()) throw bad(`${JSON.stringify(p)} is a file, not a folder.`, field);
  return p;
}

/** A folder to write into that may not be there yet (it is made when a job writes to it); not a file. */
export async function folderOrNew(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  const st = await fs.stat(p).catch(() => undefined);
  if (st && !st.isDirectory()) throw bad(`${JSON.stringify(p)} is a file, not a folder.`, field);
  return p;
}

/** A folder to write into, made with its parents when it is not there yet (as the command line does). */
export async function madeDir(v: unknown, field: string): Promise<string> {
  const p = await folderOrNew(v, field);
  await fs.mkdir(p, { recursive: true }).catch((e: { code?: string }) => {
    const why =
      e.code === 'EACCES' || e.code === 'EPERM'
        ? 'permission denied'
        : e.code === 'EEXIST' || e.code === 'ENOTDIR'
          ? 'a part of the path is a file'
          : (e.code ?? 'it failed');
    throw bad(`${JSON.stringify(p)} could not be made (${why}); choose a folder you may write to.`, field);
  });
  return p;
}

export async function existingPath(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  await statOf(p, field);
  return p;
}

export interface OpenOptions {
  /** Browser mode's policy for the request; absent in the desktop app. */
  readonly access?: RequestAccess | undefined;
  /** How the request uses the path (default read). */
  readonly use?: Access;
  /** A folder (its real path) the file must really lie in, whatever the policy allows. */
  readonly within?: string | undefined;
  /** The refusal, when not the policy's own for the path. */
  readonly refusal?: (() => Error) | undefined;
  /** The sentence for a path that is not there, when not the usual one. */
  readonly missing?: (() => Error) | undefined;
  /** A folder the request chooses (granted once it succeeds): one that may be chosen will do, granted or not. */
  readonly chosen?: boolean | undefined;
}

function open(p: string, field: string, kind: 'file' | 'folder' | 'any', o: OpenOptions): Promise<Opened> {
  const use = o.use ?? 'read';
  const q = JSON.stringify(p);
  return openChecked(p, {
    kind,
    admits: (real) =>
      (o.within === undefined || pathInside(o.within, real) !== null) &&
      (!o.access || o.access.admits(real, use) || (o.chosen === true && o.access.choosable(real, use))),
    refusal: () =>
      o.refusal?.() ??
      o.access?.refusal(p, use, field) ??
      bad(
        `${q} cannot be opened: it is not a plain file or folder, or it changed while it was being opened; try again.`,
        field,
      ),
    missing: (why) =>
      o.missing?.() ??
      bad(
        why === 'missing'
          ? `${q} does not exist; check the path and try again.`
          : `${q} is a ${why}, not a ${why === 'file' ? 'folder' : 'file'}.`,
        field,
      ),
  });
}

/**
 * An existing file, opened once and checked through the handle (opened.ts): read it through
 * `use`, then close it (withOpened does both).
 */
export async function openFile(
  v: unknown,
  field: string,
  exts: readonly string[] | undefined,
  o: OpenOptions = {},
): Promise<Opened> {
  const p = absPath(v, field);
  if (exts && !exts.includes(path.extname(p).slice(1).toLowerCase())) {
    throw bad(`${field} must be a ${exts.map((e) => `.${e}`).join(', ')} file, not ${show(path.basename(p))}.`, field);
  }
  return open(p, field, 'file', o);
}

/** An existing folder, opened once: a file NAME in it is `${opened.use}/NAME`. */
export function openDir(v: unknown, field: string, o: OpenOptions = {}): Promise<Opened> {
  return open(absPath(v, field), field, 'folder', o);
}

/** An existing file or folder, opened once. */
export function openPath(v: unknown, field: string, o: OpenOptions = {}): Promise<Opened> {
  return open(absPath(v, field), field, 'any', o);
}

/** Longest upload name kept, in UTF-8 bytes: room under the usual 255-byte limit for "_x4" and " (99)". */
export const MAX_NAME_BYTES = 200;

/**
 * Invisible characters that change how a name reads: controls, bidi marks and overrides, zero-width
 * spaces and other format characters, line separators and lone surrogates. The zero-width
 * (non-)joiners stay: emoji sequences and several scripts need them.
 */
const INVISIBLE = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]|(?![\u200c\u200d])\p{Cf}/gu;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * A file name from another machine (an upload), made safe to create here: Unicode NFC, without
 * control, bidi or zero-width characters, characters that Windows forbids turned into "_", spaces
 * and dots trimmed from the ends, the stem shortened (by whole characters) to MAX_NAME_BYTES with
 * the extension kept. Names with folders in them, hidden names and names with nothing left are
 * refused in one sentence.
 */
export function uploadName(v: unknown, field: string): string {
  const raw = str(v, field, { max: 1024 });
  if (/[/\\]/.test(raw) || raw === '.' || raw === '..')
    throw bad(`${field} must be a plain file name without folders, not ${show(raw)}.`, field);
  const clean = raw
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim()
    .replace(/[. ]+$/, '');
  if (raw.trim().startsWith('.'))
    throw bad(`${field} must not be a hidden file name (starting with a dot), not ${show(raw)}.`, field);
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 ? clean.slice(dot) : '';
  const stem = (dot > 0 ? clean.slice(0, dot) : clean).trim();
  if (!stem || clean.startsWith('.'))
    throw bad(
      `${field} ${show(raw)} has no letters or digits left once invisible characters are removed; rename the file and try again.`,
      field,
    );
  const bytes = (t: string) => Buffer.byteLength(t, 'utf8');
  if (bytes(ext) > 32)
    throw bad(`${field} has an extension longer than 32 bytes; rename the file and try again.`, field);
  let kept = '';
  for (const { segment } of graphemes.segment(stem)) {
    if (bytes(kept + segment) + bytes(ext) > MAX_NAME_BYTES) break;
    kept += segment;
  }
  if (!kept.trim())
    throw bad(`${field} ${show(raw)} is too long to keep anything of its name; rename the file and try again.`, field);
  return kept.trimEnd() + ext;
}
