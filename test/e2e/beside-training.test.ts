/**
 * An upscale beside a training, end to end (browser mode, default settings, Chromium): a training
 * started in the Train view keeps running while the Upscale view upscales a photo at once; the
 * Train view says the training shares the CPU meanwhile, and the training goes on afterwards.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  DATA,
  drop,
  e2eTest,
  launchBrowser,
  openPage,
  photo,
  SCREENSHOTS,
  startStudio,
  until,
  type Session,
  type Studio,
} from './harness.ts';

let studio: Studio | undefined;
let browser: Browser | undefined;
let session: Session | undefined;

before(
  async () => {
    studio = await startStudio();
    browser = await launchBrowser();
    session = await openPage(browser, studio.url, { width: 1280, height: 900 });
  },
  { timeout: 200_000 },
);

after(
  async () => {
    await browser?.close().catch(() => undefined);
    await studio?.stop();
  },
  { timeout: 60_000 },
);

const state = (page: Page) => page.getByTestId('train-state').getAttribute('data-state');
const iteration = async (page: Page) =>
  Number(/iteration ([\d,]+) \//.exec(await page.getByTestId('view-train').innerText())?.[1]?.replace(/,/g, '') ?? -1);
const SHARING = /sharing the CPU with an upscale/;

describe('upscaling beside a training', () => {
  e2eTest(
    'an upscale started during a training finishes at once while the training runs on, saying it shares the CPU',
    240_000,
    () => session,
    () => studio,
    async (page) => {
      await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
      await page.getByTestId('nav-train').click();
      await page.getByTestId('train-data').fill(path.join(DATA, 'tiny'));
      await page.getByTestId('train-val').fill('');
      await page.getByTestId('train-iterations').fill('100000');
      await page.getByTestId('train-start').click();
      await until(
        'training to run',
        () => iteration(page),
        (n) => n >= 3,
        60_000,
      );

      // A photo large enough that the upscale lasts while the Train view is looked at (about 15 s here).
      await page.getByTestId('nav-upscale').click();
      await drop(page, '[data-testid="view-upscale"]', [await photo(path.join(DATA, 'val', 'motorcycle_left.png'))]);
      await page.locator('[data-testid="queue-row"][data-status="ready"]').first().waitFor({ timeout: 30_000 });
      await page.getByTestId('start-upscale').click();
      await until(
        'the upscale to run',
        () => page.getByTestId('upscale-message').innerText(),
        (t) => /Upscaling /.test(t),
        20_000,
      );

      // Meanwhile the training runs on and says it shares the CPU.
      await page.getByTestId('nav-train').click();
      await until(
        'the training to say it shares the CPU',
        () => page.getByTestId('view-train').innerText(),
        (t) => SHARING.test(t),
        20_000,
      );
      assert.equal(await state(page), 'running');
      await fs.mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'training-beside-upscale.png') });

      await page.getByTestId('nav-upscale').click();
      await page.locator('[data-testid="queue-row"][data-status="done"]').first().waitFor({ timeout: 90_000 });
      assert.doesNotMatch(await page.getByTestId('upscale-message').innerText(), /Waiting/);

      // The training goes on, no longer sharing.
      await page.getByTestId('nav-train').click();
      assert.equal(await state(page), 'running');
      const seen = await iteration(page);
      await until(
        'training to go on',
        () => iteration(page),
        (n) => n > seen,
        30_000,
      );
      await until(
        'the note to go',
        () => page.getByTestId('view-train').innerText(),
        (t) => !SHARING.test(t),
        10_000,
      );

      await page.getByTestId('train-cancel').click();
      await until(
        'the run to stop',
        () => state(page),
        (s) => s === 'stopped',
        60_000,
        250,
      );
    },
  );
});
