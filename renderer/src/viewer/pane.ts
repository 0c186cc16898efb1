import type { ViewSource } from './tiles.ts';

/** One image in a viewer; every pane of a viewer shows the same content size, so pixels line up. */
export interface Pane {
  /** null while it is being prepared. */
  readonly source: ViewSource | null;
  readonly label: string;
  readonly testid: string;
  /** Shown instead of the image while there is no source (default "Loading…"). */
  readonly status?: string | undefined;
}
