/**
 * What the sessions use of the app, as interfaces: each session takes only the part it needs
 * (`Pick<Services, …>`), and AppState, which makes the sessions, provides all of it. So no session
 * depends on AppState, and a test can hand a session just what it uses.
 */
import type { JobRouter } from '../api/jobs.ts';
import type { PreloadExtras } from '../api/pick.ts';
import type { ModelInfo, Settings, StudioApi, ViewName } from '../api/types.ts';
import type { Toasts } from './toasts.svelte.ts';

export type Api = StudioApi & PreloadExtras;

export interface Services {
  readonly api: Api;
  /** Routes each job's events to the session that started (or re-attached to) it. */
  readonly jobs: JobRouter;
  readonly toasts: Toasts;
  /** The models as listed (models:list), and asking for them again. */
  readonly models: readonly ModelInfo[];
  /** The models grouped as the app lists them (your models, bundled). */
  readonly modelGroups: ReadonlyArray<{ readonly label: string; readonly models: readonly ModelInfo[] }>;
  modelById(id: string): ModelInfo | undefined;
  refreshModels(): Promise<void>;
  /** The saved settings (null until the status has come), saving a patch, and asking for the status again. */
  readonly settings: Settings | null;
  saveSettings(patch: Partial<Settings>): Promise<Settings>;
  refreshStatus(): Promise<void>;
  /** Whether the page is served to a browser (browser mode) rather than in the desktop app. */
  readonly browser: boolean;
  /** The view showing. */
  readonly view: ViewName;
  /** A request whose failure is shown as a toast (one sentence); resolves to null on failure. */
  attempt<T>(request: Promise<T>): Promise<T | null>;
  /** Imports a model file into the user's models (toasting the outcome); null when it could not be. */
  importModel(path: string): Promise<ModelInfo | null>;
}
