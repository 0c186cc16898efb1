/**
 * Models for the UI: the bundled ones (assets/models) and the user's folder, found with the
 * engine's findModels. A model's id is `bundled:NAME` or `user:NAME` (its file name), so the UI
 * can only name models that are in those folders; importing copies a checked file into the user's.
 * Imported ONNX models (`user:NAME.onnx`, with the record their import wrote beside them) are
 * listed and run as the app's own are, but cannot be trained or exported to another format.
 * Each model file is opened once and read through its handle (opened.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import { writeFileAtomic } from '../../ml/node/atomic.ts';
import { ImportedOnnx } from '../../ml/node/imported-model.ts';
import {
  adjustImported,
  findImported,
  importRecord,
  MAX_MARGIN,
  readSidecar,
  writeSidecar,
  type ImportedEntry,
  type ImportedRecord,
  type ImportedSettings,
} from '../../ml/node/imported-models.ts';
import { findModels, pickDefault, type ModelEntry } from '../../ml/node/models.ts';
import { parameterCount } from '../../ml/network.ts';
import { exportOnnx } from '../../ml/onnx/export.ts';
import { decodeModel } from '../../ml/weights.ts';
import type { ImportProbe, ModelInfo } from '../api.ts';
import type { RequestAccess } from './context.ts';
import type { DisplayName } from './wording.ts';
import { realPath, withOpened, type Opened } from './opened.ts';
import { absPath, int, oneOf, openDir, openFile, pathInside, str } from './validate.ts';

export interface ModelFolders {
  readonly bundled: string;
  readonly user: string;
  /** The app's runs folder: a model file a run wrote there may be named `run:` + its path. */
  readonly runs?: string | undefined;
}

const ID = /^(bundled|user):([^/\\\0]+\.(?:safetensors|onnx))$/;
const RUN = /^run:(.+\.safetensors)$/;

function info(m: ModelEntry, bundled: boolean, isDefault = false): ModelInfo {
  const file = path.basename(m.path);
  return {
    id: `${bundled ? 'bundled' : 'user'}:${file}`,
    path: m.path,
    name: file.replace(/\.safetensors$/, ''),
    bundled,
    isDefault,
    config: m.config,
    parameters: m.parameters,
    training: m.training,
  };
}

function importedInfo(p: string, r: ImportedRecord): ModelInfo {
  const file = path.basename(p);
  const imported = {
    scale: r.scale,
    range: r.range,
    dtype: r.dtype,
    margin: r.margin,
    bytes: r.bytes,
    source: r.source,
    producer: r.producer,
    ...(r.rangeFrom && { rangeFrom: r.rangeFrom }),
    ...(r.marginGiven && { marginGiven: true }),
  };
  return {
    id: `user:${file}`,
    path: p,
    name: file.replace(/\.onnx$/i, ''),
    bundled: false,
    isDefault: false,
    parameters: r.parameters,
    imported,
  };
}

/**
 * The models of both folders. In browser mode (`access` given) a file that leads outside its
 * folder through a symlink is not listed: its id would be refused.
 */
export async function listModels(folders: ModelFolders, access?: RequestAccess): Promise<ModelInfo[]> {
  const [b, u, i] = await Promise.all([
    findModels([folders.bundled]),
    findModels([folders.user]),
    findImported([folders.user]),
  ]);
  const own = async <M extends { path: string }>(list: M[], dir: string) => {
    if (!access) return list;
    const folder = (await realPath(dir)) ?? dir;
    const real = await Promise.all(list.map((m) => realPath(m.path)));
    return list.filter((_, i) => real[i] !== null && pathInside(folder, real[i]!) !== null);
  };
  const [bundled, user, imported] = await Promise.all([
    own(b.models, folders.bundled),
    own(u.models, folders.user),
    own<ImportedEntry>(i.models, folders.user),
  ]);
  const chosen = pickDefault([...bundled, ...user], 2);
  return [
    ...bundled.map((m) => info(m, true, m === chosen)),
    ...user.map((m) => info(m, false, m === chosen)),
    ...imported.map((m) => importedInfo(m.path, m.record)),
  ];
}

