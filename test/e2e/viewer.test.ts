/**
 * The image viewer shows the real pixels: upscale a 1600×1000 photo in browser mode (Chromium,
 * 1280×800, device pixel ratio 1), and at 1:1 the screen shows the 3200×2000 result's own pixels
 * and the input enlarged pixel for pixel beside it; at 800% each pixel is an 8×8 square; zoom and
 * pan move every pane together. A 48-megapixel result opens and pans with bounded memory in the
 * page. Screenshots of the viewer go to test-artifacts/screenshots/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { readImage } from '../../ml/node/image-io.ts';
import { resizeImage } from '../../ml/resize.ts';
import { ARTIFACTS, DATA, drag, dropAndUpscale, e2eSuite, frames, largerThan, screenshot, until } from './harness.ts';
import { modelChosen } from './views.ts';

/** A photo the tests make, in browser mode's folder (gone with it). */
const made = (name: string) => path.join(suite.studio().dir, name);
/** A real photo enlarged to 1600×1000 and saved as JPEG (q95, 4:4:4, as the training photos are). */
const PHOTO = () => made('motorcycle_1600x1000.jpg');
const LARGE_FROM = path.join(DATA, 'val/motorcycle_left.png'); // 732×492, enlarged to 4000×3000 for a 48 MP result

const TINY_X2 = 'bundled:tanhexp_x2.safetensors';
const suite = e2eSuite(
  { width: 1280, height: 800 },
  {
    async setUp() {
      await fs.mkdir(ARTIFACTS, { recursive: true }); // where a mismatch is saved
      await sharp(path.join(DATA, 'val/motorcycle_left.png'))
        .resize(1600, 1000)
        .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
        .toFile(PHOTO());
    },
  },
);
const e2e = suite.test;

interface Pixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

const rawOf = async (input: string | Buffer): Promise<Pixels> => {
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
};

/** A pane as drawn: its view (device pixels: content pixel (cx, cy) at (x + cx·scale, y + cy·scale)) and a screenshot of its canvas. */
async function paneShot(page: Page, testid: string): Promise<{ x: number; y: number; scale: number; shot: Pixels }> {
  const pane = page.getByTestId(testid);
  // A change just made is drawn in the next animation frame: let two pass, then wait for every tile.
  await frames(page);
  await page.locator(`[data-testid="${testid}"][data-complete="true"]`).waitFor({ timeout: 60_000 });
  const view = await pane.getAttribute('data-view');
  const [x, y, scale] = (view ?? '').split(' ').map(Number) as [number, number, number];
  const box = (await pane.locator('canvas').boundingBox())!;
  // The canvas is made its device-pixel size, so it sits on whole pixels: the rounded box.
  const [x0, y0] = [Math.round(box.x), Math.round(box.y)];
  const clip = { x: x0, y: y0, width: Math.round(box.x + box.width) - x0, height: Math.round(box.y + box.height) - y0 };
  const shot = await rawOf(await page.screenshot({ clip }));
  assert.equal(await pane.getAttribute('data-view'), view, 'the view did not change during the screenshot');
  return { x, y, scale, shot };
}

/**
 * Compares the screenshot with `expected(cx, cy)` at content pixels, away from the pane's label
 * (top 40 px) and rounded corners; at scales above 1 only each square's centre. Returns how many
 * values were compared and the largest difference.
 */
function compare(
  p: Awaited<ReturnType<typeof paneShot>>,
  content: { width: number; height: number },
  expected: (cx: number, cy: number, c: number) => number,
  from = 0,
  to = 1,
) {
  const { x, y, scale, shot } = p;
  let n = 0;
  let worst = 0;
  let where = '';
  const step = Math.max(1, Math.round(scale));
  for (let py = 40 + (step >> 1); py < shot.height - 8; py += step) {
    for (
      let px = Math.max(8, Math.round(from * shot.width)) + (step >> 1);
      px < Math.min(shot.width - 8, Math.round(to * shot.width));
      px += step
    ) {
      const cx = Math.floor((px - x) / scale);
      const cy = Math.floor((py - y) / scale);
      if (cx < 0 || cy < 0 || cx >= content.width || cy >= content.height) continue;
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(shot.data[(py * shot.width + px) * shot.channels + c]! - expected(cx, cy, c));
        if (d > worst) [worst, where] = [d, `screen (${px}, ${py}) = content (${cx}, ${cy})`];
        n++;
      }
    }
  }
  return { n, worst, where };
}

const at = (img: Pixels) => (cx: number, cy: number, c: number) => img.data[(cy * img.width + cx) * img.channels + c]!;

