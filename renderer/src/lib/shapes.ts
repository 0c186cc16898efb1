import type { CompareModelsOutput, CompareModelsResult, CompareReport, ImageData64 } from '../api/types.ts';

/** Guards for the `unknown` results some events carry (`job:done.result`). */
export function isImageData64(v: unknown): v is ImageData64 {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['dataUrl'] === 'string' && typeof o['width'] === 'number' && typeof o['height'] === 'number';
}

/** Every image in a result, in order, searching a few levels into objects and arrays. */
export function findImages(v: unknown, depth = 3): ImageData64[] {
  if (isImageData64(v)) return [v];
  if (depth === 0 || typeof v !== 'object' || v === null) return [];
  const values = Array.isArray(v) ? v : Object.values(v);
  return values.flatMap((x) => findImages(x, depth - 1));
}

export function isCompareReport(v: unknown): v is CompareReport {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o['acts']) && typeof o['perAct'] === 'object' && o['perAct'] !== null && Array.isArray(o['runs']);
}

/** The first string field among `keys` in a result object, e.g. the model path of a finished training. */
export function stringField(v: unknown, keys: readonly string[]): string | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  for (const k of keys) {
    const x = o[k];
    if (typeof x === 'string' && x) return x;
  }
  return null;
}

const isOutput = (v: unknown): v is CompareModelsOutput => {
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && typeof o['file'] === 'string' && typeof o['width'] === 'number' && typeof o['height'] === 'number';
};

/** A compare-models job's result (main/api.ts CompareModelsResult). */
export function isCompareModelsResult(v: unknown): v is CompareModelsResult {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return isOutput(o['a']) && isOutput(o['b']) && isOutput(o['input']) && (o['truth'] === null || isOutput(o['truth'])) && typeof o['scale'] === 'number';
}
