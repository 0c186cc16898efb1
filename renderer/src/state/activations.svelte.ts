import type { ActivationName, ModelInfo, RequestResult } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import type { Services } from './services.ts';

export type Curves = RequestResult<'activations:curves'>;
export type FeatureMaps = RequestResult<'features:maps'>;

/** f and f′ of the chosen activations over a movable x range. */
export class ActivationsSession {
  readonly #app: Pick<Services, 'api'>;
  #names = $state<ActivationName[]>(['tanhexp', 'swish']);
  #xMin = $state(-6);
  #xMax = $state(4);
  #curves = $state.raw<Curves | null>(null);
  #error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #asked = 0;

  constructor(app: Pick<Services, 'api'>) {
    this.#app = app;
  }

  get names(): readonly ActivationName[] {
    return this.#names;
  }
  get xMin(): number {
    return this.#xMin;
  }
  get xMax(): number {
    return this.#xMax;
  }
  get curves(): Curves | null {
    return this.#curves;
  }
  get error(): string | null {
    return this.#error;
  }

  toggle(name: ActivationName, on: boolean): void {
    this.#names = on ? [...new Set([...this.#names, name])] : this.#names.filter((n) => n !== name);
    this.load();
  }

  setRange(xMin: number, xMax: number): void {
    if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) return;
    if (xMax - xMin < 0.1) return;
    this.#xMin = xMin;
    this.#xMax = xMax;
    this.load();
  }

  /** Moves the range by a share of its width (negative: left). */
  shift(share: number): void {
    const d = (this.#xMax - this.#xMin) * share;
    this.setRange(this.#xMin + d, this.#xMax + d);
  }

  /** Widens (factor > 1) or narrows the range around its centre. */
  zoom(factor: number): void {
    const c = (this.#xMin + this.#xMax) / 2;
    const h = ((this.#xMax - this.#xMin) / 2) * factor;
    this.setRange(c - h, c + h);
  }

  /** Asks for the curves, at most every 120 ms while a range is being dragged. */
  load(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fetch(), 120);
  }

  async #fetch(): Promise<void> {
    const ask = ++this.#asked;
    if (this.#names.length === 0) {
      this.#curves = {};
      return;
    }
    try {
      const curves = await this.#app.api.request('activations:curves', {
        names: [...this.#names],
        xMin: this.#xMin,
        xMax: this.#xMax,
        points: 401,
      });
      if (ask === this.#asked) {
        this.#curves = curves;
        this.#error = null;
      }
    } catch (e) {
      if (ask === this.#asked) this.#error = plainError(e);
    }
  }
}

/** Two models' activation maps for one image and layer, with each layer's share of dead units. */
export class FeatureMapsSession {
  readonly #app: Pick<Services, 'api' | 'models' | 'modelGroups' | 'modelById'>;
  form = $state({ modelA: '', modelB: '', image: '', layer: 0 });
  /** The map (channel) shown large, both models side by side. */
  selected = $state(0);
  #result = $state.raw<FeatureMaps | null>(null);
  #busy = $state(false);
  #error = $state<string | null>(null);

  constructor(app: Pick<Services, 'api' | 'models' | 'modelGroups' | 'modelById'>) {
    this.#app = app;
  }

  get result(): FeatureMaps | null {
    return this.#result;
  }
  get busy(): boolean {
    return this.#busy;
  }
  get error(): string | null {
    return this.#error;
  }
  /** Layer names, once a first request has told them. */
  readonly layers = $derived(this.#result?.[0]?.layers ?? []);
  /**
   * The models whose feature maps can be shown: SR Studio's own networks, grouped as the app groups
   * them. Imported ONNX models are left out (their layers are not SR Studio's to tap).
   */
  get modelGroups(): ReadonlyArray<{ readonly label: string; readonly models: readonly ModelInfo[] }> {
    return this.#app.modelGroups.map((g) => ({ label: g.label, models: g.models.filter((m) => !m.imported) }));
  }
  /** How many imported models the lists leave out, and why, in a sentence ('' when none). */
  get leftOut(): string {
    const n = this.#app.models.filter((m) => m.imported).length;
    return n === 0
      ? ''
      : `Feature maps are shown only for SR Studio's own networks, so ${n === 1 ? 'the imported ONNX model is' : `the ${n} imported ONNX models are`} not listed here.`;
  }
  get canShow(): boolean {
    return (
      !!this.form.modelA &&
      !!this.form.modelB &&
      this.form.image.trim() !== '' &&
      !this.#imported(this.form.modelA) &&
      !this.#imported(this.form.modelB)
    );
  }

  #imported(id: string): ModelInfo | undefined {
    const m = this.#app.modelById(id);
    return m?.imported ? m : undefined;
  }

  async show(): Promise<void> {
    const chosen = this.#imported(this.form.modelA) ?? this.#imported(this.form.modelB);
    if (chosen) {
      this.#error = `${chosen.name} is an imported ONNX model; feature maps are shown only for SR Studio's own networks, so choose one of those.`;
      return;
    }
    if (!this.canShow || this.#busy) return;
    this.#busy = true;
    try {
      this.#result = await this.#app.api.request('features:maps', {
        models: [this.form.modelA, this.form.modelB],
        image: this.form.image.trim(),
        layer: this.form.layer,
      });
      this.#error = null;
      if (this.selected >= (this.#result[0]?.maps.length ?? 0)) this.selected = 0;
    } catch (e) {
      this.#error = plainError(e);
    } finally {
      this.#busy = false;
    }
  }
}
