import type { Attachment } from 'svelte/attachments';
import { pageScrollsAround, wheelZooms } from './wheel.ts';

/** Zoom levels the +/− buttons and keys step through (1 = one image pixel per screen pixel). */
export const ZOOM_STEPS = [
  1 / 64,
  1 / 32,
  1 / 16,
  1 / 12,
  1 / 8,
  1 / 6,
  1 / 4,
  1 / 3,
  1 / 2,
  2 / 3,
  1,
  1.5,
  2,
  3,
  4,
  6,
  8,
  12,
  16,
  24,
  32,
  48,
  64,
];
const MIN = ZOOM_STEPS[0]!;
const MAX = ZOOM_STEPS.at(-1)!;

/**
 * Zoom and pan shared by every pane of a viewer, so side-by-side panes stay in step. Everything is
 * in device pixels (CSS pixels × devicePixelRatio), so scale 1 shows each image pixel on exactly
 * one screen pixel: content pixel (cx, cy) appears at device pixel (x + cx·scale, y + cy·scale) of
 * each pane.
 */
export class ViewTransform {
  #scale = $state(1);
  #x = $state(0);
  #y = $state(0);
  #fitted = $state(true);
  #wheelScrolls = $state(false);
  #cw = 1;
  #ch = 1;
  #vw = 1;
  #vh = 1;

  get scale(): number {
    return this.#scale;
  }
  get x(): number {
    return this.#x;
  }
  get y(): number {
    return this.#y;
  }
  get fitted(): boolean {
    return this.#fitted;
  }
  /** A plain wheel over the panes scrolls the page around them (Ctrl/⌘ + wheel zooms): say so. */
  get wheelScrollsPage(): boolean {
    return this.#wheelScrolls;
  }