/** A model opened once (opened.ts): what it is, its bytes, and its open file (the caller closes it). */
export interface OpenModel {
  readonly info: ModelInfo;
  readonly bytes: Uint8Array;
  readonly file: Opened;
}

/**
 * Opens the model an id names: `bundled:NAME` or `user:NAME` in those folders, `run:PATH` a model
 * file inside the app's runs folder. In browser mode (`access` given) the file must really lie in
 * its folder and where the session may read, not reached through a symlink leading out. Throws a
 * one-sentence error for a malformed, unknown or refused id.
 */
export async function openModel(
  v: unknown,
  field: string,
  folders: ModelFolders,
  access?: RequestAccess,
): Promise<OpenModel> {
  const id = str(v, field, { max: 4096 });
  const run = RUN.exec(id);
  const m = ID.exec(id);
  if (!run && !m)
    throw errors.badArgument(`${field} ${JSON.stringify(id)} is not a model id; pick a model from the list.`, field);
  const notRun = (f: string) =>
    errors.badArgument(`${JSON.stringify(f)} is not a model in the app's runs folder; pick a model from the list.`);
  const runFile = run?.[1];
  if (
    runFile !== undefined &&
    (!folders.runs || !path.isAbsolute(runFile) || !pathInside(folders.runs, path.resolve(runFile)))
  )
    throw notRun(runFile);
  const folder = runFile !== undefined ? folders.runs! : m![1] === 'bundled' ? folders.bundled : folders.user;
  const file = runFile !== undefined ? path.resolve(runFile) : path.join(folder, m![2]!);
  const gone = () =>
    errors.badArgument(
      runFile !== undefined
        ? `The run's model ${JSON.stringify(runFile)} is not there (any more); run it again.`
        : `The model ${JSON.stringify(id)} is not installed (any more); refresh the model list.`,
    );
  const outside = () =>
    runFile !== undefined
      ? notRun(runFile)
      : errors.badArgument(
          `The model ${JSON.stringify(id)} leads outside the models folder; copy the file into the folder instead of linking to it.`,
        );
  const within = access ? ((await realPath(folder)) ?? folder) : undefined;
  const opened = await openFile(file, field, ['safetensors', 'onnx'], {
    access,
    within,
    refusal: outside,
    missing: gone,
  });
  try {
    const bytes = await opened.handle.readFile();
    if (/\.onnx$/i.test(file))
      return { info: importedInfo(opened.real, await importedRecord(bytes, file)), bytes, file: opened };
    let model;
    try {
      model = decodeModel(bytes, file);
    } catch {
      throw gone();
    }
    const entry = {
      path: opened.real,
      config: model.config,
      parameters: parameterCount(model.config),
      training: model.training,
    };
    const shown =
      runFile !== undefined
        ? { ...info(entry, false), id, name: path.basename(path.dirname(file)) }
        : info(entry, m![1] === 'bundled');
    return { info: shown, bytes, file: opened };
  } catch (e) {
    await opened.close();
    throw e;
  }
}

/** What an imported model's record says, checked against its bytes (run as they are: a bad file is refused). */
async function importedRecord(bytes: Uint8Array, file: string): Promise<ImportedRecord> {
  const known = await readSidecar(file);
  const m = await ImportedOnnx.fromBytes(bytes, file, { known });
  await m.dispose();
  return known?.sha256 === m.facts.sha256 ? known : importRecord(path.basename(file, '.onnx'), m.facts, file);
}

/** The model an id names (openModel), its file closed again: for jobs, which read it later by its real path. */
export async function resolveModel(
  v: unknown,
  field: string,
  folders: ModelFolders,
  access?: RequestAccess,
): Promise<ModelInfo> {
  const m = await openModel(v, field, folders, access);
  await m.file.close();
  return m.info;
}

/** The most margin a fixed input size leaves room for (tiles keep at least 8 pixels), or MAX_MARGIN. */
const maxMargin = (f: { width: number; height: number } | null): number =>
  f ? Math.max(0, Math.floor((Math.min(f.width, f.height) - 8) / 2)) : MAX_MARGIN;

