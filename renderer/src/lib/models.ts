/** A model's facts as the Models table says them: its size in words, where its scores are from, how far it was trained. */
import type { ModelInfo, NetworkConfig } from '../api/types.ts';
import { presetOf } from '../../../ml/presets.ts';
import { trainedFor } from './choices.ts';
import { baseName, bytes, count } from './format.ts';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "16 features, 1 group of 3 blocks": the network's shape in words. */
export const shapeWords = (c: Pick<NetworkConfig, 'features' | 'groups' | 'blocks'>): string =>
  `${plural(c.features, 'feature')}, ${plural(c.groups, 'group')} of ${plural(c.blocks, 'block')}`;

/** The size preset's name ("Tiny"), or the shape in words for a network of no preset. */
export function sizeLabel(c: NetworkConfig): string {
  const p = presetOf(c);
  return p ? p.charAt(0).toUpperCase() + p.slice(1) : shapeWords(c);
}

/**
 * The folder of validation photos a model's scores are on, as its training record names it
 * (recorded since runs keep it; before, only in the command that trained it), or null when unknown.
 */
export function validatedOn(training: ModelInfo['training']): string | null {
  if (training?.valPsnrY === undefined) return null;
  if (typeof training.val === 'string') return training.val;
  const m = typeof training.command === 'string' ? /(?:^|\s)--val[ =](\S+)/.exec(training.command) : null;
  return m ? m[1]! : null;
}

/** The last part of a folder's path, for a narrow column ("val"). */
export const folderName = (dir: string): string => baseName(dir.replace(/[\\/]+$/, ''));

/** "600" or, when the weights are from an earlier iteration than the run reached, "600 (best at 240)". */
export function iterationsLabel(training: ModelInfo['training']): string {
  const at = training?.iterations;
  const trained = training?.trainedIterations;
  if (at === undefined) return trained === undefined ? '—' : count(trained);
  return trained !== undefined && trained !== at ? `${count(trained)} (best at ${count(at)})` : count(at);
}

/** A feature-map tap in words: "first layer", "group 1, block 2, activation" (the engine's names are PyTorch's). */
export function layerLabel(name: string): string {
  if (name === 'head') return 'first layer';
  const m = /^body\.(\d+)\.body\.(\d+)\.act$/.exec(name);
  return m ? `group ${Number(m[1]) + 1}, block ${Number(m[2]) + 1}, activation` : name;
}

/** "×4": a model's scale, whether SR Studio's or imported (any whole scale). */
export const modelScaleLabel = (m: Pick<ModelInfo, 'config' | 'imported'>): string =>
  `×${m.config?.scale ?? m.imported?.scale ?? '?'}`;

/** Its activation's name, or "Imported ONNX" for a model brought from elsewhere. */
export const modelKind = (m: Pick<ModelInfo, 'config'>, labels: Readonly<Record<string, string>>): string =>
  m.config ? (labels[m.config.activation] ?? m.config.activation) : 'Imported ONNX';

/** An imported model's file in words: "38 KB, float16, RGB 0–1", with "(a guess)" when the probe could not tell the range. */
export const importedWords = (i: NonNullable<ModelInfo['imported']>): string =>
  `${bytes(i.bytes)}, ${i.dtype}, RGB ${i.range === 255 ? '0–255' : '0–1'}${i.rangeFrom === 'guess' ? ' (a guess)' : ''}`;

/**
 * A model as a list of models offers it: "tanhexp_photo_x2 · faithful · default · ×2 · tanhexp".
 * SR Studio's models say first what they were trained for (sharp: perceptual; faithful: pixel
 * error) and whether the Upscale view starts with them, then the scale and activation, so a narrow
 * list cuts the details, not the choice; an imported model says where it is from.
 */
export function modelOptionLabel(
  m: Pick<ModelInfo, 'name' | 'config' | 'imported' | 'training' | 'isDefault'>,
): string {
  const kind = m.config ? `${trainedFor(m.training?.objective)}${m.isDefault ? ' · default' : ''}` : 'imported ONNX';
  return `${m.name} · ${kind} · ${modelScaleLabel(m)}${m.config ? ` · ${m.config.activation}` : ''}`;
}
