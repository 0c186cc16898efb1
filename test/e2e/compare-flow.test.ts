/**
 * The Compare view answers "which activation is better, and does it matter?": browser mode (fresh
 * data folder, default settings) in Chromium at 1280×800 runs a very small comparison (tiny preset,
 * 20 iterations, 2 seeds, the photos in data/tiny), and the view shows the time left while it runs,
 * one mean curve per activation in two colours with a band, a legend of two entries, a verdict that
 * says whether the gap is beyond seed noise and whether it could be seen, the same crop of both
 * outputs at actual pixels, and a whole-image viewer the page scrolls past with a plain wheel.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { DATA, e2eSuite, screenshot, scrollToTop, until } from './harness.ts';

const TINY = path.join(DATA, 'tiny');
const suite = e2eSuite({ width: 1280, height: 800 });
const e2e = suite.test;

/** The Compare view's scrolling box (the page scrolls inside it, not the window). */
const scrollTop = (page: Page) =>
  page.getByTestId('view-compare').evaluate((el) => (el as unknown as { scrollTop: number }).scrollTop);
const attr = (page: Page, testid: string, name: string) => page.getByTestId(testid).getAttribute(name);
/** The number of points a path's d attribute draws through. */
const points = (d: string | null) => (d ?? '').split(/[ML]/).filter((s) => s.trim()).length;

