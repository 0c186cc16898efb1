import type { Attachment } from 'svelte/attachments';
import type { View } from './layout.ts';
import { TileCanvas, type Layer } from './tile-canvas.ts';
import type { ViewTransform } from './view-transform.svelte.ts';

/**
 * A pane's drawing as Svelte sees it: attach `canvas` to a <canvas> to draw `layers()` through the
 * view, redrawn when either changes or the canvas is resized. `drawn` is what the last frame showed
 * (the view as drawn, and whether every tile it needed was there), for the pane's data attributes.
 */
export class Painter {
  #drawn = $state.raw<{ complete: boolean; view: View } | null>(null);
  readonly #view: () => ViewTransform;
  readonly #layers: () => readonly Layer[];

  constructor(view: () => ViewTransform, layers: () => readonly Layer[]) {
    this.#view = view;
    this.#layers = layers;
  }

  get drawn(): { complete: boolean; view: View } | null {
    return this.#drawn;
  }

  readonly canvas: Attachment<HTMLCanvasElement> = (el) => {
    const view = this.#view();
    const tc = new TileCanvas(el, () => ({ x: view.x, y: view.y, scale: view.scale }));
    tc.onDrawn = (complete, v) => {
      const d = this.#drawn;
      if (!d || d.complete !== complete || d.view.x !== v.x || d.view.y !== v.y || d.view.scale !== v.scale)
        this.#drawn = { complete, view: v };
    };
    // The canvas's own size in device pixels, so that it is drawn on the screen pixel for pixel.
    const ro = new ResizeObserver(([e]) => {
      const device = e?.devicePixelContentBoxSize?.[0];
      if (device) tc.resize(device.inlineSize, device.blockSize);
      else if (e)
        tc.resize(
          Math.round(e.contentRect.width * devicePixelRatio),
          Math.round(e.contentRect.height * devicePixelRatio),
        );
    });
    try {
      ro.observe(el, { box: 'device-pixel-content-box' });
    } catch {
      ro.observe(el);
    }
    const stop = $effect.root(() => {
      $effect(() => {
        tc.layers = this.#layers();
      });
      $effect(() => {
        void [view.x, view.y, view.scale];
        tc.invalidate();
      });
    });
    return () => {
      stop();
      ro.disconnect();
      tc.destroy();
    };
  };
}
