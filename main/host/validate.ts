/**
 * Checks for untrusted request arguments. Every handler takes `unknown` and goes through these;
 * each failure is a UserError with one sentence that names the field and says what is wanted.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';

export type Obj = Record<string, unknown>;

const bad = (message: string) => errors.badArgument(message);
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
  if (extra !== undefined) throw bad(`${what} does not take a field ${JSON.stringify(extra)}; it takes ${allowed.join(', ') || 'none'}.`);
  return v;
}

/** For channels whose argument is void. */
export function none(v: unknown, what: string): void {
  if (v !== undefined && v !== null) throw bad(`${what} takes no argument.`);
}

export function str(v: unknown, field: string, opts: { max?: number; min?: number } = {}): string {
  if (typeof v !== 'string') throw bad(`${field} must be text, not ${show(v)}.`);
  if (v.includes('\0')) throw bad(`${field} must not contain NUL characters.`);
  if (v.length < (opts.min ?? 1)) throw bad(`${field} must not be empty.`);
  if (v.length > (opts.max ?? 4096)) throw bad(`${field} is longer than ${opts.max ?? 4096} characters.`);
  return v;
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${field} must be true or false, not ${show(v)}.`);
  return v;
}

export function num(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${field} must be a number, not ${show(v)}.`);
  if (v < lo || v > hi) throw bad(`${field} must be between ${lo} and ${hi}, not ${v}.`);
  return v;
}

export function int(v: unknown, field: string, lo: number, hi: number): number {
  num(v, field, lo, hi);
  if (!Number.isInteger(v)) throw bad(`${field} must be a whole number, not ${v as number}.`);
  return v as number;
}

export function oneOf<T extends string | number>(v: unknown, field: string, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(v)) throw bad(`${field} must be one of ${choices.join(', ')}, not ${show(v)}.`);
  return v as T;
}

export function list(v: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(v)) throw bad(`${field} must be a list, not ${show(v)}.`);
  if (v.length < min || v.length > max) throw bad(`${field} must have ${min === max ? min : `${min} to ${max}`} entries, not ${v.length}.`);
  return v;
}

/** An absolute, normalised path (no NUL bytes, no `..` segments left after normalising). */
export function absPath(v: unknown, field: string): string {
  const p = str(v, field);
  if (!path.isAbsolute(p)) throw bad(`${field} must be an absolute path, not ${show(p)}.`);
  return path.resolve(p);
}

async function statOf(p: string, field: string): Promise<Stats> {
  try {
    return await fs.stat(p);
  } catch {
    throw bad(`${field}: ${JSON.stringify(p)} does not exist; check the path and try again.`);
  }
}

export async function existingFile(v: unknown, field: string, exts?: readonly string[]): Promise<string> {
  const p = absPath(v, field);
  if (exts && !exts.includes(path.extname(p).slice(1).toLowerCase())) {
    throw bad(`${field} must be a ${exts.map((e) => `.${e}`).join(', ')} file, not ${show(path.basename(p))}.`);
  }
  if (!(await statOf(p, field)).isFile()) throw bad(`${field}: ${JSON.stringify(p)} is a folder, not a file.`);
  return p;
}

export async function existingDir(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  if (!(await statOf(p, field)).isDirectory()) throw bad(`${field}: ${JSON.stringify(p)} is a file, not a folder.`);
  return p;
}

export async function existingPath(v: unknown, field: string): Promise<string> {
  const p = absPath(v, field);
  await statOf(p, field);
  return p;
}

/** A plain file name from another machine (an upload): no folders, no traversal, no odd names. */
export function fileName(v: unknown, field: string): string {
  const n = str(v, field, { max: 255 });
  if (n !== path.basename(n) || n.includes('/') || n.includes('\\') || n === '.' || n === '..' || n !== n.trim() || n.startsWith('.')) {
    throw bad(`${field} must be a plain file name without folders, not ${show(n)}.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f<>:"|?*]/.test(n)) throw bad(`${field} contains characters that are not allowed in file names.`);
  return n;
}