describe('Compare view, end to end', () => {
  e2e(
    'a small comparison shows the time left, then two distinct mean curves, a two-entry legend and a verdict',
    300_000,
    async (page) => {
      await page.getByTestId('nav-compare').click();
      await page.getByTestId('compare-data').fill(TINY);
      await page.getByTestId('compare-val').fill(TINY);
      await page.getByTestId('compare-act-a').selectOption('swish');
      await page.getByTestId('compare-act-b').selectOption('tanhexp');
      await page.getByTestId('compare-preset').selectOption('tiny');
      await page.getByTestId('compare-iterations').fill('20');
      await page.getByTestId('compare-seeds').fill('2');
      await page.getByTestId('compare-start').click();

      // While it runs: the speed and the whole comparison's time left, as the Train view shows them.
      const eta = await until(
        'the time left',
        () =>
          page
            .getByTestId('compare-eta')
            .innerText()
            .catch(() => ''),
        (t) => /^ETA \d+ (s|min)/.test(t),
        120_000,
        50,
      );
      assert.match(eta, /^ETA \d/);
      assert.match(await page.getByTestId('compare-speed').innerText(), /^\d+\.\d it\/s$/);

      await page.getByTestId('compare-verdict').waitFor({ timeout: 240_000 });
      const verdict = await page.getByTestId('compare-verdict').innerText();
      // It says whether the gap is beyond seed noise (two seeds) and whether it could be seen, with the threshold.
      assert.match(verdict, /(TanhExp|Swish) is ahead by \d+\.\d{2,3} dB in validation PSNR|score the same/);
      // (20 iterations of warm-up leave the two within a thousandth of a dB: then they are called level.)
      assert.match(
        verdict,
        /spread between seeds \((paired t = \d+\.\d over 2 seeds|the same gap in each of 2 seeds)|less than 0\.001 dB apart over 2 seeds/,
      );
      assert.match(verdict, /0\.1 dB a person could see/);
      assert.match(verdict, /Differences under 0\.1 dB in PSNR are not visible in photos\./);
      assert.match(
        await page.getByTestId('compare-conclusion').innerText(),
        /^(For photos, the two are equal\.|(TanhExp|Swish) is better\.|It may be seed noise: run more seeds to know\.)$/,
      );

      // One legend entry per activation, not per seed.
      assert.equal(await page.getByTestId('compare-legend').locator('li').count(), 2);
      assert.match(await page.getByTestId('compare-legend-swish').innerText(), /^A: Swish \d+\.\d{2} dB$/);
      assert.match(await page.getByTestId('compare-legend-tanhexp').innerText(), /^B: TanhExp \d+\.\d{2} dB$/);

      // Both activations' mean curves are drawn, in different colours, B dashed so it never hides A; each has its band.
      // (20 iterations: a loss point at each, validation at iterations 10 and 20.)
      for (const [chart, least] of [
        ['compare-loss-chart', 10],
        ['compare-psnr-chart', 2],
      ] as const) {
        const [a, b] = [`${chart}-line-swish`, `${chart}-line-tanhexp`];
        assert.ok(points(await attr(page, a, 'd')) >= least, `${a}: ${await attr(page, a, 'd')}`);
        assert.ok(points(await attr(page, b, 'd')) >= least, `${b}: ${await attr(page, b, 'd')}`);
        assert.notEqual(await attr(page, a, 'stroke'), await attr(page, b, 'stroke'));
        assert.equal(await attr(page, a, 'stroke-dasharray'), null);
        assert.ok(await attr(page, b, 'stroke-dasharray'));
        for (const act of ['swish', 'tanhexp']) {
          assert.match((await attr(page, `${chart}-band-${act}`, 'd')) ?? '', /Z$/, `${chart}: ${act}'s band`);
          assert.ok(Number(await attr(page, `${chart}-band-${act}`, 'fill-opacity')) < 0.5, 'the band is translucent');
        }
      }
      assert.ok(points(await attr(page, 'compare-diff-chart-line-difference', 'd')) >= 2, 'the difference curve');
      assert.match(await page.getByTestId('compare-diff-chart-summary').innerText(), /^[+−]\d\.\d{3} dB$/);
    },
  );

  e2e('a plain wheel over the whole-image viewer scrolls the page; Ctrl + wheel zooms', 120_000, async (page) => {
    await page.locator('[data-testid="compare-pane-a"][data-complete="true"]').waitFor({ timeout: 90_000 });
    await scrollToTop(page, 'compare-whole');
    const zoom = await page.getByTestId('zoom-level').first().innerText();
    const view = await attr(page, 'compare-pane-a', 'data-view');
    const top = await scrollTop(page);
    const box = (await page.getByTestId('compare-pane-a').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 100));
    await page.mouse.wheel(0, 240);
    const after = await until(
      'the page to scroll',
      () => scrollTop(page),
      (t) => t > top,
      10_000,
    );
    assert.ok(after > top, `scrolled from ${top} to ${after}`);
    assert.equal(await page.getByTestId('zoom-level').first().innerText(), zoom, 'the zoom is unchanged');
    assert.equal(await attr(page, 'compare-pane-a', 'data-view'), view, 'the view is unchanged');
    assert.equal(await page.getByTestId('wheel-hint').first().innerText(), 'Ctrl + wheel to zoom');

    // With Ctrl held (as a trackpad pinch arrives) the wheel zooms instead, and the page stays put.
    const still = await scrollTop(page);
    const pane = (await page.getByTestId('compare-pane-a').boundingBox())!;
    await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -240);
    await page.keyboard.up('Control');
    await until(
      'the zoom',
      () => page.getByTestId('zoom-level').first().innerText(),
      (z) => z !== zoom,
      10_000,
    );
    assert.equal(await scrollTop(page), still, 'Ctrl + wheel does not scroll the page');
  });

  e2e('the same crop of both outputs side by side at actual pixels', 60_000, async (page) => {
    for (const p of ['a', 'b'])
      await page.locator(`[data-testid="compare-crop-${p}"][data-complete="true"]`).waitFor({ timeout: 30_000 });
    const [a, b] = [await attr(page, 'compare-crop-a', 'data-view'), await attr(page, 'compare-crop-b', 'data-view')];
    assert.equal(a, b, 'both crops show the same pixels');
    assert.equal(Number(a!.split(' ')[2]), 1, 'one image pixel per screen pixel');
    const [ba, bb] = [
      (await page.getByTestId('compare-crop-a').boundingBox())!,
      (await page.getByTestId('compare-crop-b').boundingBox())!,
    ];
    assert.equal(ba.y, bb.y, 'side by side');
    assert.ok(bb.x >= ba.x + ba.width, 'side by side');
    assert.equal(ba.width, bb.width);
    // The astronaut is 128×128: at actual pixels the crop is the whole image (its 1-pixel border around it).
    assert.deepEqual([ba.width, ba.height], [130, 130]);
    const canvas = await page
      .getByTestId('compare-crop-a')
      .locator('canvas')
      .evaluate((c) => {
        const el = c as unknown as { width: number; height: number };
        return [el.width, el.height];
      });
    assert.deepEqual(canvas, [128, 128], 'the canvas has one pixel per image pixel');
  });

  e2e('the Compare view, screenshotted at 1280×800', 60_000, async (page) => {
    await scrollToTop(page, 'compare-verdict');
    await screenshot(page, 'compare-flow');
    await scrollToTop(page, 'compare-whole');
    await screenshot(page, 'compare-flow-outputs');
    assert.deepEqual(suite.errors(), [], 'no uncaught errors in the page');
  });
});