/** An ONNX model checked and probed as an import would, without copying it: what was found, to confirm or change. */
export async function probeImport(v: unknown, access?: RequestAccess): Promise<ImportProbe> {
  return withOpened(openFile(v, 'File', ['onnx'], { access }), async (src) => {
    const m = await ImportedOnnx.fromBytes(await src.handle.readFile(), src.given);
    await m.dispose();
    const f = m.facts;
    return {
      name: path.basename(src.given, path.extname(src.given)),
      scale: f.scale,
      range: f.range,
      rangeFrom: f.rangeFrom ?? 'probe',
      margin: f.margin,
      marginFound: f.marginFound,
      maxMargin: maxMargin(f.fixedSize),
      fixedSize: f.fixedSize,
      dtype: f.dtype,
      parameters: f.parameters,
      bytes: f.bytes,
      producer: f.producer,
    };
  });
}

/** An imported model's range and margin as a request gives them (either may be left out). */
export function importedSettings(o: { range?: unknown; margin?: unknown }): Partial<ImportedSettings> {
  return {
    ...(o.range !== undefined && { range: oneOf(o.range, 'range', [1, 255] as const) }),
    ...(o.margin !== undefined && { margin: int(o.margin, 'margin', 0, MAX_MARGIN) }),
  };
}

/**
 * Copies a checked weights file into the user's models folder (same bytes already there: reused).
 * An ONNX model's range and tile margin may be given (chosen in the app); else as its probe found.
 * An ONNX model records where it came from as `name` shows the file (an upload: by the name it was
 * dropped with, not its place in the upload folder).
 */
export async function importModel(
  v: unknown,
  folders: ModelFolders,
  access?: RequestAccess,
  settings: Partial<ImportedSettings> = {},
  name: DisplayName = (p) => p,
): Promise<ModelInfo> {
  return withOpened(openFile(v, 'File', ['safetensors', 'onnx'], { access }), async (src) => {
    const bytes = await src.handle.readFile();
    if (/\.onnx$/i.test(src.given))
      return importOnnx(bytes, { given: src.given, real: src.real, source: name(src.given) }, folders, settings);
    if (settings.range !== undefined || settings.margin !== undefined)
      throw errors.badArgument(
        'range and margin are for ONNX models; SR Studio models take RGB in 0–1 and know their own margin.',
      );
    if (bytes.length === 0) throw errors.badWeights(src.given, 'the file is empty');
    const model = decodeModel(bytes, src.given); // names what is wrong with a bad file
    const entry = (p: string): ModelEntry => ({
      path: p,
      config: model.config,
      parameters: parameterCount(model.config),
      training: model.training,
    });
    if (path.dirname(src.real) === ((await realPath(folders.user)) ?? path.resolve(folders.user)))
      return info(entry(src.real), false);
    // A run's best model is named after its run folder (which encodes the settings), not "model_best".
    const base = path.basename(src.given, path.extname(src.given));
    const stem = base === 'model_best' ? path.basename(path.dirname(src.given)) : base;
    for (let k = 1; k < 1000; k++) {
      const dest = path.join(folders.user, `${k === 1 ? stem : `${stem}_${k}`}.safetensors`);
      const existing = await fs.readFile(dest).catch(() => undefined);
      if (existing && !existing.equals(bytes)) continue;
      if (!existing) await writeFileAtomic(dest, bytes);
      return info(entry(dest), false);
    }
    throw errors.badArgument(
      `The models folder already holds too many copies named ${JSON.stringify(stem)}; rename the file first.`,
    );
  });
}

/**
 * An ONNX model checked and probed, copied with its record into the user's folder (same bytes there:
 * reused, its record updated with the range and margin given). `given` is the file as the request
 * named it, `real` where it really is, and `source` what its record says it came from.
 */
