import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errors, fsError } from '../errors.ts';
import { parameterCount, type NetworkConfig } from '../network.ts';
import { decodeModel, encodeModel, type ModelFile, type TrainingSummary } from '../weights.ts';
import { writeFileAtomic } from './atomic.ts';

/** Weights files on disk: loading with checks, atomic saving, and finding installed models. */

export async function loadModelFile(file: string, expect: Partial<NetworkConfig> = {}): Promise<ModelFile> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw fsError(e, file, { what: 'weights file (.safetensors)' });
  }
  if (bytes.length === 0) throw errors.badWeights(file, 'the file is empty');
  return decodeModel(bytes, file, expect);
}

export async function saveModelFile(
  file: string,
  config: NetworkConfig,
  weights: ReadonlyMap<string, Float32Array>,
  training?: TrainingSummary,
): Promise<void> {
  await writeFileAtomic(file, encodeModel(config, weights, training));
}

/** Adds facts to a weights file's training record; the weights stay as they are (rewritten atomically). */
export async function annotateModel(file: string, facts: Partial<TrainingSummary>): Promise<void> {
  const m = await loadModelFile(file);
  await saveModelFile(file, m.config, m.weights, { ...m.training, ...facts });
}

/** The bundled models (in the app's assets) and the user's own (SR_STUDIO_MODELS, or the data folder). */
export function modelFolders(): string[] {
  const bundled = path.resolve(import.meta.dirname, '../../assets/models');
  const user = process.env.SR_STUDIO_MODELS ?? path.join(os.homedir(), '.local', 'share', 'sr-studio', 'models');
  return [bundled, user];
}

export interface ModelEntry {
  readonly path: string;
  readonly config: NetworkConfig;
  readonly parameters: number;
  readonly training?: TrainingSummary | undefined;
}

export async function findModels(folders = modelFolders()): Promise<{ models: ModelEntry[]; problems: string[] }> {
  const models: ModelEntry[] = [];
  const problems: string[] = [];
  for (const dir of folders) {
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => n.endsWith('.safetensors')).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      try {
        const m = await loadModelFile(p);
        models.push({ path: p, config: m.config, parameters: parameterCount(m.config), training: m.training });
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  return { models, problems };
}

/**
 * A model as the user names it: a weights file's path, or the name of a bundled or user model
 * (the file name, with or without `.safetensors`, as `info` lists them). `name` is how a run
 * records it: the name as given without the extension, or the file's absolute path.
 */
export async function resolveModelName(
  given: string,
  folders = modelFolders(),
): Promise<{ name: string; path: string }> {
  const isFile = (p: string) =>
    fs.stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  // Imported ONNX models run as they are; nothing here (training, comparison) can start from one.
  if (/\.onnx$/i.test(given)) throw errors.importedNotTrainable(given);
  if (await isFile(given)) return { name: path.resolve(given), path: path.resolve(given) };
  const bare = /^[^/\\]+$/.test(given);
  if (bare) {
    const file = given.endsWith('.safetensors') ? given : `${given}.safetensors`;
    for (const dir of folders) {
      const p = path.join(dir, file);
      if (await isFile(p)) return { name: file.replace(/\.safetensors$/, ''), path: p };
    }
    for (const dir of folders)
      if (await isFile(path.join(dir, `${given}.onnx`)))
        throw errors.importedNotTrainable(path.join(dir, `${given}.onnx`));
    throw errors.unknownModel(given);
  }
  throw errors.missingPath(given);
}

/** A named model (resolveModelName), loaded and checked, with its file's SHA-256. */
export async function loadNamedModel(
  given: string,
  folders = modelFolders(),
): Promise<ModelFile & { name: string; path: string; sha256: string }> {
  const where = await resolveModelName(given, folders);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(where.path);
  } catch (e) {
    throw fsError(e, where.path, { what: 'weights file (.safetensors)' });
  }
  if (bytes.length === 0) throw errors.badWeights(where.path, 'the file is empty');
  return { ...decodeModel(bytes, where.path), ...where, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Whether a model was trained on degraded inputs (train --degrade), i.e. for real photos. */
export const forPhotos = (m: Pick<ModelEntry, 'training'>): boolean => {
  const d = m.training?.degrade;
  return typeof d === 'string' && d !== 'none';
};

/** Whether a model was trained perceptually (sharp), rather than for pixel error (faithful). */
export const isPerceptual = (m: Pick<ModelEntry, 'training'>): boolean => m.training?.objective === 'perceptual';

/**
 * The default among `models` for a scale: of the models of that scale, faithful ones (trained for
 * pixel error) before sharp ones (perceptual: their texture is partly invented, so they are chosen,
 * never given), then those trained for photos, then TanhExp ones, then the best validation; the
 * first listed (bundled before the user's) on a tie.
 */
export function pickDefault<M extends Pick<ModelEntry, 'config' | 'training'>>(
  models: readonly M[],
  scale: number,
): M | undefined {
  return models
    .filter((m) => m.config.scale === scale)
    .sort(
      (a, b) =>
        Number(isPerceptual(a)) - Number(isPerceptual(b)) ||
        Number(forPhotos(b)) - Number(forPhotos(a)) ||
        Number(b.config.activation === 'tanhexp') - Number(a.config.activation === 'tanhexp') ||
        (b.training?.valPsnrY ?? 0) - (a.training?.valPsnrY ?? 0),
    )[0];
}

/** The model `upscale` uses without --model (and the app's Upscale view starts with, at x2). */
export async function defaultModel(scale: number): Promise<ModelEntry> {
  const m = pickDefault((await findModels()).models, scale);
  if (!m) throw errors.noModel(scale);
  return m;
}
