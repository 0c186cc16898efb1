/**
 * Puts the host together for either front end: settings from the user-data folder, the engine
 * worker on the chosen backend, the model folders, and the handlers. Electron and browser mode
 * differ only in the dialogs, the shell, the upload inbox and where events go.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendChoice } from '../../ml/backend-choice.ts';
import type { Events } from '../api.ts';
import { modelFolders } from '../../ml/node/models.ts';
import { ownedTempDir } from '../../ml/node/owned-dirs.ts';
import { TileCache } from '../../ml/node/tiles.ts';
import {
  FileRegistry,
  type Dialogs,
  type Handlers,
  type HostContext,
  type Shell,
  type UploadInbox,
} from './context.ts';
import { EngineHost, type Emit, type Engine, type EngineConfig } from './engine-host.ts';
import { createHandlers } from './handlers.ts';
import { JobBook } from './job-book.ts';
import type { DisplayName } from './wording.ts';
import type { ModelFolders } from './models.ts';
import { ResultsBook } from './results.ts';
import { SettingsStore } from './settings.ts';

export interface HostOptions {
  /** Electron: app.getPath('userData'); browser mode: defaultDataDir(). */
  readonly dataDir: string;
  readonly appRoot: string;
  readonly emit: Emit;
  readonly dialogs: Dialogs;
  readonly shell: Shell;
  readonly uploads?: UploadInbox | undefined;
  /** The user's models folder (default: the engine's, shared with the CLI). */
  readonly userModels?: string | undefined;
  readonly previewIntervalMs?: number | undefined;
  /** Overrides the backend in the settings (tests pin wasm). */
  readonly backend?: BackendChoice | undefined;
  readonly workerUrl?: URL | undefined;
  /** Tests: an engine other than the worker. */
  readonly engine?: ((emit: Emit, config: EngineConfig) => Engine) | undefined;
}

export interface Host {
  readonly context: HostContext;
  readonly handlers: Handlers;
  /** Shows a path as the user knows it (an upload: by the name it was dropped with), in errors. */
  readonly displayName: DisplayName;
  /** Cancels running jobs (training saves a checkpoint) and stops the worker. */
  close(): Promise<void>;
}

/** Browser mode's user-data folder: $SR_STUDIO_DATA, else ~/.config/sr-studio. */
export function defaultDataDir(): string {
  return (
    process.env.SR_STUDIO_DATA ||
    path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'sr-studio')
  );
}

/** The folder holding SR Studio's package.json, found upwards from `start` (works from source and bundles). */
export function findAppRoot(start: string): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sr-studio')
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`SR Studio's package.json was not found above ${start}`);
  }
}

export async function createHost(o: HostOptions): Promise<Host> {
  await fs.mkdir(o.dataDir, { recursive: true });
  const settings = await SettingsStore.open(o.dataDir);
  const runsDir = path.join(o.dataDir, 'runs');
  const models: ModelFolders = {
    bundled: path.join(o.appRoot, 'assets', 'models'),
    user: o.userModels ?? modelFolders()[1]!,
    runs: runsDir,
  };
  await fs.mkdir(models.user, { recursive: true });
  const files = new FileRegistry();
  const jobs = new JobBook();
  const results = await ResultsBook.open(o.dataDir);
  // Temp folders named for this process: a later start removes them if it was killed meanwhile.
  // The tile threads' entry is found from the app's root, which a bundled main process also knows.
  const tiles = new TileCache({
    dir: await ownedTempDir('sr-studio-tiles-'),
    workerUrl: pathToFileURL(path.join(o.appRoot, 'ml', 'node', 'tile-worker-entry.mjs')),
  });
  const viewsDir = await ownedTempDir('sr-studio-views-');
  // Results may be downloaded in browser mode: remember each one the engine writes, also for later runs.
  const emit: Emit = (channel, payload) => {
    if (channel === 'job:file-done') {
      const done = payload as Events['job:file-done'];
      files.add(done.output);
      results.record(done, path.basename(files.displayName(done.file)));
    }
    jobs.record(channel, payload);
    o.emit(channel, payload);
  };
  // A backend given on the command line (npm run serve -- --backend B) is used for both purposes
  // (as training takes it) and is not saved.
  const saved = settings.get();
  const backends = o.backend ? { upscale: o.backend, train: o.backend } : saved.backends;
  const config = { backends, threads: saved.threads };
  const engine = o.engine
    ? o.engine(emit, config)
    : new EngineHost({
        ...config,
        emit,
        name: files.displayName,
        previewIntervalMs: o.previewIntervalMs,
        workerUrl: o.workerUrl,
      });
  const pkg = JSON.parse(readFileSync(path.join(o.appRoot, 'package.json'), 'utf8')) as { version: string };
  const context: HostContext = {
    version: pkg.version,
    engine,
    settings,
    models,
    runsDir,
    files,
    tiles,
    viewsDir,
    dialogs: o.dialogs,
    shell: o.shell,
    uploads: o.uploads,
    jobs,
    results,
  };
  return {
    context,
    handlers: createHandlers(context),
    displayName: (p) => files.displayName(p),
    close: async () => {
      await engine.close();
      await results.flush();
      await tiles.close();
      await fs.rm(viewsDir, { recursive: true, force: true });
    },
  };
}
