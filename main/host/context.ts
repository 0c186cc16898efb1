/** What the request handlers work with; Electron and browser mode each fill it in. */
import path from 'node:path';
import type { RequestChannel, RequestResult } from '../api.ts';
import type { TileCache } from '../../ml/node/tiles.ts';
import type { Engine } from './engine-host.ts';
import type { ModelFolders } from './models.ts';
import type { SettingsStore } from './settings.ts';

/** Native dialogs (Electron); browser mode has none and says what to do instead. */
export interface Dialogs {
  openImages(): Promise<string[]>;
  openFolder(title: string): Promise<string | null>;
}

export interface Shell {
  /** Shows the file in the system's file manager. */
  reveal(file: string): Promise<void>;
}

/** Files this session produced or received; browser mode serves only these for download. */
export class FileRegistry {
  readonly #files = new Set<string>();
  add(file: string): void {
    this.#files.add(path.resolve(file));
  }
  has(file: string): boolean {
    return this.#files.has(path.resolve(file));
  }
}

export interface HostContext {
  readonly version: string;
  readonly engine: Engine;
  readonly settings: SettingsStore;
  readonly models: ModelFolders;
  /** Where training runs and comparisons go when the UI names no folder. */
  readonly runsDir: string;
  readonly files: FileRegistry;
  /** Images made for the viewer (compare-models outputs): a temp folder, removed on close. */
  readonly viewsDir: string;
  /** The viewer's tile pyramids (cache files in a temp folder of their own, removed on close). */
  readonly tiles: TileCache;
  readonly dialogs: Dialogs;
  readonly shell: Shell;
  /** Browser mode: the session's upload folder; absent in Electron (files are opened by path). */
  readonly inbox?: string | undefined;
}

export type Handler<C extends RequestChannel> = (arg: unknown) => Promise<RequestResult<C>>;
export type Handlers = { readonly [C in RequestChannel]: Handler<C> };
