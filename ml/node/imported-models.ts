import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { ImportedOnnx, importedName, isOnnxPath, type ImportedFacts } from './imported-model.ts';
import type { InputRange } from './imported-probe.ts';
import { modelFolders } from './models.ts';

/**
 * The user's imported ONNX models: each is copied into the models folder as `NAME.onnx` with a
 * sidecar `NAME.onnx.json` that records what its probe found (so it need not run again) and where
 * it came from. A sidecar whose checksum does not match its model is ignored and the model probed.
 */
export interface ImportedRecord extends ImportedFacts {
  readonly format: 'sr-studio.imported-onnx';
  readonly name: string;
  /** The file it was imported from (absolute), or, uploaded to the app in browser mode, the name it was dropped with. */
  readonly source: string;
  readonly importedAt: string;
}

/**
 * How an imported model is run, as the user may set it at import or later: the range of values it
 * takes and the context a tile needs. Stored in its record, so every later upscale uses them.
 */
export interface ImportedSettings {
  readonly range: InputRange;
  /** Context in input pixels around a tile (the tile margin). */
  readonly margin: number;
}

/** How the imported models a job runs are to run, by model path. */
export type ImportedRuns = Readonly<Record<string, ImportedSettings>>;

/** The most context a tile margin may ask for (as --overlap). */
export const MAX_MARGIN = 512;

export interface ImportedEntry {
  readonly path: string;
  readonly name: string;
  readonly record: ImportedRecord;
}

export const sidecarPath = (model: string): string => `${model}.json`;

function isRecord(v: unknown): v is ImportedRecord {
  const r = v as Partial<ImportedRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.format === 'sr-studio.imported-onnx' &&
    typeof r.scale === 'number' &&
    Number.isInteger(r.scale) &&
    r.scale >= 1 &&
    (r.range === 1 || r.range === 255) &&
    typeof r.margin === 'number' &&
    r.margin >= 0 &&
    typeof r.sha256 === 'string' &&
    typeof r.bytes === 'number' &&
    typeof r.parameters === 'number' &&
    (r.dtype === 'float32' || r.dtype === 'float16') &&
    typeof r.source === 'string' &&
    Array.isArray(r.ops)
  );
}

/** The sidecar beside an imported model, if there is one that reads and matches the file's size. */
export async function readSidecar(model: string): Promise<ImportedRecord | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(sidecarPath(model), 'utf8'), fs.stat(model)]);
    const r: unknown = JSON.parse(text);
    return isRecord(r) && r.bytes === st.size ? r : undefined;
  } catch {
    return undefined;
  }
}

export const importRecord = (name: string, facts: ImportedFacts, source: string): ImportedRecord => ({
  format: 'sr-studio.imported-onnx',
  name,
  ...facts,
  source,
  importedAt: new Date().toISOString(),
});

