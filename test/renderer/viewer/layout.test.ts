/**
 * The viewer's tile geometry (renderer/src/viewer/layout.ts, plain TypeScript): the level for a
 * zoom, and where tiles go on a pane, checked by counting how often each device pixel is covered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseLevel,
  coverFrom,
  levelDims,
  placements,
  type Box,
  type Pyramid,
  type View,
} from '../../../renderer/src/viewer/layout.ts';

const pyramid = (width: number, height: number, tileSize = 512): Pyramid => ({
  width,
  height,
  tileSize,
  levels: 1 + Math.max(0, Math.ceil(Math.log2(Math.max(width, height) / tileSize))),
});

/** How many times each pixel of `area` is covered by the boxes. */
function coverage(boxes: readonly Box[], area: Box): Int32Array {
  const w = area.x1 - area.x0;
  const counts = new Int32Array(w * (area.y1 - area.y0));
  for (const b of boxes) {
    for (let y = Math.max(b.y0, area.y0); y < Math.min(b.y1, area.y1); y++) {
      for (let x = Math.max(b.x0, area.x0); x < Math.min(b.x1, area.x1); x++)
        counts[(y - area.y0) * w + x - area.x0]!++;
    }
  }
  return counts;
}

/** The device pixels the image covers in `area` under the view (its edges rounded as the tiles' are). */
function imageBox(p: Pyramid, v: View): Box {
  const [x, y] = [Math.round(v.x), Math.round(v.y)];
  return { x0: x, y0: y, x1: Math.round(x + p.width * v.scale), y1: Math.round(y + p.height * v.scale) };
}

function assertCoveredOnce(p: Pyramid, view: View, area: Box, level: number): void {
  const tiles = placements(p, view, area, level);
  const counts = coverage(
    tiles.map((t) => t.dest),
    area,
  );
  const img = imageBox(p, view);
  const w = area.x1 - area.x0;
  for (let y = area.y0; y < area.y1; y++) {
    for (let x = area.x0; x < area.x1; x++) {
      const inside = x >= img.x0 && x < img.x1 && y >= img.y0 && y < img.y1;
      assert.equal(
        counts[(y - area.y0) * w + x - area.x0],
        inside ? 1 : 0,
        `(${x}, ${y}) at scale ${view.scale}, level ${level}`,
      );
    }
  }
}

test('the level is the one just finer than the screen, never past the last', () => {
  const p = pyramid(8000, 6000); // levels 0–4
  assert.equal(p.levels, 5);
  assert.deepEqual(
    [64, 8, 1, 0.75, 0.51, 0.5, 0.3, 0.25, 0.1, 0.06, 0.01].map((s) => chooseLevel(p, s)),
    [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 4],
  );
  assert.deepEqual(levelDims(pyramid(1001, 777), 2), [251, 195]);
});

test('at 1:1 each content pixel lands on one device pixel, at the snapped offset', () => {
  const p = pyramid(3200, 2000);
  const area: Box = { x0: 0, y0: 0, x1: 700, y1: 500 };
  const view: View = { x: -1418.4, y: -668.6, scale: 1 };
  const tiles = placements(p, view, area, 0);
  for (const t of tiles) {
    assert.equal(t.dest.x1 - t.dest.x0, t.width);
    assert.equal(t.dest.y1 - t.dest.y0, t.height);
    assert.deepEqual([t.dest.x0, t.dest.y0], [-1418 + t.col * 512, -669 + t.row * 512]);
  }
  // Content x 1418..2117 and y 669..1168: columns 2–4, rows 1–2; nearest the centre first.
  assert.deepEqual(tiles.map((t) => `${t.col},${t.row}`).sort(), ['2,1', '2,2', '3,1', '3,2', '4,1', '4,2']);
  assert.deepEqual([tiles[0]!.col, tiles[0]!.row], [3, 1]);
  assertCoveredOnce(p, view, area, 0);
});

test('at any zoom and level, tiles cover the image once, with no gaps or overlaps', () => {
  for (const [w, h, T] of [
    [3200, 2000, 512],
    [1001, 777, 128],
    [8000, 6000, 512],
    [130, 70, 64],
  ] as const) {
    const p = pyramid(w, h, T);
    for (const scale of [13.7, 8, 2.37, 1, 0.731, 0.5, 0.333, 0.2, 0.04]) {
      const area: Box = { x0: 0, y0: 0, x1: 240, y1: 160 };
      const centre = { x: 120 - (w / 2) * scale + 0.3, y: 80 - (h / 3) * scale - 0.6 };
      for (const view of [
        { ...centre, scale },
        { x: 17.2, y: -9.9, scale },
      ]) {
        const level = chooseLevel(p, scale);
        assertCoveredOnce(p, view, area, level);
        // A coarser level covers the same pixels the same way (what stands in for missing tiles).
        if (level + 1 < p.levels) assertCoveredOnce(p, view, area, level + 1);
      }
    }
  }
  // Only part of the pane (one side of the slider): tiles meeting it, nothing beyond.
  const p = pyramid(3200, 2000);
  const half: Box = { x0: 300, y0: 0, x1: 700, y1: 500 };
  const tiles = placements(p, { x: -1000, y: -500, scale: 1 }, half, 0);
  assert.ok(tiles.every((t) => t.dest.x1 > 300));
  assertCoveredOnce(p, { x: -1000, y: -500, scale: 1 }, half, 0);
});

test('a missing tile is stood in for by pieces of a coarser level that fill exactly its place', () => {
  for (const [w, h] of [
    [3200, 2000],
    [1001, 777],
  ] as const) {
    const p = pyramid(w, h, 128);
    const view: View = { x: 3.4, y: -20.2, scale: 0.81 };
    const area: Box = { x0: 0, y0: 0, x1: 300, y1: 200 };
    for (const t of placements(p, view, area, 0)) {
      for (let level = 1; level < p.levels; level++) {
        const pieces = coverFrom(p, view, t, level);
        assert.ok(pieces.length >= 1 && pieces.length <= 4);
        const [lw, lh] = levelDims(p, level);
        for (const q of pieces) {
          const tw = Math.min(128, lw - q.col * 128);
          const th = Math.min(128, lh - q.row * 128);
          assert.ok(q.sx >= 0 && q.sy >= 0 && q.sx + q.sw <= tw + 1e-9 && q.sy + q.sh <= th + 1e-9, JSON.stringify(q));
        }
        const counts = coverage(
          pieces.map((q) => q.dest),
          t.dest,
        );
        assert.ok(
          counts.every((c) => c === 1),
          `tile ${t.col},${t.row} from level ${level}: each pixel once`,
        );
      }
    }
  }
});
