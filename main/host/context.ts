/** What the request handlers work with; Electron and browser mode each fill it in. */
import path from 'node:path';
import type { RequestChannel, RequestResult } from '../api.ts';
import type { TileCache } from '../../ml/node/tiles.ts';
import type { Engine } from './engine-host.ts';
import type { ModelFolders } from './models.ts';
import type { JobBook } from './job-book.ts';
import type { ResultsBook } from './results.ts';
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

/**
 * Files this session produced or received; browser mode serves only these for download. An upload
 * is also known by the name the user dropped it with, which messages show instead of its path.
 */
export class FileRegistry {
  readonly #files = new Map<string, string | undefined>();
  add(file: string, displayName?: string): void {
    this.#files.set(path.resolve(file), displayName);
  }
  has(file: string): boolean {
    return this.#files.has(path.resolve(file));
  }
  /** The name the user knows the file by: the dropped name of an upload, else its path. */
  displayName = (file: string): string => this.#files.get(path.resolve(file)) ?? file;
}

/**
 * Browser mode's upload inbox. A dropped file arrives in two steps: `files:upload` names it and
 * gives its size, `begin` checks both against the limits and answers where to PUT the bytes, and
 * the server streams that request's body to disk.
 */
export interface UploadInbox {
  /** The session's folder for uploads. */
  readonly dir: string;
  /** Reserves room for a file of `bytes` bytes named `name` (an already normalised name). */
  begin(name: string, bytes: number): { url: string };
}

export interface HostContext {
  readonly version: string;
  readonly engine: Engine;
  readonly settings: SettingsStore;
  readonly models: ModelFolders;
  /** Where training runs and comparisons go when the UI names no folder. */
  readonly runsDir: string;
  readonly files: FileRegistry;
  /** Files made for the page (compare-models outputs, models for download): a temp folder, removed on close. */
  readonly viewsDir: string;
  /** The viewer's tile pyramids (cache files in a temp folder of their own, removed on close). */
  readonly tiles: TileCache;
  readonly dialogs: Dialogs;
  readonly shell: Shell;
  /** Browser mode: the session's uploads; absent in Electron (files are opened by path). */
  readonly uploads?: UploadInbox | undefined;
  /** The jobs the engine holds, for pages that re-attach. */
  readonly jobs: JobBook;
  /** Every upscaled photo, kept across restarts (and browser mode's results folder). */
  readonly results: ResultsBook;
}

export type Access = 'read' | 'write';

/**
 * What a browser-mode request may reach (host/file-access.ts), handed to each handler with the
 * request; the desktop app passes none (there the user picks files in native dialogs).
 */
export interface RequestAccess {
  /** Whether `real` (a path with its symlinks resolved) lies in a folder the session may use for `access`. */
  admits(real: string, access: Access): boolean;
  /** The one refusal for `p`, as the request named it. */
  refusal(p: string, access: Access, field: string): Error;
  /** The folders this request chose are taken back if the job it started fails (`failed` resolves true). */
  until(failed: Promise<boolean>): void;
  /** Whether `real` may be chosen for `access` (a folder typed in the UI, granted once the request succeeds). */
  choosable(real: string, access: Access): boolean;
  /** The handler opened the chosen folder `given` and found it really is `real`: that is the folder granted. */
  chose(given: string, real: string): void;
}

export type Handler<C extends RequestChannel> = (arg: unknown, access?: RequestAccess) => Promise<RequestResult<C>>;
export type Handlers = { readonly [C in RequestChannel]: Handler<C> };