async function importOnnx(
  bytes: Uint8Array,
  { given, real, source }: { given: string; real: string; source: string },
  folders: ModelFolders,
  settings: Partial<ImportedSettings>,
): Promise<ModelInfo> {
  const m = await ImportedOnnx.fromBytes(bytes, given, { range: settings.range, overlap: settings.margin });
  await m.dispose();
  const chosen = {
    ...(settings.range !== undefined && { range: settings.range, rangeFrom: 'given' as const }),
    ...(settings.margin !== undefined &&
      settings.margin !== m.facts.margin && { margin: settings.margin, marginGiven: true }),
  };
  const stem = path.basename(given, path.extname(given));
  const inFolder = path.dirname(real) === ((await realPath(folders.user)) ?? path.resolve(folders.user));
  for (let k = 1; k < 1000; k++) {
    const dest = inFolder ? real : path.join(folders.user, `${k === 1 ? stem : `${stem}_${k}`}.onnx`);
    const existing = inFolder ? bytes : await fs.readFile(dest).catch(() => undefined);
    if (existing && !Buffer.from(existing).equals(bytes)) continue;
    const known = await readSidecar(dest);
    const kept = known?.sha256 === m.facts.sha256 ? known : importRecord(path.basename(dest, '.onnx'), m.facts, source);
    const record = Object.keys(chosen).length ? { ...kept, ...chosen } : kept;
    if (!existing) await writeFileAtomic(dest, bytes);
    if (record !== known) await writeSidecar(dest, record);
    return importedInfo(dest, record);
  }
  throw errors.badArgument(
    `The models folder already holds too many copies named ${JSON.stringify(stem)}; rename the file first.`,
  );
}

/**
 * Writes a model to `to` (a new file in an existing folder): the weights file itself for
 * `.safetensors`, or the network as an ONNX model for `.onnx` (as `sr-studio export --format onnx`).
 * The folder is opened once and written through (opened.ts); an existing file is never replaced.
 */
export async function exportModel(
  model: OpenModel,
  toArg: unknown,
  version: string,
  access?: RequestAccess,
): Promise<void> {
  const to = absPath(toArg, 'to');
  const ext = path.extname(to).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.onnx')
    throw errors.badArgument(`to must end in .safetensors or .onnx, not ${JSON.stringify(path.basename(to))}.`);
  const refusal = access && (() => access.refusal(to, 'write', 'to'));
  await withOpened(
    openDir(path.dirname(to), 'the destination folder', { access, use: 'write', refusal }),
    async (dir) => {
      const target = path.join(dir.use, path.basename(to));
      if (
        await fs.lstat(target).then(
          () => true,
          () => false,
        )
      )
        throw errors.badArgument(`${JSON.stringify(to)} already exists; choose another name.`);
      await writeFileAtomic(target, await modelBytes(model, ext === '.onnx' ? 'onnx' : 'safetensors', version), {
        replace: false,
      });
    },
  );
}

/** A model's file as it is, or exported to ONNX. */
export async function modelBytes(
  model: OpenModel,
  format: 'safetensors' | 'onnx',
  version: string,
): Promise<Uint8Array> {
  if (model.info.imported) {
    if (format === 'onnx') return model.bytes;
    throw errors.badArgument(`${model.info.name} is an imported ONNX model; it can be saved only as .onnx.`);
  }
  if (format === 'safetensors') return model.bytes;
  const m = decodeModel(model.bytes, model.file.given);
  return exportOnnx(m.config, m.weights, { training: m.training, producerVersion: version });
}

/**
 * Sets how an imported model (an id from the list) runs: its range and tile margin, kept in its
 * record for every later upscale. Refused for SR Studio's own models.
 */
export async function adjustModel(
  id: unknown,
  settings: ImportedSettings,
  folders: ModelFolders,
  access?: RequestAccess,
): Promise<ModelInfo> {
  const m = await openModel(id, 'modelId', folders, access);
  try {
    if (!m.info.imported)
      throw errors.badArgument(
        `${m.info.name} is one of SR Studio's own models; only imported ONNX models take a range and tile margin.`,
      );
    // The record beside the model in its folder (the file itself was checked as opened).
    const record = await adjustImported(m.info.path, settings, m.info.name, m.bytes);
    return importedInfo(m.info.path, record);
  } finally {
    await m.file.close();
  }
}
