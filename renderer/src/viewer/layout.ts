/**
 * Where each tile of a pyramid goes on a pane, in device pixels. Pure geometry (no DOM), shared by
 * every pane of a viewer, so panes given the same view place the same content on the same pixels.
 *
 * The view maps content pixel (cx, cy) to device pixel (round(x) + cx·scale, round(y) + cy·scale).
 * A tile's edges are rounded to whole device pixels, and neighbouring tiles share their edges, so
 * tiles never overlap or leave gaps; at scale 1 every content pixel lands on exactly one device pixel.
 */
export interface View {
  readonly x: number;
  readonly y: number;
  readonly scale: number;
}

export interface Pyramid {
  readonly width: number;
  readonly height: number;
  readonly tileSize: number;
  readonly levels: number;
}

/** Device-pixel rectangle [x0, x1) × [y0, y1). */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface Placement {
  readonly level: number;
  readonly col: number;
  readonly row: number;
  /** Where the whole tile goes. */
  readonly dest: Box;
  /** Its size in pixels of its level. */
  readonly width: number;
  readonly height: number;
}

/** A piece of a coarser tile standing in for a missing one: source rectangle in that tile's pixels, and where it goes. */
export interface Piece {
  readonly level: number;
  readonly col: number;
  readonly row: number;
  readonly sx: number;
  readonly sy: number;
  readonly sw: number;
  readonly sh: number;
  readonly dest: Box;
}

export const levelDims = (p: Pyramid, level: number) =>
  [Math.ceil(p.width / 2 ** level), Math.ceil(p.height / 2 ** level)] as const;

/** The level whose pixels are at least as fine as the screen's: scale·2^level in [0.5, 1), or level 0 when zoomed in. */
export function chooseLevel(p: Pyramid, scale: number): number {
  const l = Math.floor(Math.log2(1 / scale) + 1e-9);
  return Math.min(p.levels - 1, Math.max(0, l));
}

/** The transform as drawn: the offset snapped to whole device pixels. */
export const snapped = (v: View): View => ({ x: Math.round(v.x), y: Math.round(v.y), scale: v.scale });

/** Content pixels per pixel of `level` (about 2^level; exactly so where the sizes divide). */
function factors(p: Pyramid, level: number): [number, number] {
  const [lw, lh] = levelDims(p, level);
  return [p.width / lw, p.height / lh];
}

function toDevice(v: View, cx0: number, cy0: number, cx1: number, cy1: number): Box {
  return {
    x0: Math.round(v.x + cx0 * v.scale),
    y0: Math.round(v.y + cy0 * v.scale),
    x1: Math.round(v.x + cx1 * v.scale),
    y1: Math.round(v.y + cy1 * v.scale),
  };
}

/** The tiles of `level` that meet `area` (device pixels), nearest the area's centre first. */
export function placements(p: Pyramid, view: View, area: Box, level: number): Placement[] {
  const v = snapped(view);
  const T = p.tileSize;
  const [lw, lh] = levelDims(p, level);
  const [fx, fy] = factors(p, level);
  const span = (a0: number, a1: number, o: number, f: number, n: number) => {
    const lo = Math.floor((a0 - o) / v.scale / f / T);
    const hi = Math.ceil((a1 - o) / v.scale / f / T);
    return [Math.max(0, lo), Math.min(Math.ceil(n / T), hi)] as const;
  };
  const [c0, c1] = span(area.x0, area.x1, v.x, fx, lw);
  const [r0, r1] = span(area.y0, area.y1, v.y, fy, lh);
  const out: Placement[] = [];
  for (let row = r0; row < r1; row++) {
    for (let col = c0; col < c1; col++) {
      const w = Math.min(T, lw - col * T);
      const h = Math.min(T, lh - row * T);
      const dest = toDevice(v, col * T * fx, row * T * fy, (col * T + w) * fx, (row * T + h) * fy);
      if (
        dest.x1 <= area.x0 ||
        dest.x0 >= area.x1 ||
        dest.y1 <= area.y0 ||
        dest.y0 >= area.y1 ||
        dest.x1 <= dest.x0 ||
        dest.y1 <= dest.y0
      )
        continue;
      out.push({ level, col, row, dest, width: w, height: h });
    }
  }
  const cx = (area.x0 + area.x1) / 2;
  const cy = (area.y0 + area.y1) / 2;
  const d = (t: Placement) => ((t.dest.x0 + t.dest.x1) / 2 - cx) ** 2 + ((t.dest.y0 + t.dest.y1) / 2 - cy) ** 2;
  return out.sort((a, b) => d(a) - d(b));
}

/** The pieces of the tiles of coarser `level` that cover tile `t`'s place. */
export function coverFrom(p: Pyramid, view: View, t: Placement, level: number): Piece[] {
  const v = snapped(view);
  const T = p.tileSize;
  const [fx, fy] = factors(p, t.level);
  const [gx, gy] = factors(p, level);
  const [lw, lh] = levelDims(p, level);
  // The tile's content rectangle, then in pixels of the coarser level.
  const [cx0, cy0, cx1, cy1] = [
    t.col * T * fx,
    t.row * T * fy,
    (t.col * T + t.width) * fx,
    (t.row * T + t.height) * fy,
  ];
  const [ax0, ay0, ax1, ay1] = [cx0 / gx, cy0 / gy, Math.min(lw, cx1 / gx), Math.min(lh, cy1 / gy)];
  const out: Piece[] = [];
  for (let row = Math.floor(ay0 / T); row * T < ay1; row++) {
    for (let col = Math.floor(ax0 / T); col * T < ax1; col++) {
      const [bx0, by0] = [Math.max(ax0, col * T), Math.max(ay0, row * T)];
      const [bx1, by1] = [Math.min(ax1, (col + 1) * T), Math.min(ay1, (row + 1) * T)];
      if (bx1 <= bx0 || by1 <= by0) continue;
      const dest = toDevice(v, bx0 * gx, by0 * gy, bx1 * gx, by1 * gy);
      out.push({ level, col, row, sx: bx0 - col * T, sy: by0 - row * T, sw: bx1 - bx0, sh: by1 - by0, dest });
    }
  }
  return out;
}
