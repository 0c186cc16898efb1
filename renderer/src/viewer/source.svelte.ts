import { untrack } from 'svelte';
import type { ImageData64, StudioApi, TileSource } from '../api/types.ts';
import { plainError } from '../lib/errors.ts';
import { pictureSource, pyramidSource, type ViewSource } from './tiles.ts';

/** What a pane shows: a file through the host's tile pyramid (with a preview to show meanwhile), or an image already in the page. */
export type SourceSpec =
  | { readonly file: TileSource; readonly preview?: ImageData64 | undefined }
  | { readonly image: ImageData64 };

const keyOf = (s: SourceSpec | null) =>
  s === null
    ? ''
    : 'file' in s
      ? JSON.stringify(s.file)
      : `${s.image.width}x${s.image.height}:${s.image.dataUrl.length}:${s.image.dataUrl.slice(-48)}`;

/**
 * A pane's source, opened again whenever `spec()` names another image; `source` is null while it
 * opens (or when it failed, with `error` saying why). Create it while a component initialises.
 */
export class OpenedSource {
  #source = $state.raw<ViewSource | null>(null);
  #error = $state<string | null>(null);

  constructor(api: StudioApi, spec: () => SourceSpec | null) {
    const key = $derived(keyOf(spec()));
    $effect(() => {
      void key;
      const s = untrack(spec);
      this.#source = null;
      this.#error = null;
      if (!s) return;
      let live = true;
      const opened = 'file' in s ? pyramidSource(api, s.file, s.preview) : Promise.resolve(pictureSource(s.image));
      opened.then(
        (v) => live && (this.#source = v),
        (e: unknown) => live && (this.#error = plainError(e)),
      );
      return () => {
        live = false;
      };
    });
  }

  get source(): ViewSource | null {
    return this.#source;
  }
  get error(): string | null {
    return this.#error;
  }
  /** For Pane.status: the error, or undefined while it opens. */
  get status(): string | undefined {
    return this.#error ?? undefined;
  }
}
