import type { Attachment } from 'svelte/attachments';

const MIN = 1 / 32;
const MAX = 64;

/**
 * Zoom and pan shared by every pane of a viewer, so side-by-side panes stay in step:
 * a content pixel (cx, cy) appears at viewport (x + cx·scale, y + cy·scale).
 */
export class ViewTransform {
  #scale = $state(1);
  #x = $state(0);
  #y = $state(0);
  #fitted = $state(true);
  #cw = 1;
  #ch = 1;
  #vw = 1;
  #vh = 1;

  get scale(): number {
    return this.#scale;
  }
  get fitted(): boolean {
    return this.#fitted;
  }
  /** CSS transform for content drawn at its own pixel size, origin top-left. */
  readonly transform = $derived(`translate(${this.#x}px, ${this.#y}px) scale(${this.#scale})`);
  /** Above 100% show the pixels themselves rather than a blur. */
  readonly pixelated = $derived(this.#scale > 1);

  setContent(width: number, height: number): void {
    this.#cw = Math.max(1, width);
    this.#ch = Math.max(1, height);
    if (this.#fitted) this.fit();
  }

  setViewport(width: number, height: number): void {
    if (width < 1 || height < 1) return;
    const cx = this.#vw / 2;
    const cy = this.#vh / 2;
    this.#vw = width;
    this.#vh = height;
    if (this.#fitted) this.fit();
    else this.panBy(width / 2 - cx, height / 2 - cy);
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

  /** Zoom by `factor` keeping the content under viewport point (px, py) still. */
  zoomAt(factor: number, px: number, py: number): void {
    const next = Math.min(MAX, Math.max(MIN, this.#scale * factor));
    const k = next / this.#scale;
    this.#x = px - (px - this.#x) * k;
    this.#y = py - (py - this.#y) * k;
    this.#scale = next;
    this.#fitted = false;
  }

  panBy(dx: number, dy: number): void {
    this.#x += dx;
    this.#y += dy;
    this.#fitted = false;
  }

  /** Wheel zooms around the cursor, dragging pans, arrow keys and +/−/0 work once focused. */
  readonly control: Attachment<HTMLElement> = (el) => {
    const ro = new ResizeObserver(() => this.setViewport(el.clientWidth, el.clientHeight));
    ro.observe(el);
    const onwheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      this.zoomAt(Math.exp(-delta * 0.0015), e.clientX - r.left, e.clientY - r.top);
    };
    let last: { x: number; y: number } | null = null;
    const ondown = (e: PointerEvent) => {
      if (e.button !== 0 || (e.target as HTMLElement).closest('[data-no-pan]')) return;
      last = { x: e.clientX, y: e.clientY };
      el.setPointerCapture(e.pointerId);
    };
    const onmove = (e: PointerEvent) => {
      if (!last) return;
      this.panBy(e.clientX - last.x, e.clientY - last.y);
      last = { x: e.clientX, y: e.clientY };
    };
    const onup = () => (last = null);
    const onkey = (e: KeyboardEvent) => {
      const step = 40;
      const keys: Record<string, () => void> = {
        ArrowLeft: () => this.panBy(step, 0),
        ArrowRight: () => this.panBy(-step, 0),
        ArrowUp: () => this.panBy(0, step),
        ArrowDown: () => this.panBy(0, -step),
        '+': () => this.zoomAt(1.25, el.clientWidth / 2, el.clientHeight / 2),
        '=': () => this.zoomAt(1.25, el.clientWidth / 2, el.clientHeight / 2),
        '-': () => this.zoomAt(0.8, el.clientWidth / 2, el.clientHeight / 2),
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
    el.addEventListener('pointerdown', ondown);
    el.addEventListener('pointermove', onmove);
    el.addEventListener('pointerup', onup);
    el.addEventListener('pointercancel', onup);
    el.addEventListener('keydown', onkey);
    return () => {
      ro.disconnect();
      el.removeEventListener('wheel', onwheel);
      el.removeEventListener('pointerdown', ondown);
      el.removeEventListener('pointermove', onmove);
      el.removeEventListener('pointerup', onup);
      el.removeEventListener('pointercancel', onup);
      el.removeEventListener('keydown', onkey);
    };
  };
}
