import { createContext } from 'svelte';
import { BrowserClient, type ConnectionState } from '../api/browser-client.ts';
import { JobRouter } from '../api/jobs.ts';
import type { ModelInfo, RequestResult, Settings, ViewName } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import { ActivationsSession, FeatureMapsSession } from './activations.svelte.ts';
import { CompareModelsSession } from './compare-models.svelte.ts';
import { CompareSession } from './compare.svelte.ts';
import { ModelImportSession } from './models.svelte.ts';
import type { Api, Services } from './services.ts';
import { SettingsSession } from './settings.svelte.ts';
import { Toasts } from './toasts.svelte.ts';
import { TrainSession } from './train.svelte.ts';
import { UpscaleSession } from './upscale.svelte.ts';

export { VIEWS } from '../../../main/channels.ts';

export type AppStatus = RequestResult<'app:status'>;
export type { Api };

/**
 * The app's shared state: the API, job routing, status, models, toasts and one session per view.
 * It is the Services each session takes a part of (services.ts); no session knows AppState.
 */
export class AppState implements Services {
  readonly api: Api;
  readonly jobs: JobRouter;
  readonly toasts = new Toasts();
  readonly upscale: UpscaleSession;
  readonly train: TrainSession;
  readonly compare: CompareSession;
  readonly compareModels: CompareModelsSession;
  readonly curves: ActivationsSession;
  readonly features: FeatureMapsSession;
  readonly modelImport: ModelImportSession;
  readonly settingsForm: SettingsSession;

  #view = $state<ViewName>('upscale');
  /** Whether a view was chosen since the page opened (a training found running then opens Train only if not). */
  #chosen = false;
  #status = $state.raw<AppStatus | null>(null);
  #statusError = $state<string | null>(null);
  #models = $state.raw<ModelInfo[]>([]);
  #connection = $state<ConnectionState>('open');
  /** The models as the lists group them: the user's own, then the bundled ones (either may be empty). */
  readonly modelGroups = $derived<ReadonlyArray<{ readonly label: string; readonly models: readonly ModelInfo[] }>>([
    { label: 'Your models', models: this.#models.filter((m) => !m.bundled) },
    { label: 'Bundled', models: this.#models.filter((m) => m.bundled) },
  ]);

  constructor(api: Api) {
    this.api = api;
    this.jobs = new JobRouter(api);
    this.upscale = new UpscaleSession(this);
    this.train = new TrainSession(this);
    this.compare = new CompareSession(this);
    this.compareModels = new CompareModelsSession(this);
    this.curves = new ActivationsSession(this);
    this.features = new FeatureMapsSession(this);
    this.modelImport = new ModelImportSession(this);
    this.settingsForm = new SettingsSession(this);
    if (api instanceof BrowserClient) {
      this.#connection = api.state;
      let lost = false;
      api.onState((s) => {
        this.#connection = s;
        if (s === 'closed') lost = true;
        if (s === 'open' && lost) void this.refresh();
      });
    }
  }

  get view(): ViewName {
    return this.#view;
  }
  set view(v: ViewName) {
    this.#chosen = true;
    this.#view = v;
  }
  get status(): AppStatus | null {
    return this.#status;
  }
  get statusError(): string | null {
    return this.#statusError;
  }
  get settings(): Settings | null {
    return this.#status?.settings ?? null;
  }
  get models(): readonly ModelInfo[] {
    return this.#models;
  }
  get connection(): ConnectionState {
    return this.#connection;
  }
  get browser(): boolean {
    return this.api.mode === 'browser';
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshStatus(), this.refreshModels(), this.upscale.results.load()]);
    await this.reattach();
  }

  /** Takes over the jobs the engine is running, started by this page before a reload or by another window. */
  async reattach(): Promise<void> {
    const jobs = await this.attempt(this.api.request('jobs:list', undefined));
    for (const job of jobs ?? []) {
      if (job.kind === 'train') this.train.attach(job);
      else if (job.kind === 'compare') this.compare.attach(job);
      else if (job.kind === 'upscale') this.upscale.attach(job);
    }
    // A page reloaded during a training opens where it goes on, unless there is an upscale to watch.
    if (!this.#chosen && jobs?.some((j) => j.kind === 'train') && !jobs.some((j) => j.kind === 'upscale'))
      this.#view = 'train';
  }

  async refreshStatus(): Promise<void> {
    try {
      this.#status = await this.api.request('app:status', undefined);
      this.#statusError = null;
    } catch (e) {
      this.#statusError = plainError(e);
    }
  }

  async refreshModels(): Promise<void> {
    const models = await this.attempt(this.api.request('models:list', undefined));
    // One entry per id, whatever the engine sends: the lists are keyed by it.
    if (models) this.#models = [...new Map(models.map((m) => [m.id, m])).values()];
    // The two-model views start with Swish against TanhExp at the default's scale, when both exist.
    const [a, b] = this.swishVsTanhExp();
    for (const form of [this.compareModels.form, this.features.form]) {
      if (a && b && !form.modelA && !form.modelB) [form.modelA, form.modelB] = [a, b];
    }
  }

  /**
   * A Swish model and the TanhExp model trained like it (same shape, scale and training inputs), at
   * the default model's scale: the default itself when it has a Swish twin, else the twin pair there.
   */
  swishVsTanhExp(): [string, string] | [] {
    const d = this.#models.find((m) => m.isDefault);
    if (!d) return [];
    const degrade = (m: ModelInfo) => m.training?.degrade ?? 'none';
    const twins = (a: ModelInfo, b: ModelInfo) =>
      !!a.config &&
      !!b.config &&
      a.config.scale === b.config.scale &&
      a.config.features === b.config.features &&
      a.config.groups === b.config.groups &&
      a.config.blocks === b.config.blocks &&
      a.bundled === b.bundled &&
      degrade(a) === degrade(b);
    const swish = this.#models.filter((m) => m.config?.activation === 'swish' && m.config.scale === d.config?.scale);
    const tanhexp = [d, ...this.#models.filter((m) => m !== d)].filter((m) => m.config?.activation === 'tanhexp');
    for (const s of [...swish.filter((m) => twins(m, d)), ...swish]) {
      const t = tanhexp.find((m) => twins(s, m));
      if (t) return [s.id, t.id];
    }
    return [];
  }

  /** Saves a settings patch; rejects with the engine's one-sentence reason. */
  async saveSettings(patch: Partial<Settings>): Promise<Settings> {
    const settings = await this.api.request('settings:set', patch);
    if (this.#status) this.#status = { ...this.#status, settings };
    return settings;
  }

  /** A request whose failure is shown as a toast (one sentence); resolves to null on failure. */
  async attempt<T>(request: Promise<T>): Promise<T | null> {
    try {
      return await request;
    } catch (e) {
      this.toasts.error(e);
      return null;
    }
  }

  /** Asks for a folder: the native dialog where there is one, else null (the caller's text field stays). */
  async chooseFolder(title: string): Promise<string | null> {
    try {
      return await this.api.request('dialog:open-folder', { title });
    } catch (e) {
      this.toasts.show(`${plainError(e)} Type the folder's path instead.`, 'info');
      return null;
    }
  }

  importModel(path: string): Promise<ModelInfo | null> {
    return this.modelImport.importPath(path);
  }

  modelById(id: string): ModelInfo | undefined {
    return this.#models.find((m) => m.id === id);
  }
}

const [get, set] = createContext<AppState>();
export const getApp = get;
export const setApp = set;
