import type { BackendChoice, BackendProbe, Purpose, BackendReport, PurposeBackend, Settings } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import { fieldText, wholeNumber } from '../lib/fields.ts';
import type { Services } from './services.ts';

export const PURPOSE_LABEL: Record<Purpose, string> = {
  upscale: 'Upscaling and comparing models',
  train: 'Training, comparisons and feature maps',
};

/** The backend a purpose runs on and why (and where validation runs when elsewhere), or why it could not start. */
export function backendSentence(b: PurposeBackend): string {
  if (!b.ok) return b.error;
  return b.validation ? `${b.why}; validation and previews on ${b.validation}` : b.why;
}

/** The backend a purpose runs on, in a few words (the table of backends says why others are not used). */
export function backendShort(b: PurposeBackend): string {
  if (!b.ok) return b.error;
  const on = `${b.name} — ${b.device}`;
  return b.validation ? `${on}; validation and previews on ${b.validation}` : on;
}

/** What auto picks for a purpose, and why in plain words. */
export function autoSentence(report: BackendReport, purpose: Purpose): string {
  const { name } = report.auto[purpose];
  const picked = report.probes.find((p) => p.name === name);
  const what = `${name} (${picked?.device ?? name})`;
  if (picked?.gpu) return `${what}: it runs on this machine's GPU.`;
  const gpu = report.probes.some((p) => p.available && p.gpu && (purpose !== 'train' || p.canTrain));
  return gpu
    ? `${what}.`
    : `${what}: this machine has no GPU that SR Studio can use, and it is the fastest here on the processor.`;
}

/** A plain word on a backend whose line alone would puzzle: a GPU backend that only has a software stand-in. */
export function probeNote(p: BackendProbe): string | null {
  if (!p.available || p.gpu || p.name !== 'webgpu') return null;
  return 'A software stand-in for a GPU: it runs on the processor, more slowly than onnx and wasm, so auto uses those first.';
}

const CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'];

/** The Settings view: the form (a draft of the saved settings), what the engine found, and saving. */
export class SettingsSession {
  readonly #app: Pick<Services, 'api' | 'saveSettings' | 'refreshStatus'>;
  #report = $state.raw<BackendReport | null>(null);
  #probeError = $state<string | null>(null);
  #probing = $state(false);
  #saving = $state(false);
  #error = $state<string | null>(null);
  #saved = $state(false);
  upscale = $state<BackendChoice>('auto');
  train = $state<BackendChoice>('auto');
  /** As the field holds it: text, a number, or null once emptied; empty is auto. */
  threads = $state<string | number | null>('');
  outputDir = $state('');

  constructor(app: Pick<Services, 'api' | 'saveSettings' | 'refreshStatus'>) {
    this.#app = app;
  }

  get report(): BackendReport | null {
    return this.#report;
  }
  get probeError(): string | null {
    return this.#probeError;
  }
  get probing(): boolean {
    return this.#probing;
  }
  get saving(): boolean {
    return this.#saving;
  }
  get error(): string | null {
    return this.#error;
  }
  get saved(): boolean {
    return this.#saved;
  }

  /** The choices offered for a purpose: every backend serves both (one that cannot train here says so in its line). */
  choices(_purpose: Purpose): readonly BackendChoice[] {
    return CHOICES;
  }

  /** One line per choice: whether it is there, and on what. */
  describe(purpose: Purpose, choice: BackendChoice): string {
    const r = this.#report;
    if (choice === 'auto') {
      const a = r?.auto[purpose];
      return a ? `auto (now ${a.name})` : 'auto';
    }
    const p = r?.probes.find((x) => x.name === choice);
    if (!p) return choice;
    if (!p.available) return `${choice} — not available`;
    if (purpose === 'train' && !p.canTrain) return `${choice} — cannot train`;
    return `${choice} — ${p.gpu ? 'GPU' : p.name === 'webgpu' ? 'software adapter' : 'CPU'}`;
  }

  /** Fills the form from the saved settings. */
  load(s: Settings): void {
    this.upscale = s.backends.upscale;
    this.train = s.backends.train;
    this.threads = s.threads === null ? '' : String(s.threads);
    this.outputDir = s.outputDir ?? '';
  }

  async probe(): Promise<void> {
    this.#probing = true;
    try {
      this.#report = await this.#app.api.request('backends:probe', undefined);
      this.#probeError = null;
    } catch (e) {
      this.#probeError = plainError(e);
    } finally {
      this.#probing = false;
    }
  }

  /** Checks the form; returns the patch, or sets the error and returns null. */
  #patch(): Partial<Settings> | null {
    const t = fieldText(this.threads);
    const threads = t === '' ? null : wholeNumber(t, 'Extra threads', 0, 64).value;
    if (t !== '' && threads === null) {
      this.#error = 'Extra threads must be a whole number from 0 to 64, or empty for automatic.';
      return null;
    }
    const dir = fieldText(this.outputDir);
    return { backends: { upscale: this.upscale, train: this.train }, threads, outputDir: dir === '' ? null : dir };
  }

  async save(): Promise<void> {
    this.#saved = false;
    const patch = this.#patch();
    if (!patch) return;
    this.#saving = true;
    this.#error = null;
    try {
      await this.#app.saveSettings(patch);
      this.#saved = true;
      await this.#app.refreshStatus();
    } catch (e) {
      this.#error = plainError(e);
    } finally {
      this.#saving = false;
    }
  }
}
