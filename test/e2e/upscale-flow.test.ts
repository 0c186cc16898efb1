/**
 * The Upscale view as a new user meets it (browser mode, default settings, Chromium at 1280×800):
 * three files that cannot be upscaled are said to be so as soon as they are dropped and are never
 * counted, the photo beside them is upscaled into the results folder the view names, the counts
 * agree with the queue, the photo dropped again is the same item, Clear leaves nothing stale, and
 * after a restart on the same data the result is listed and opens in the viewer.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { DATA, drop, e2eSuite, photo, pngSize, screenshot, until, type DropFile } from './harness.ts';
import { modelChosen } from './views.ts';

const COFFEE = path.join(DATA, 'tiny', 'coffee_64x64.png');
const suite = e2eSuite({ width: 1280, height: 800 });
const e2e = suite.test;
const row = (page: Page, name: string) =>
  page.getByTestId('queue-row').filter({ has: page.getByTestId('queue-select').getByText(name, { exact: true }) });
const text = async (page: Page, testid: string) => (await page.getByTestId(testid).innerText()).trim();
const results = () => path.join(suite.studio().dir, 'data', 'results');

/** Whether two boxes on the page overlap. */
const overlap = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('Upscale: bad files, a photo, and its result after a restart', () => {
  e2e(
    'files that cannot be upscaled say why at once and count as failed; the photo goes to the results folder; dropped again it is one item',
    150_000,
    async (page) => {
      await modelChosen(page);
      assert.equal(
        await page.getByTestId('output-default').locator('.mono').innerText(),
        results(),
        'the view names where results go',
      );

      const note: DropFile = {
        name: 'note.png',
        type: 'image/png',
        bytes: new TextEncoder().encode('This is a note, not a picture.\n'),
      };
      const dot: DropFile = {
        name: 'dot.png',
        type: 'image/png',
        bytes: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
          .png()
          .toBuffer(),
      };
      const empty: DropFile = { name: 'empty.png', type: 'image/png', bytes: new Uint8Array(0) };
      await drop(page, 'body', [note, dot, empty, await photo(COFFEE)]);
      await row(page, 'coffee_64x64.png').and(page.locator('[data-status="ready"]')).waitFor({ timeout: 30_000 });
      await until(
        'the three bad files to be marked',
        () => page.locator('[data-testid="queue-row"][data-unusable]').count(),
        (n) => n === 3,
        30_000,
      );
      const said = {
        'note.png':
          '"note.png" could not be read as an image (it is not in a supported image format); check that it is a complete JPEG, PNG, WebP, TIFF, AVIF or GIF file.',
        'dot.png': '"dot.png" is only 1×1 pixels; use an image at least 4×4 pixels.',
        'empty.png': '"empty.png" is empty (0 bytes); re-export or re-download the image.',
      };
      for (const [name, sentence] of Object.entries(said)) {
        assert.equal(
          (await row(page, name).getByTestId('queue-status').innerText()).trim(),
          'Cannot be upscaled',
          name,
        );
        assert.equal((await row(page, name).getByTestId('queue-error').innerText()).trim(), sentence);
      }
      const start = page.getByTestId('start-upscale');
      assert.equal((await start.innerText()).trim(), 'Upscale 1', 'only the photo is counted');
      await screenshot(page, 'upscale-flow-checked');

      await start.click();
      await row(page, 'coffee_64x64.png').and(page.locator('[data-status="done"]')).waitFor({ timeout: 90_000 });
      await until(
        'the summary',
        () => text(page, 'upscale-message'),
        (t) => t === '1 upscaled, 3 failed.',
        10_000,
      );
      assert.equal(await start.isDisabled(), true, 'nothing left to start');
      assert.equal((await start.innerText()).trim(), 'Upscale');
      const output = path.join(results(), 'coffee_64x64_x2.png');
      assert.equal(await text(page, 'output-path'), output);
      assert.deepEqual(pngSize(await fs.readFile(output)), { width: 128, height: 128 });
      assert.equal(await page.getByTestId('reveal-output').count(), 0, 'no "Show in folder" in browser mode');
      await page.getByTestId('output-path-copy').waitFor();

      // The viewer's layout stays as chosen when another image opens (here: the result from the list).
      await page.getByTestId('mode-side').click();
      await page.getByTestId('tab-results').click();
      await page.getByTestId('result-row').first().click();
      await page.getByTestId('pane-after').waitFor();
      assert.equal(await page.getByTestId('mode-side').getAttribute('aria-pressed'), 'true');
      await screenshot(page, 'upscale-flow-results');

      // Dropped again: the same item, ready to replace its result (never "coffee_64x64 (2)_x2.png").
      await drop(page, 'body', [await photo(COFFEE)]);
      const toast = page.getByTestId('toast').filter({ hasText: 'already in the queue' });
      await toast.waitFor({ timeout: 10_000 });
      assert.equal(
        (await toast.locator('p').innerText()).trim(),
        'coffee_64x64.png is already in the queue; it is ready to be upscaled again (tick "Replace existing outputs" to replace the earlier result).',
      );
      const [box, view] = await Promise.all([toast.boundingBox(), page.getByTestId('view-upscale').boundingBox()]);
      assert.ok(
        box && view && !overlap(box, view),
        `the toast covers none of the view: ${JSON.stringify({ box, view })}`,
      );
      await page.getByTestId('tab-queue').click();
      assert.equal(await page.getByTestId('queue-row').count(), 4);
      assert.equal((await start.innerText()).trim(), 'Upscale 1');
      await page.getByTestId('overwrite').check();
      await start.click();
      await until(
        'the batch to end',
        () => text(page, 'upscale-message'),
        (t) => t === '1 upscaled, 3 failed.' && !/^\d+%/.test(t),
        30_000,
      );
      await row(page, 'coffee_64x64.png').and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
      assert.equal(await text(page, 'output-path'), output, 'the earlier result replaced');
      assert.deepEqual(
        (await fs.readdir(results())).filter((f) => f.endsWith('.png')),
        ['coffee_64x64_x2.png'],
      );
      assert.equal(await text(page, 'tab-results'), 'Results (1)');

      // Clear leaves no stale live preview or summary.
      await page.getByTestId('clear-queue').click();
      assert.equal(await page.getByTestId('queue-row').count(), 0);
      assert.equal(await page.getByTestId('live-preview').count(), 0);
      assert.equal(await page.getByTestId('upscale-message').count(), 0);
    },
  );

  e2e('after a restart on the same data the result is listed, opens in the viewer and downloads', 150_000, async () => {
    const page = await suite.restart();
    await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
    await until(
      'the results listed',
      () => text(page, 'tab-results'),
      (t) => t === 'Results (1)',
      30_000,
    );
    await page.getByTestId('tab-results').click();
    const item = page.getByTestId('result-row');
    assert.match(await item.innerText(), /^coffee_64x64_x2\.png\n128×128 · from coffee_64x64\.png · /);
    assert.equal(await text(page, 'results-folder'), results());
    await item.click();
    const output = path.join(results(), 'coffee_64x64_x2.png');
    assert.equal(await text(page, 'output-path'), output);
    const pane = page.getByTestId('pane-after');
    await until(
      'the result drawn',
      async () => [await pane.getAttribute('data-content'), await pane.getAttribute('data-complete')],
      (v) => v[0] === '128x128' && v[1] === 'true',
      30_000,
    );
    assert.equal(await page.getByTestId('pane-before').count(), 0, 'the upload it was made from went with the restart');
    await page.getByTestId('no-before').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      page.getByTestId('save-output').click(),
    ]);
    assert.deepEqual(pngSize(await fs.readFile(await download.path())), { width: 128, height: 128 });
    await screenshot(page, 'upscale-flow-after-restart');

    await page.getByTestId('clear-history').click();
    await page.getByTestId('clear-history-note').waitFor();
    await page.getByTestId('clear-history-confirm').click();
    await until(
      'the list forgotten',
      () => page.getByTestId('result-row').count(),
      (n) => n === 0,
      10_000,
    );
    await fs.access(output);
  });
});
