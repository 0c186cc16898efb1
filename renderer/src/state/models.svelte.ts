import { localPathOf } from '../api/pick.ts';
import type { ModelInfo } from '../api/types.ts';
import { uploadFile } from '../api/upload.ts';
import type { Services } from './services.ts';

/**
 * Importing a model: an SR Studio weights file, or an ONNX super-resolution model from elsewhere
 * (run as it is: it cannot be trained); by path, or dropped (its path on the desktop, uploaded in
 * the browser).
 */
export class ModelImportSession {
  readonly #app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'refreshModels'>;
  path = $state('');
  #busy = $state(false);

  constructor(app: Pick<Services, 'api' | 'toasts' | 'attempt' | 'refreshModels'>) {
    this.#app = app;
  }

  get busy(): boolean {
    return this.#busy;
  }

  async importPath(path = this.path.trim()): Promise<ModelInfo | null> {
    if (!path || this.#busy) return null;
    this.#busy = true;
    try {
      const model = await this.#app.attempt(this.#app.api.request('models:import', { path }));
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
      this.#app.toasts.show(`${file.name} is not a model; import a .safetensors file made by SR Studio or an .onnx super-resolution model.`, 'error');
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
