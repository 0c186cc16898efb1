import { chooseLevel, coverFrom, placements, snapped, type Box, type Placement, type View } from './layout.ts';
import { pictureSource, tileStore, type TileWant, type ViewSource } from './tiles.ts';

/** One image drawn on a pane, optionally only left or right of a split (a fraction of the width). */
export interface Layer {
  readonly source: ViewSource | null;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

/** The name of the User Timing measure of each pane's draw. */
export const DRAW_MEASURE = 'sr-viewer-draw';

const pending = new Set<TileCanvas>();
// biome-ignore lint/correctness/noUnusedVariables: read by `frame ||=` below
let frame = 0;

/** All panes that need it are drawn in one animation frame, then the wanted tiles are fetched. */
function schedule(c: TileCanvas): void {
  pending.add(c);
  frame ||= requestAnimationFrame(() => {
    frame = 0;
    tileStore.frame();
    const list = [...pending];
    pending.clear();
    for (const p of list) p.draw();
    tileStore.pump();
  });
}

/**
 * A canvas the size of its pane in device pixels, showing layers of tiles through a view. Above
 * 100% the pixels are drawn as squares (nearest neighbour); below, from the pyramid level just
 * finer than the screen, smoothed. A missing tile is stood in for by the nearest coarser tile that
 * is there (or the source's preview) until it arrives.
 */
export class TileCanvas {
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  readonly #view: () => View;
  readonly #unsubscribe: () => void;
  #layers: readonly Layer[] = [];
  #wants: TileWant[] = [];
  #previews = new Map<ViewSource, ViewSource>();
  #size: [number, number] | undefined;
  /** Called after each draw with whether every tile of the right level was there. */
  onDrawn: ((complete: boolean, view: View) => void) | undefined;

  constructor(canvas: HTMLCanvasElement, view: () => View) {
    this.#canvas = canvas;
    const ctx = canvas.getContext('2d', { alpha: true });
    if (!ctx) throw new Error('This browser cannot draw images.');
    this.#ctx = ctx;
    this.#view = view;
    this.#unsubscribe = tileStore.subscribe({ wants: () => this.#wants, loaded: () => schedule(this) });
  }

  set layers(layers: readonly Layer[]) {
    this.#layers = layers;
    this.invalidate();
  }

  invalidate(): void {
    schedule(this);
  }

  destroy(): void {
    pending.delete(this);
    this.#unsubscribe();
  }

  /** The canvas's size in device pixels (its backing store is made exactly that size). */
  resize(width: number, height: number): void {
    this.#size = [Math.max(1, width), Math.max(1, height)];
    this.invalidate();
  }

  draw(): void {
    const t0 = performance.now();
    const c = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const [w, h] = this.#size ?? [
      Math.max(1, Math.round(c.clientWidth * dpr)),
      Math.max(1, Math.round(c.clientHeight * dpr)),
    ];
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = this.#ctx;
    ctx.clearRect(0, 0, w, h);
    const view = snapped(this.#view());
    const wants: TileWant[] = [];
    let complete = true;
    for (const layer of this.#layers) {
      if (!layer.source) continue;
      const area: Box = { x0: Math.round((layer.from ?? 0) * w), y0: 0, x1: Math.round((layer.to ?? 1) * w), y1: h };
      if (area.x1 <= area.x0) continue;
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.x0, area.y0, area.x1 - area.x0, area.y1 - area.y0);
      ctx.clip();
      complete = this.#drawSource(layer.source, view, area, wants) && complete;
      ctx.restore();
    }
    this.#wants = wants;
    this.onDrawn?.(complete, view);
    // A User Timing entry per draw for profilers and `npm run bench -- --mode viewer`; the
    // timeline's buffer is cleared at once so it never grows.
    performance.measure(DRAW_MEASURE, { start: t0, detail: { complete } });
    performance.clearMeasures(DRAW_MEASURE);
  }

  /** Draws one source into `area`; true when every tile it needs was there. */
  #drawSource(s: ViewSource, view: View, area: Box, wants: TileWant[]): boolean {
    const ctx = this.#ctx;
    const level = chooseLevel(s, view.scale);
    const top = s.levels - 1;
    // The one-tile top level is the stand-in of last resort: load it first.
    if (!tileStore.has(s, top, 0, 0)) wants.push({ source: s, level: top, col: 0, row: 0, priority: -1 });
    const tiles = placements(s, view, area, level);
    let complete = true;
    for (const [i, t] of tiles.entries()) {
      const bitmap = tileStore.get(s, level, t.col, t.row);
      const { x0, y0, x1, y1 } = t.dest;
      if (bitmap) {
        // Nearest neighbour when each tile pixel covers one or more screen pixels.
        ctx.imageSmoothingEnabled = x1 - x0 < t.width;
        ctx.imageSmoothingQuality = 'low';
        ctx.drawImage(bitmap, x0, y0, x1 - x0, y1 - y0);
        continue;
      }
      complete = false;
      wants.push({ source: s, level, col: t.col, row: t.row, priority: i });
      this.#standIn(s, view, t, level, wants);
    }
    return complete;
  }

  /** Fills a missing tile's place from the nearest coarser level that has it, else from the preview. */
  #standIn(s: ViewSource, view: View, t: Placement, level: number, wants: TileWant[]): void {
    const ctx = this.#ctx;
    ctx.imageSmoothingEnabled = true;
    for (let l = level + 1; l < s.levels; l++) {
      const pieces = coverFrom(s, view, t, l);
      if (!pieces.every((p) => tileStore.has(s, l, p.col, p.row))) continue;
      for (const p of pieces) {
        const b = tileStore.get(s, l, p.col, p.row)!;
        ctx.drawImage(b, p.sx, p.sy, p.sw, p.sh, p.dest.x0, p.dest.y0, p.dest.x1 - p.dest.x0, p.dest.y1 - p.dest.y0);
      }
      return;
    }
    if (!s.preview) return;
    let pic = this.#previews.get(s);
    if (!pic) this.#previews.set(s, (pic = pictureSource(s.preview)));
    const b = tileStore.get(pic, 0, 0, 0);
    if (!b) {
      wants.push({ source: pic, level: 0, col: 0, row: 0, priority: -2 });
      return;
    }
    const { x0, y0, x1, y1 } = t.dest;
    const [kx, ky] = [b.width / s.width, b.height / s.height];
    const cx0 = (x0 - view.x) / view.scale;
    const cy0 = (y0 - view.y) / view.scale;
    ctx.drawImage(
      b,
      cx0 * kx,
      cy0 * ky,
      ((x1 - x0) / view.scale) * kx,
      ((y1 - y0) / view.scale) * ky,
      x0,
      y0,
      x1 - x0,
      y1 - y0,
    );
  }
}
