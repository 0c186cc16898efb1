/** One image in a viewer; every pane is drawn at the viewer's content size so pixels line up. */
export interface Pane {
  readonly src: string | null;
  readonly label: string;
  readonly testid: string;
}
