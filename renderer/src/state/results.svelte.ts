import type { ImageData64, ResultInfo, StudioApi } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';

/** What the result viewer shows: a finished queue item, or a result from the list. */
export interface ShownResult {
  readonly key: number | string;
  readonly name: string;
  /** The input, for the "before" pane (null when it is gone). */
  readonly path: string | null;
  readonly output: string | null;
  /** A small preview shown until the viewer's tiles arrive. */
  readonly result: ImageData64 | null;
  readonly outputSize: { readonly width: number; readonly height: number } | null;
}

export const shownOf = (r: ResultInfo): ShownResult => ({
  key: r.output,
  name: r.name,
  path: r.input,
  output: r.output,
  result: null,
  outputSize: { width: r.width, height: r.height },
});

/** The upscaled photos kept by the host across restarts (newest first), and browser mode's results folder. */
export class ResultsList {
  readonly #api: StudioApi;
  #items = $state.raw<ResultInfo[]>([]);
  #folder = $state<string | null>(null);
  #error = $state<string | null>(null);

  constructor(api: StudioApi) {
    this.#api = api;
  }

  get items(): readonly ResultInfo[] {
    return this.#items;
  }
  /** Where upscales go when no output folder is typed (browser mode); null: next to each photo. */
  get folder(): string | null {
    return this.#folder;
  }
  /** Why the list could not be read or cleared (shown in the list). */
  get error(): string | null {
    return this.#error;
  }

  async load(): Promise<void> {
    try {
      const { folder, results } = await this.#api.request('results:list', undefined);
      this.#folder = folder;
      this.#items = results;
      this.#error = null;
    } catch (e) {
      this.#error = plainError(e);
    }
  }

  /** Forgets the list; the files stay where they are. */
  async clear(): Promise<void> {
    try {
      await this.#api.request('results:clear', undefined);
      this.#items = [];
      this.#error = null;
    } catch (e) {
      this.#error = plainError(e);
    }
  }
}
