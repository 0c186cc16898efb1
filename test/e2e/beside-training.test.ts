/**
 * An upscale beside a training, end to end (browser mode, default settings, Chromium): a training
 * started in the Train view keeps running while the Upscale view upscales a photo at once; the
 * Train view says the training shares the CPU meanwhile, and the training goes on afterwards.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DATA, drop, e2eSuite, photo, screenshot, until } from './harness.ts';
import { startTraining, stopTraining, trainedTo, trainIteration, trainState } from './views.ts';

const suite = e2eSuite({ width: 1280, height: 900 });
const SHARING = /sharing the CPU with an upscale/;

describe('upscaling beside a training', () => {
  suite.test(
    'an upscale started during a training finishes at once while the training runs on, saying it shares the CPU',
    240_000,
    async (page) => {
      await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
      await startTraining(page, path.join(DATA, 'tiny'), 100_000);
      await trainedTo(page, 3, 60_000);

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
      assert.equal(await trainState(page), 'running');
      await screenshot(page, 'training-beside-upscale');

      await page.getByTestId('nav-upscale').click();
      await page.locator('[data-testid="queue-row"][data-status="done"]').first().waitFor({ timeout: 90_000 });
      assert.doesNotMatch(await page.getByTestId('upscale-message').innerText(), /Waiting/);

      // The training goes on, no longer sharing.
      await page.getByTestId('nav-train').click();
      assert.equal(await trainState(page), 'running');
      await trainedTo(page, (await trainIteration(page)) + 1, 30_000, 'training to go on');
      await until(
        'the note to go',
        () => page.getByTestId('view-train').innerText(),
        (t) => !SHARING.test(t),
        10_000,
      );

      await stopTraining(page);
    },
  );
});
