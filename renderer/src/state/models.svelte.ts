import { localPathOf } from '../api/pick.ts';
import type { ImportProbe, ModelInfo } from '../api/types.ts';
import { uploadFile } from '../api/upload.ts';
import type { Services } from './services.ts';

/**
 * An ONNX model checked and probed, waiting for the user to confirm (or change) its input range
 * and tile margin before it is imported. `range` is null while it is for the user to choose (the
 * probe could not tell).
 */
export interface PendingImport {
  readonly path: string;
  readonly found: ImportProbe;
  range: 1 | 255 | null;
  margin: number;
}

/** "from its metadata": where an imported model's input range came from, in words. */
export function rangeSourceWords(from: ImportProbe['rangeFrom'] | undefined): string {
  switch (from) {
    case 'given':
      return 'as chosen';
    case 'metadata':
      return 'from its metadata';
    case 'guess':
      return 'a guess: the probe could not tell';
    default:
      return 'found by a probe';
  }
}

/** A tile margin as the form holds it: a whole number of pixels from 0 to `most`, or null. */
export const marginValue = (v: unknown, most: number): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= most ? v : null;

/**
 * Importing a model: an SR Studio weights file, or an ONNX super-resolution model from elsewhere
 * (run as it is: it cannot be trained); by path, or dropped (its path on the desktop, uploaded in
 * the browser). An ONNX model is probed first, and what was found is shown: its input range (asked
 * for when the probe cannot tell) and tile margin can be changed before it is imported, or later
 * (adjust), and are kept with it for every upscale.
 */
export class ModelImportSession {
  readonly #app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'refreshModels'>;
  path = $state('');
  #busy = $state(false);
  pending = $state<PendingImport | null>(null);

  constructor(app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'refreshModels'>) {
    this.#app = app;
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Whether the pending import can go ahead: a range chosen and a margin in bounds. */
  get canConfirm(): boolean {
    const p = this.pending;
    return !!p && p.range !== null && marginValue(p.margin, p.found.maxMargin) !== null && !this.#busy;
  }

  /**
   * Imports a .safetensors file at once; probes an .onnx model and holds it as `pending` until
   * confirm() (or cancel()).
   */
  async importPath(path = this.path.trim()): Promise<ModelInfo | null> {
    if (!path || this.#busy) return null;
    if (!/\.onnx$/i.test(path)) return this.#import(path, {});
    this.#busy = true;
    try {
      const found = await this.#app.attempt(this.#app.api.request('models:probe', { path }));
      if (found)
        this.pending = { path, found, range: found.rangeFrom === 'guess' ? null : found.range, margin: found.margin };
      return null;
    } finally {
      this.#busy = false;
    }
  }

  /** Imports the pending ONNX model with the range and margin as they stand (sent only where changed from what was found). */
  async confirm(): Promise<ModelInfo | null> {
    const p = this.pending;
    if (!p || !this.canConfirm) return null;
    const settings = {
      ...(p.range !== p.found.range || p.found.rangeFrom === 'guess' ? { range: p.range! } : {}),
      ...(p.margin !== p.found.margin ? { margin: p.margin } : {}),
    };
    const model = await this.#import(p.path, settings);
    if (model) this.pending = null;
    return model;
  }

  cancel(): void {
    this.pending = null;
  }

  /** Changes how an imported model runs (kept with it for every later upscale). */
  async adjust(model: ModelInfo, range: 1 | 255, margin: number): Promise<ModelInfo | null> {
    if (this.#busy) return null;
    this.#busy = true;
    try {
      const changed = await this.#app.attempt(
        this.#app.api.request('models:adjust', { modelId: model.id, range, margin }),
      );
      if (changed) {
        this.#app.toasts.show(
          `${changed.name} now takes RGB ${range === 255 ? '0–255' : '0–1'} with a tile margin of ${margin} pixels.`,
          'success',
        );
        await this.#app.refreshModels();
      }
      return changed;
    } finally {
      this.#busy = false;
    }
  }

  async #import(path: string, settings: { range?: 1 | 255; margin?: number }): Promise<ModelInfo | null> {
    if (this.#busy) return null;
    this.#busy = true;
    try {
      const model = await this.#app.attempt(this.#app.api.request('models:import', { path, ...settings }));
      if (model) {
        const note = model.imported ? ` (ONNX ×${model.imported.scale}; it can upscale but not be trained)` : '';
        this.#app.toasts.show(`Imported ${model.name}${note}.`, 'success');
        this.path = '';
        await this.#app.refreshModels();
      }
      return model;
    } finally {
      this.#busy = false;
    }
  }

  async importFile(file: File): Promise<void> {
    if (!/\.(safetensors|onnx)$/i.test(file.name)) {
      this.#app.toasts.show(
        `${file.name} is not a model; import a .safetensors file made by SR Studio or an .onnx super-resolution model.`,
        'error',
      );
      return;
    }
    const local = localPathOf(this.#app.api, file);
    if (local) {
      await this.importPath(local);
      return;
    }
    const entry = await this.#app.attempt(uploadFile(this.#app.api, file));
    if (entry) await this.importPath(entry.path);
  }
}
