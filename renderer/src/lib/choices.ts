import type { ActivationName, DegradeName, Objective, OutputFormat, PresetName, Scale } from '../api/types.ts';

/** A setting's choices in order, with their display names: what a ChoiceField offers. */
export interface Choices<T extends string | number> {
  readonly values: readonly T[];
  readonly labels: Readonly<Record<T, string>>;
}

/** The names of a table of display names, in its order. */
const choicesOf = <T extends string>(labels: Readonly<Record<T, string>>): Choices<T> => ({
  values: Object.keys(labels) as T[],
  labels,
});

/** Display names; the Record types make the compiler insist on every name the engine knows. */
export const ACTIVATION_LABELS: Readonly<Record<ActivationName, string>> = {
  tanhexp: 'TanhExp',
  swish: 'Swish',
  mish: 'Mish',
  relu: 'ReLU',
};
export const ACTIVATIONS = Object.keys(ACTIVATION_LABELS) as ActivationName[];
export const ACTIVATION_CHOICES: Choices<ActivationName> = { values: ACTIVATIONS, labels: ACTIVATION_LABELS };

export const ACTIVATION_COLORS: Readonly<Record<ActivationName, string>> = {
  tanhexp: '#f28e2b',
  swish: '#4e79a7',
  mish: '#59a14f',
  relu: '#9c9c9c',
};

export const PRESET_LABELS: Readonly<Record<PresetName, string>> = {
  tiny: 'Tiny (fastest)',
  light: 'Light',
  standard: 'Standard (best quality)',
};
export const PRESET_CHOICES = choicesOf(PRESET_LABELS);

/** Training inputs (`degrade`): what the network learns to undo. */
export const DEGRADE_LABELS: Readonly<Record<DegradeName, string>> = {
  none: 'Clean (bicubic only)',
  photo: 'Photos (blur, noise, JPEG)',
  'photo-heavy': 'Heavily degraded photos',
};
export const DEGRADE_CHOICES = choicesOf(DEGRADE_LABELS);

/** What a run trains the network for (`objective`): pixel error, or perceptual (sharp, some PSNR traded for it). */
export const OBJECTIVE_LABELS: Readonly<Record<Objective, string>> = {
  pixel: 'Pixel accuracy (faithful)',
  perceptual: 'Perceptual (sharp)',
};
export const OBJECTIVE_CHOICES = choicesOf(OBJECTIVE_LABELS);
/** The adversarial loss's weight beside the pixel loss's 1 (perceptual runs), as the forms and their sentences name it. */
export const ADV_WEIGHT = 'Adversarial weight';

/**
 * What a model was trained for, in a word, and the objective that makes it so: its file's training
 * record names perceptual ones (the rest, older files included, were trained for pixel error).
 */
export const trainedForParts = (objective: unknown): readonly ['sharp' | 'faithful', string] =>
  objective === 'perceptual' ? ['sharp', 'perceptual'] : ['faithful', 'pixel error'];

/** In a word: "sharp" or "faithful". */
export const trainedFor = (objective: unknown): 'sharp' | 'faithful' => trainedForParts(objective)[0];

/** With the objective: "sharp (perceptual)", "faithful (pixel error)". */
export const trainedForWords = (objective: unknown): string => {
  const [word, objectiveWords] = trainedForParts(objective);
  return `${word} (${objectiveWords})`;
};

/** A model's training inputs in a word, from its file's training record. */
export const trainedOn = (degrade: unknown): string =>
  typeof degrade === 'string' && degrade !== 'none' ? degrade : 'clean';

const SCALE_LABELS: Readonly<Record<Scale, string>> = { 2: '×2', 3: '×3', 4: '×4' };
export const SCALE_CHOICES: Choices<Scale> = {
  values: Object.keys(SCALE_LABELS).map(Number) as Scale[],
  labels: SCALE_LABELS,
};

export const FORMAT_LABELS: Readonly<Record<OutputFormat, string>> = {
  png: 'PNG (lossless)',
  jpg: 'JPEG',
  webp: 'WebP',
  tiff: 'TIFF',
  avif: 'AVIF',
};
export const FORMAT_CHOICES = choicesOf(FORMAT_LABELS);

export function isActivation(s: string): s is ActivationName {
  return Object.hasOwn(ACTIVATION_LABELS, s);
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.avif', '.gif'];
export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
