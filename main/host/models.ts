/**
 * Models for the UI: the bundled ones (assets/models) and the user's folder, found with the
 * engine's findModels. A model's id is `bundled:NAME` or `user:NAME` (its file name), so the UI
 * can only name models that are in those folders; importing copies a checked file into the user's.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError } from '../../ml/errors.ts';
import { writeFileAtomic } from '../../ml/node/atomic.ts';
import { findModels, loadModelFile, pickDefault, type ModelEntry } from '../../ml/node/models.ts';
import { parameterCount } from '../../ml/network.ts';
import { exportOnnx } from '../../ml/onnx/export.ts';
import type { ModelInfo } from '../api.ts';
import { absPath, existingDir, existingFile, pathInside, str } from './validate.ts';

export interface ModelFolders {
  readonly bundled: string;
  readonly user: string;
  /** The app's runs folder: a model file a run wrote there may be named `run:` + its path. */
  readonly runs?: string | undefined;
}

const ID = /^(bundled|user):([^/\\\0]+\.safetensors)$/;
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

export async function listModels(folders: ModelFolders): Promise<ModelInfo[]> {
  const [b, u] = await Promise.all([findModels([folders.bundled]), findModels([folders.user])]);
  const chosen = pickDefault([...b.models, ...u.models], 2);
  return [...b.models.map((m) => info(m, true, m === chosen)), ...u.models.map((m) => info(m, false, m === chosen))];
}

/** The model an id names; throws a one-sentence error for a malformed or unknown id. */
export async function resolveModel(v: unknown, field: string, folders: ModelFolders): Promise<ModelInfo> {
  const id = str(v, field, { max: 4096 });
  const run = RUN.exec(id);
  if (run) return resolveRunModel(id, run[1]!, field, folders);
  const m = ID.exec(id);
  if (!m) throw errors.badArgument(`${field} ${JSON.stringify(id)} is not a model id; pick a model from the list.`);
  const bundled = m[1] === 'bundled';
  const file = path.join(bundled ? folders.bundled : folders.user, m[2]!);
  let model;
  try {
    model = await loadModelFile(file);
  } catch {
    throw errors.badArgument(`${field}: the model ${JSON.stringify(id)} is not installed (any more); refresh the model list.`);
  }
  const parameters = parameterCount(model.config);
  return info({ path: file, config: model.config, parameters, training: model.training }, bundled);
}

/** `run:PATH`: a model file inside the app's runs folder (a training's or a comparison's), as it is. */
async function resolveRunModel(id: string, file: string, field: string, folders: ModelFolders): Promise<ModelInfo> {
  const inside = folders.runs ? pathInside(folders.runs, file) : null;
  if (!folders.runs || !path.isAbsolute(file) || !inside) {
    throw errors.badArgument(`${field}: ${JSON.stringify(file)} is not a model in the app's runs folder; pick a model from the list.`);
  }
  let model;
  try {
    model = await loadModelFile(path.resolve(file));
  } catch {
    throw errors.badArgument(`${field}: the run's model ${JSON.stringify(file)} is not there (any more); run it again.`);
  }
  return { ...info({ path: path.resolve(file), config: model.config, parameters: parameterCount(model.config), training: model.training }, false), id, name: path.basename(path.dirname(file)) };
}

/** Copies a checked weights file into the user's models folder (same bytes already there: reused). */
export async function importModel(v: unknown, folders: ModelFolders): Promise<ModelInfo> {
  const src = await existingFile(v, 'path', ['safetensors']);
  const model = await loadModelFile(src); // names what is wrong with a bad file
  const bytes = await fs.readFile(src);
  const entry = (p: string): ModelEntry => ({ path: p, config: model.config, parameters: parameterCount(model.config), training: model.training });
  if (path.dirname(src) === path.resolve(folders.user)) return info(entry(src), false);
  // A run's best model is named after its run folder (which encodes the settings), not "model_best".
  const base = path.basename(src, path.extname(src));
  const stem = base === 'model_best' ? path.basename(path.dirname(src)) : base;
  for (let k = 1; k < 1000; k++) {
    const dest = path.join(folders.user, `${k === 1 ? stem : `${stem}_${k}`}.safetensors`);
    const existing = await fs.readFile(dest).catch(() => undefined);
    if (existing && !existing.equals(bytes)) continue;
    if (!existing) await writeFileAtomic(dest, bytes);
    return info(entry(dest), false);
  }
  throw errors.badArgument(`The models folder already holds too many copies named ${JSON.stringify(stem)}; rename the file first.`);
}

/** Saves a copy of a model to `to` (a new .safetensors file in an existing folder). */
/**
 * Writes a model to `to`: the weights file itself for `.safetensors`, or the network as an ONNX
 * model for `.onnx` (as `sr-studio export --format onnx`). Never replaces an existing file.
 */
export async function exportModel(model: ModelInfo, toArg: unknown, version: string): Promise<void> {
  const to = absPath(toArg, 'to');
  const ext = path.extname(to).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.onnx') throw errors.badArgument(`to must end in .safetensors or .onnx, not ${JSON.stringify(path.basename(to))}.`);
  await existingDir(path.dirname(to), 'the destination folder');
  if (await fs.stat(to).then(() => true, () => false)) throw errors.badArgument(`${JSON.stringify(to)} already exists; choose another name.`);
  await writeFileAtomic(to, await modelBytes(model, ext === '.onnx' ? 'onnx' : 'safetensors', version), { replace: false });
}

/** A model's file as it is, or exported to ONNX. */
export async function modelBytes(model: ModelInfo, format: 'safetensors' | 'onnx', version: string): Promise<Uint8Array> {
  if (format === 'onnx') {
    const m = await loadModelFile(model.path);
    return exportOnnx(m.config, m.weights, { training: m.training, producerVersion: version });
  }
  try {
    return await fs.readFile(model.path);
  } catch (e) {
    throw fsError(e, model.path, { what: 'weights file (.safetensors)' });
  }
}