/** Writes the record beside its model. */
export function writeSidecar(model: string, record: ImportedRecord): Promise<void> {
  return writeFileAtomic(sidecarPath(model), new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}

export const userModelsFolder = (): string => modelFolders()[1]!;

export interface ImportOptions {
  readonly folder?: string | undefined;
  readonly overlap?: number | undefined;
  readonly range?: InputRange | undefined;
  readonly overwrite?: boolean | undefined;
}

/**
 * Checks and probes `file`, then copies it with its sidecar into the user's models folder. The same
 * model imported again (same checksum) is the model already there.
 */
export async function importModel(
  file: string,
  opts: ImportOptions = {},
): Promise<ImportedEntry & { already: boolean }> {
  if (!isOnnxPath(file)) throw errors.badOnnxModel(file, 'its name does not end in .onnx');
  const model = await ImportedOnnx.open(file, { overlap: opts.overlap, range: opts.range });
  await model.dispose();
  const name = importedName(file);
  const folder = opts.folder ?? userModelsFolder();
  const target = path.join(folder, `${name}.onnx`);
  const record = importRecord(
    name,
    { ...model.facts, ...(opts.overlap !== undefined ? { margin: opts.overlap, marginGiven: true } : {}) },
    path.resolve(file),
  );
  const there = await readSidecar(target);
  if (there && there.sha256 === record.sha256 && !opts.overwrite)
    return { path: target, name, record: there, already: true };
  if (path.resolve(file) !== path.resolve(target)) {
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (e) {
      throw fsError(e, file, { what: 'ONNX model (.onnx)' });
    }
    await writeFileAtomic(target, bytes, { replace: Boolean(opts.overwrite) });
  }
  await writeSidecar(target, record);
  return { path: target, name, record, already: false };
}

/** The imported models in the model folders; one without a usable sidecar is probed. */
export async function findImported(folders = modelFolders()): Promise<{ models: ImportedEntry[]; problems: string[] }> {
  const models: ImportedEntry[] = [];
  const problems: string[] = [];
  for (const dir of folders) {
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter(isOnnxPath).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      try {
        const known = await readSidecar(p);
        if (known) {
          models.push({ path: p, name: importedName(p), record: known });
          continue;
        }
        const m = await ImportedOnnx.open(p);
        await m.dispose();
        models.push({
          path: p,
          name: importedName(p),
          record: { format: 'sr-studio.imported-onnx', name: importedName(p), ...m.facts, source: p, importedAt: '' },
        });
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  return { models, problems };
}

/**
 * Sets how an imported model runs (its range and tile margin) in the record beside it, checked
 * against the model (a fixed input size leaves room for only so much margin); every later upscale
 * uses them. `shownAs` names the model in messages; `bytes`, the model's as already read.
 */
export async function adjustImported(
  model: string,
  settings: ImportedSettings,
  shownAs = importedName(model),
  bytes?: Uint8Array,
): Promise<ImportedRecord> {
  const known = await readSidecar(model);
  const options = { known, range: settings.range, overlap: settings.margin, shownAs };
  const m = await (bytes ? ImportedOnnx.fromBytes(bytes, shownAs, options) : ImportedOnnx.open(model, options));
  await m.dispose();
  const base = known?.sha256 === m.facts.sha256 ? known : importRecord(importedName(model), m.facts, model);
  const record: ImportedRecord = {
    ...base,
    range: settings.range,
    rangeFrom: 'given',
    margin: settings.margin,
    marginGiven: settings.margin !== m.facts.margin || base.marginGiven === true,
  };
  await writeSidecar(model, record);
  return record;
}

/** The facts to run an imported model with: its sidecar's, when it still matches the file. */
export async function knownFacts(model: string): Promise<ImportedFacts | undefined> {
  return readSidecar(model);
}

/**
 * The imported model a name given for upscaling means, if it means one: a path ending in .onnx,
 * or the bare name of an imported model in the model folders (a weights file of that name wins).
 */
export async function resolveImported(given: string, folders = modelFolders()): Promise<string | undefined> {
  const isFile = (p: string) =>
    fs.stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  if (isOnnxPath(given)) {
    if (!(await isFile(given))) throw errors.missingPath(given);
    return given;
  }
  if (!/^[^/\\]+$/.test(given) || (await isFile(given))) return undefined;
  for (const dir of folders) if (await isFile(path.join(dir, `${given}.safetensors`))) return undefined;
  for (const dir of folders) {
    const p = path.join(dir, `${given}.onnx`);
    if (await isFile(p)) return p;
  }
  return undefined;
}

export const RANGES = { '0-1': 1, '0-255': 255 } as const;

/** How an imported model's facts read in one line: "x4, float16, RGB 0–1, 16,704 parameters, tile margin 16". */
export function describeFacts(f: ImportedFacts): string {
  const size = f.fixedSize ? `, fixed ${f.fixedSize.width}×${f.fixedSize.height} input` : '';
  return `x${f.scale}, ${f.dtype}, RGB ${f.range === 255 ? '0–255' : '0–1'}${size}, ${f.parameters.toLocaleString('en-US')} parameters, tile margin ${f.margin}${f.marginFound || f.marginGiven ? '' : ' (its context reaches further: tiles may differ slightly; pass a larger --overlap)'}`;
}

/**
 * When the probe could not tell an imported model's input range: a sentence saying that 0–1 is a
 * guess and, in `hint`, how to set it; else ''.
 */
export const rangeGuessNote = (f: ImportedFacts, hint: string): string =>
  f.rangeFrom === 'guess'
    ? `The probe could not tell whether it takes RGB in 0–1 or 0–255, so 0–1 is a guess: ${hint} if its results look wrong.`
    : '';
