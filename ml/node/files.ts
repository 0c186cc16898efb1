import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError, isUserError, type UserError } from '../errors.ts';
import { ensureDir, NAME_MAX } from './atomic.ts';
import { imageFormatFromPath, type OutputFormat } from './image-io.ts';
import { through, type Through } from './through.ts';

/** File access for the engine in Node: finding inputs and naming outputs. */

export const isImagePath = (p: string) => imageFormatFromPath(p) !== undefined;

export interface InputFile {
  /** Absolute path of the image. */
  readonly path: string;
  /** Folder the image was found under (for mirroring sub-folders), or undefined for a named file. */
  readonly root?: string | undefined;
}

/**
 * Expands files and folders (recursively) into image files. A missing path or a folder without
 * images is a problem to report, not a reason to stop the batch. With `t`, each input is reached
 * through what was opened for it (through.ts) and everything found is named as the user named it.
 */
export async function collectImages(
  inputs: readonly string[],
  t: Through = through(undefined),
): Promise<{ files: InputFile[]; problems: UserError[] }> {
  const files: InputFile[] = [];
  const problems: UserError[] = [];
  const seen = new Set<string>();
  const add = (f: InputFile) => {
    if (!seen.has(f.path)) {
      seen.add(f.path);
      files.push(f);
    }
  };
  for (const input of inputs) {
    const abs = path.resolve(input);
    let st;
    let at;
    try {
      at = t.use(abs);
      st = await fs.stat(at);
    } catch (e) {
      problems.push(asUserError(t.named(fsError(e, input)), input));
      continue;
    }
    if (!st.isDirectory()) {
      add({ path: abs });
      continue;
    }
    let found = 0;
    try {
      for await (const f of walk(at)) {
        found++;
        add({ path: abs + f.slice(at.length), root: abs });
      }
    } catch (e) {
      problems.push(asUserError(t.named(fsError(e, input)), input));
      continue;
    }
    if (!found) problems.push(errors.noImages(input));
  }
  return { files, problems };
}

function asUserError(e: Error, p: string): UserError {
  return isUserError(e) ? e : errors.unreadableImage(p, e.message);
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && isImagePath(p)) yield p;
  }
}

export interface OutputNaming {
  readonly outDir?: string | undefined;
  readonly scale: number;
  readonly format: OutputFormat;
}

/** `photo.jpg` → `<outDir or its folder>/photo_x2.png`; sub-folders of a named folder are mirrored. */
export function outputPathFor(input: InputFile, opts: OutputNaming, keepExtension = false): string {
  const base = keepExtension ? path.basename(input.path) : path.basename(input.path, path.extname(input.path));
  const name = `${base}_x${opts.scale}.${opts.format}`;
  if (!opts.outDir) return path.join(path.dirname(input.path), name);
  const sub = input.root ? path.relative(input.root, path.dirname(input.path)) : '';
  return path.join(path.resolve(opts.outDir), sub, name);
}

/**
 * The output of every input of a batch. Inputs whose outputs would share a name (photo.jpg and
 * photo.png both giving photo_x2.png) all keep their extension instead (photo.jpg_x2.png and
 * photo.png_x2.png), so the names do not depend on the order of the batch.
 */
export function outputPathsFor(inputs: readonly InputFile[], opts: OutputNaming): string[] {
  const plain = inputs.map((f) => outputPathFor(f, opts));
  const count = new Map<string, number>();
  for (const p of plain) count.set(p, (count.get(p) ?? 0) + 1);
  return inputs.map((f, i) => (count.get(plain[i]!)! > 1 ? outputPathFor(f, opts, true) : plain[i]!));
}

/**
 * Before any work: refuses to overwrite an input, an existing output without `overwrite`, or a
 * name longer than file systems take, and makes sure the output's folder exists and can be written
 * to; `at` is where the output is reached (through.ts), `out` how it is named.
 */
export async function checkOutputPath(
  out: string,
  inputs: ReadonlySet<string>,
  overwrite: boolean,
  at = out,
): Promise<void> {
  if (inputs.has(path.resolve(out))) throw errors.wouldOverwriteInput(out);
  if (Buffer.byteLength(path.basename(out)) > NAME_MAX) throw errors.nameTooLong(out);
  if (!overwrite && (await exists(at))) throw errors.outputExists(out);
  const dir = path.dirname(at);
  await ensureDir(dir);
  try {
    await fs.access(dir, fsConstants.W_OK);
  } catch (e) {
    throw fsError(e, dir);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