  setContent(width: number, height: number): void {
    this.#cw = Math.max(1, width);
    this.#ch = Math.max(1, height);
    if (this.#fitted) this.fit();
  }

  /** The panes' size in CSS pixels and the screen's devicePixelRatio. */
  setViewport(cssWidth: number, cssHeight: number, dpr = 1): void {
    if (cssWidth < 1 || cssHeight < 1) return;
    const [width, height] = [Math.round(cssWidth * dpr), Math.round(cssHeight * dpr)];
    const cx = this.#vw / 2;
    const cy = this.#vh / 2;
    this.#vw = width;
    this.#vh = height;
    if (this.#fitted) this.fit();
    else if (cx !== width / 2 || cy !== height / 2) this.#move(this.#x + width / 2 - cx, this.#y + height / 2 - cy);
  }

  /** Fit the whole image in the viewport, centred. */
  fit(): void {
    const s = Math.min(this.#vw / this.#cw, this.#vh / this.#ch);
    this.#scale = Math.min(MAX, Math.max(MIN, s));
    this.#x = (this.#vw - this.#cw * this.#scale) / 2;
    this.#y = (this.#vh - this.#ch * this.#scale) / 2;
    this.#fitted = true;
  }

  /** Zoom to `scale` keeping the viewport centre still (1 = actual pixels). */
  zoomTo(scale: number): void {
    this.zoomAt(scale / this.#scale, this.#vw / 2, this.#vh / 2);
  }

  /** To the next zoom step up (+1) or down (−1), keeping the point (px, py) still (default: the centre). */
  zoomStep(direction: 1 | -1, px = this.#vw / 2, py = this.#vh / 2): void {
    const s = this.#scale;
    const next =
      direction > 0 ? ZOOM_STEPS.find((z) => z > s * 1.001) : [...ZOOM_STEPS].reverse().find((z) => z < s / 1.001);
    this.zoomAt((next ?? s) / s, px, py);
  }

  /** Zoom by `factor` keeping the content under viewport point (px, py), in device pixels, still. */
  zoomAt(factor: number, px: number, py: number): void {
    const next = Math.min(MAX, Math.max(MIN, this.#scale * factor));
    const k = next / this.#scale;
    this.#scale = next;
    this.#move(px - (px - this.#x) * k, py - (py - this.#y) * k);
  }

  /** Pan by device pixels. */
  panBy(dx: number, dy: number): void {
    this.#move(this.#x + dx, this.#y + dy);
  }

  /** Keeps some of the image in view: it can be pushed to the edge but not out of sight. */
  #move(x: number, y: number): void {
    const w = this.#cw * this.#scale;
    const h = this.#ch * this.#scale;
    const keep = (v: number, size: number, view: number) => {
      const margin = Math.min(size, view) / 2;
      return Math.min(view - margin, Math.max(margin - size, v));
    };
    this.#x = keep(x, w, this.#vw);
    this.#y = keep(y, h, this.#vh);
    this.#fitted = false;
  }

  /**
   * Wheel zooms around the cursor (in a page that scrolls: with Ctrl/⌘ or once focused, see
   * wheel.ts), dragging pans, arrow keys, +/−, 0 (fit) and 1 (1:1) work once focused.
   */
  readonly control: Attachment<HTMLElement> = (el) => {
    const dpr = () => window.devicePixelRatio || 1;
    const place = () => ({ focused: document.activeElement === el, pageScrolls: pageScrollsAround(el) });
    const judge = () => {
      const p = place();
      this.#wheelScrolls = p.pageScrolls && !p.focused;
      return p;
    };
    const ro = new ResizeObserver(() => {
      this.setViewport(el.clientWidth, el.clientHeight, dpr());
      judge();
    });
    ro.observe(el);
    const at = (e: { clientX: number; clientY: number }) => {
      const r = el.getBoundingClientRect();
      return [(e.clientX - r.left) * dpr(), (e.clientY - r.top) * dpr()] as const;
    };
    const onwheel = (e: WheelEvent) => {
      // Left alone, the event scrolls the page.
      if (!wheelZooms(e, judge())) return;
      e.preventDefault();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      this.zoomAt(Math.exp(-delta * 0.0015), ...at(e));
    };
    let last: { x: number; y: number } | null = null;
    const ondown = (e: PointerEvent) => {
      if (e.button !== 0 || (e.target as HTMLElement).closest('[data-no-pan]')) return;
      last = { x: e.clientX, y: e.clientY };
      el.setPointerCapture(e.pointerId);
    };
    const onmove = (e: PointerEvent) => {
      if (!last) return;
      this.panBy((e.clientX - last.x) * dpr(), (e.clientY - last.y) * dpr());
      last = { x: e.clientX, y: e.clientY };
    };
    const onup = () => (last = null);
    const onkey = (e: KeyboardEvent) => {
      const step = 40 * dpr();
      const keys: Record<string, () => void> = {
        ArrowLeft: () => this.panBy(step, 0),
        ArrowRight: () => this.panBy(-step, 0),
        ArrowUp: () => this.panBy(0, step),
        ArrowDown: () => this.panBy(0, -step),
        '+': () => this.zoomStep(1),
        '=': () => this.zoomStep(1),
        '-': () => this.zoomStep(-1),
        '0': () => this.fit(),
        '1': () => this.zoomTo(1),
      };
      const action = keys[e.key];
      if (action && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        action();
      }
    };
    el.addEventListener('wheel', onwheel, { passive: false });
    el.addEventListener('pointerenter', judge);
    el.addEventListener('focus', judge);
    el.addEventListener('blur', judge);
    el.addEventListener('pointerdown', ondown);
    el.addEventListener('pointermove', onmove);
    el.addEventListener('pointerup', onup);
    el.addEventListener('pointercancel', onup);
    el.addEventListener('keydown', onkey);
    return () => {
      ro.disconnect();
      el.removeEventListener('wheel', onwheel);
      el.removeEventListener('pointerenter', judge);
      el.removeEventListener('focus', judge);
      el.removeEventListener('blur', judge);
      el.removeEventListener('pointerdown', ondown);
      el.removeEventListener('pointermove', onmove);
      el.removeEventListener('pointerup', onup);
      el.removeEventListener('pointercancel', onup);
      el.removeEventListener('keydown', onkey);
    };
  };
}
