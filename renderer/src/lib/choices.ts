import type { ActivationName, DegradeName, OutputFormat, PresetName, Scale } from '../api/types.ts';

/** Display names; the Record types make the compiler insist on every name the engine knows. */
export const ACTIVATION_LABELS: Readonly<Record<ActivationName, string>> = {
  tanhexp: 'TanhExp',
  swish: 'Swish',
  mish: 'Mish',
  relu: 'ReLU',
};
export const ACTIVATIONS = Object.keys(ACTIVATION_LABELS) as ActivationName[];

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
export const PRESETS = Object.keys(PRESET_LABELS) as PresetName[];

/** Training inputs (`degrade`): what the network learns to undo. */
export const DEGRADE_LABELS: Readonly<Record<DegradeName, string>> = {
  none: 'Clean (bicubic only)',
  photo: 'Photos (blur, noise, JPEG)',
  'photo-heavy': 'Heavily degraded photos',
};
export const DEGRADES = Object.keys(DEGRADE_LABELS) as DegradeName[];

/** A model's training inputs in a word, from its file's training record. */
export const trainedOn = (degrade: unknown): string =>
  typeof degrade === 'string' && degrade !== 'none' ? degrade : 'clean';

const SCALE_LABELS: Readonly<Record<Scale, string>> = { 2: '×2', 3: '×3', 4: '×4' };
export const SCALES = Object.keys(SCALE_LABELS).map(Number) as Scale[];
export const scaleLabel = (s: Scale): string => SCALE_LABELS[s];

export const FORMAT_LABELS: Readonly<Record<OutputFormat, string>> = {
  png: 'PNG (lossless)',
  jpg: 'JPEG',
  webp: 'WebP',
  tiff: 'TIFF',
  avif: 'AVIF',
};
export const FORMATS = Object.keys(FORMAT_LABELS) as OutputFormat[];

export function isActivation(s: string): s is ActivationName {
  return Object.hasOwn(ACTIVATION_LABELS, s);
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.avif', '.gif'];
export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