const viewOf = async (page: Page, testid: string) => (await page.getByTestId(testid).getAttribute('data-view')) ?? '';

describe('the viewer shows the real pixels', () => {
  e2e(
    '1:1 shows the 3200×2000 result’s own pixels and its input enlarged, aligned; zoom and pan stay in step',
    300_000,
    async (page) => {
      await modelChosen(page);
      // The viewer is what is tested here: the smallest bundled x2 model keeps the upscales short.
      await page.getByTestId('model-select').selectOption(TINY_X2);
      const output = await dropAndUpscale(page, PHOTO(), 'motorcycle_1600x1000.jpg', 150_000);
      assert.equal((await page.getByTestId('result-width').innerText()).trim(), '3200×2000');
      const result = await rawOf(output);
      const input = await rawOf(PHOTO());
      assert.deepEqual([result.width, result.height, input.width, input.height], [3200, 2000, 1600, 1000]);

      // Fit: the whole result in view, its percentage meaning output pixels.
      await page.locator('[data-testid="slider-view"][data-complete="true"]').waitFor({ timeout: 60_000 });
      assert.equal(await page.getByTestId('slider-view').getAttribute('data-content'), '3200x2000');
      const fit = Number((await viewOf(page, 'slider-view')).split(' ')[2]);
      assert.ok(fit > 0.1 && fit < 0.4, `fit shows a 3200-pixel-wide result at ${fit}`);
      assert.equal((await page.getByTestId('zoom-level').innerText()).trim(), `${Math.round(fit * 100)}%`);

      // Side by side at 1:1, the input enlarged by nearest neighbour: both exactly.
      await page.getByTestId('mode-side').click();
      await page.getByTestId('before-filter').selectOption('nearest');
      await page.getByTestId('zoom-100').click();
      assert.equal((await page.getByTestId('zoom-level').innerText()).trim(), '100%');
      const nearest = (cx: number, cy: number, c: number) => at(input)(cx >> 1, cy >> 1, c);
      const check = async (testid: string, expected: typeof nearest, tol: number, what: string) => {
        const p = await paneShot(page, testid);
        const r = compare(p, result, expected);
        if (r.worst > tol)
          await sharp(p.shot.data, {
            raw: { width: p.shot.width, height: p.shot.height, channels: p.shot.channels as 3 },
          })
            .png()
            .toFile(path.join(ARTIFACTS, `viewer-${testid}-mismatch.png`));
        // Every screen pixel at 1:1; each square's centre above it.
        assert.ok(r.n > 300_000 / p.scale ** 2, `${what}: enough pixels compared (${r.n})`);
        assert.ok(r.worst <= tol, `${what}: at most ${tol} apart, worst ${r.worst} at ${r.where}`);
        return p;
      };
      const a1 = await check('pane-after', at(result), 1, 'after at 1:1');
      const b1 = await check('pane-before', nearest, 0, 'before (nearest) at 1:1');
      assert.equal(a1.scale, 1);
      assert.deepEqual([b1.x, b1.y, b1.scale], [a1.x, a1.y, a1.scale], 'both panes show the same spot');
      await screenshot(page, 'viewer-1to1');

      // Bicubic is the engine's (ml/resize.ts, Pillow's) on the whole image.
      await page.getByTestId('before-filter').selectOption('bicubic');
      await until(
        'the bicubic panes',
        () => page.getByTestId('pane-before').getAttribute('data-complete'),
        (v) => v === 'true',
        30_000,
      );
      const whole = resizeImage((await readImage(PHOTO())).image, 3200, 2000);
      await check(
        'pane-before',
        (cx, cy, c) => Math.round(whole.rgb[(cy * 3200 + cx) * 3 + c]! * 255),
        1,
        'before (bicubic) at 1:1',
      );

      // Dragging one pane pans both, by exactly the drag.
      await drag(page, 'pane-before', -300, -200);
      const moved = await check('pane-after', at(result), 1, 'after, panned');
      assert.deepEqual([moved.x, moved.y], [a1.x - 300, a1.y - 200]);
      assert.equal(await viewOf(page, 'pane-before'), await viewOf(page, 'pane-after'));

      // 800%: nearest-neighbour squares of the same pixels in both panes.
      await page.getByTestId('before-filter').selectOption('nearest');
      for (let i = 0; i < 6; i++) await page.getByTestId('zoom-in').click();
      assert.equal((await page.getByTestId('zoom-level').innerText()).trim(), '800%');
      const a8 = await check('pane-after', at(result), 1, 'after at 800%');
      const b8 = await check('pane-before', nearest, 0, 'before at 800%');
      assert.deepEqual([a8.scale, b8.x, b8.y], [8, a8.x, a8.y]);
      // Squares: a pixel's 8×8 block is one colour.
      const s = a8.shot;
      const bx = a8.x + Math.ceil((8 - a8.x) / 8) * 8 + 8 * 20;
      const by = a8.y + Math.ceil((48 - a8.y) / 8) * 8;
      const px = (x: number, y: number) => [0, 1, 2].map((c) => s.data[(y * s.width + x) * s.channels + c]);
      for (let k = 0; k < 64; k++)
        assert.deepEqual(px(bx + (k % 8), by + (k >> 3)), px(bx, by), 'one colour per 8×8 square');
      // A wheel turn over one pane zooms both around the cursor.
      const box = (await page.getByTestId('pane-after').boundingBox())!;
      await page.mouse.move(box.x + 100, box.y + 120);
      await page.mouse.wheel(0, 300);
      await until(
        'the wheel zoom',
        () => viewOf(page, 'pane-after'),
        (v) => Number(v.split(' ')[2]) < 8,
        10_000,
      );
      assert.equal(await viewOf(page, 'pane-before'), await viewOf(page, 'pane-after'));
      await screenshot(page, 'viewer-800');

      // The slider: before left of the divider, after right of it, at the same view.
      await page.getByTestId('zoom-100').click();
      await page.getByTestId('mode-slider').click();
      await page.getByTestId('compare-slider').fill('50');
      const sl = await paneShot(page, 'slider-view');
      const left = compare(sl, result, nearest, 0, 0.45);
      const right = compare(sl, result, at(result), 0.55, 1);
      assert.ok(
        left.n > 100_000 && left.worst === 0,
        `slider, left: the input enlarged (worst ${left.worst} at ${left.where})`,
      );
      assert.ok(
        right.n > 100_000 && right.worst <= 1,
        `slider, right: the result (worst ${right.worst} at ${right.where})`,
      );
      await screenshot(page, 'viewer-slider');
    },
  );

  e2e('a 48-megapixel result opens and pans, the page holding only tiles', 420_000, async (page) => {
    const large = made('motorcycle_4000x3000.jpg');
    await sharp(LARGE_FROM).resize(4000, 3000).jpeg({ quality: 92 }).toFile(large);
    await page.getByTestId('model-select').selectOption(TINY_X2);
    const output = await dropAndUpscale(page, large, 'motorcycle_4000x3000.jpg', 360_000);
    assert.equal((await page.getByTestId('result-width').innerText()).trim(), '8000×6000');
    await page.locator('[data-testid="slider-view"][data-complete="true"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('mode-side').click();
    await page.getByTestId('zoom-100').click();
    await page.locator('[data-testid="pane-after"][data-complete="true"]').waitFor({ timeout: 60_000 });
    for (const [dx, dy] of [
      [-500, -300],
      [-500, -300],
      [400, -250],
      [-450, 200],
    ] as const) {
      await drag(page, 'pane-after', dx, dy);
      await page.locator('[data-testid="pane-after"][data-complete="true"]').waitFor({ timeout: 60_000 });
      await page.locator('[data-testid="pane-before"][data-complete="true"]').waitFor({ timeout: 60_000 });
    }
    // The pixels shown are the file's: compare with the same region of the output.
    const p = await paneShot(page, 'pane-after');
    const [cx0, cy0] = [Math.max(0, -p.x), Math.max(0, -p.y)];
    const region = await rawOf(
      await sharp(output, { limitInputPixels: false })
        .extract({ left: cx0, top: cy0, width: p.shot.width, height: p.shot.height })
        .png()
        .toBuffer(),
    );
    const r = compare(p, { width: 8000, height: 6000 }, (cx, cy, c) => at(region)(cx - cx0, cy - cy0, c));
    assert.ok(r.n > 300_000 && r.worst <= 1, `the 48 MP result at 1:1 after panning: worst ${r.worst} at ${r.where}`);
    // Fit again: the smaller levels, then back to 1:1.
    await page.getByTestId('zoom-fit').click();
    await page.locator('[data-testid="pane-after"][data-complete="true"]').waitFor({ timeout: 60_000 });
    await screenshot(page, 'viewer-48mp-fit');

    // Nothing in the page holds the image whole: no canvas or image above 4 megapixels, a small JS heap.
    assert.deepEqual(await largerThan(page, 4_200_000), []);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    assert.ok(heap > 0 && heap < 100 * 1024 * 1024, `the page's JS heap is ${(heap / 2 ** 20).toFixed(1)} MiB`);
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(suite.errors(), []);
  });
});
