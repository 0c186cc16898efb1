/**
 * The Settings, Models and Train views as a new user finds them (browser mode, fresh data folder,
 * default settings, Chromium at 1280×800): Save answers and saves after the thread field was typed
 * in and emptied; the Models table and its toasts fit the window; the Iterations field says what
 * is wrong at the field and takes any whole number; a stopped run continues with its curves and
 * is listed as training at once, a reload during it opens Train, and a finished run trains
 * further; Perceptual asks its adversarial weight and trains a short run on ONNX Runtime under
 * auto, whose model is listed as sharp. Screenshots of the three views (and of the perceptual run)
 * go to test-artifacts/screenshots/.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { probeOnnxRuntime } from '../../ml/node/onnx-runtime.ts';
import { DATA, e2eSuite, screenshot, until } from './harness.ts';
import { trainedTo, trainingEnded } from './views.ts';

/** The app's accent (--accent in app.css), as computed styles give it. */
const ACCENT = 'rgb(242, 163, 58)';
const TINY = path.join(DATA, 'tiny');
/** A user model named as a run's model is: long, without spaces. */
const LONG_NAME = 'tiny_x2_tanhexp_p48b16_it600_s0_20250101-120000_model_best_copy';

const suite = e2eSuite(
  { width: 1280, height: 800 },
  {
    setUp: (studio) =>
      fs.copyFile(
        path.join(studio.models, 'e2e_tiny_x2.safetensors'),
        path.join(studio.models, `${LONG_NAME}.safetensors`),
      ),
  },
);
const e2e = suite.test;

/** The page's window, typed here because this project's TypeScript has no DOM library. */
type PageWindow = { innerWidth: number; getComputedStyle(e: unknown): { backgroundColor: string } };

/** How far the element reaches past the window and past its own box (0, 0 when it fits). */
const overflow = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((el) => {
      const r = el.getBoundingClientRect();
      return {
        right: Math.max(0, Math.ceil(r.right - (globalThis as unknown as PageWindow).innerWidth)),
        inside: Math.max(0, el.scrollWidth - el.clientWidth),
      };
    });

const runRow = (page: Page) => page.getByTestId('run-row').first();
const chart = async (page: Page, testid: string) => {
  const c = page.getByTestId(testid);
  return { points: Number(await c.getAttribute('data-points')), first: Number(await c.getAttribute('data-x-first')) };
};

describe('Settings, Models and Train at 1280×800', () => {
  e2e(
    'Settings: Save after typing in the thread field and emptying it saves auto and the new folder, and says so',
    90_000,
    async (page) => {
      await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
      await page.getByTestId('nav-settings').click();
      await page.getByTestId('settings-probes').waitFor({ timeout: 60_000 });
      const out = path.join(suite.studio().dir, 'upscaled');
      await fs.mkdir(out);
      await page.getByTestId('settings-threads').fill('2');
      await page.getByTestId('settings-threads').fill('');
      await page.getByTestId('settings-output').fill(out);
      await page.getByTestId('settings-save').click();
      await page.getByTestId('settings-saved').waitFor({ timeout: 10_000 });
      const saved = JSON.parse(await fs.readFile(path.join(suite.studio().dir, 'data', 'settings.json'), 'utf8'));
      assert.equal(saved.outputDir, out);
      assert.equal(saved.threads, null);
      assert.deepEqual(suite.errors(), [], 'no page errors');

      // Each backend's device is said once (a software GPU adapter's long line included).
      const text = await page.getByTestId('view-settings').innerText();
      for (const name of ['webgpu', 'onnx', 'wasm']) {
        const row = page.getByTestId(`probe-${name}`);
        if ((await row.getAttribute('data-available')) !== 'true' || (await row.getAttribute('data-gpu')) === 'true')
          continue;
        const device = (await row.locator('td').nth(2).innerText()).split('\n')[0]!.trim();
        if (name === 'webgpu') assert.equal(text.split(device).length - 1, 1, `${device} once in:\n${text}`);
      }
      await screenshot(page, 'settings-1280');
    },
  );

  e2e(
    'Models: the table fits the window with a long-named model, and the Show toast fits on screen',
    60_000,
    async (page) => {
      await page.getByTestId('nav-models').click();
      await page.getByTestId('model-row').filter({ hasText: LONG_NAME }).waitFor({ timeout: 10_000 });
      assert.deepEqual(
        await overflow(page, '[data-testid="view-models"]'),
        { right: 0, inside: 0 },
        'no sideways scrolling',
      );
      const width = await page.evaluate(() => (globalThis as unknown as PageWindow).innerWidth);
      for (const box of await page
        .getByRole('button', { name: /^Show / })
        .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right))) {
        assert.ok(box <= width, `a Show button reaches ${box} px of ${width}`);
      }
      assert.match(
        await page
          .getByTestId('model-row')
          .filter({ hasText: 'tanhexp_x2' })
          .first()
          .getByTestId('model-size')
          .innerText(),
        /^Tiny$/,
      );
      await screenshot(page, 'models-1280');
      await page.getByRole('button', { name: `Show ${LONG_NAME} in its folder` }).click();
      const toast = page.getByTestId('toast').filter({ hasText: LONG_NAME });
      await toast.waitFor({ timeout: 10_000 });
      assert.deepEqual(
        await overflow(page, '[data-testid="toast"] >> nth=-1'),
        { right: 0, inside: 0 },
        'the whole message is inside its box and the window',
      );
      await toast.getByRole('button', { name: 'Dismiss message' }).click();
    },
  );

  e2e(
    'Train: each bad Iterations value gets its own sentence at the field; 105 is taken; disabled buttons look it; legends wait for the pointer',
    60_000,
    async (page) => {
      await page.getByTestId('nav-train').click();
      const start = page.getByTestId('train-start');
      const background = () =>
        start.evaluate((b) => (globalThis as unknown as PageWindow).getComputedStyle(b).backgroundColor);
      assert.equal(await start.isDisabled(), true);
      assert.notEqual(await background(), ACCENT, 'a disabled Start is not the accent colour');
      assert.doesNotMatch(await page.getByTestId('loss-chart').innerText(), /--/, 'no "--" in the legend');

      await page.getByTestId('train-data').fill(TINY);
      for (const [typed, sentence] of [
        ['-5', /^Iterations must be at least 1, not -5\.$/],
        ['0', /^Iterations must be at least 1, not 0\.$/],
        ['abc', /^Iterations must be a number, not "abc"\.$/],
      ] as const) {
        await page.getByTestId('train-iterations').fill(typed);
        assert.match(await page.getByTestId('train-iterations-error').innerText(), sentence);
        assert.equal(await page.getByTestId('train-data-hint').count(), 0, 'the folder is there: no word about it');
        assert.equal(await start.isDisabled(), true);
      }
      await page.getByTestId('train-iterations').fill('105');
      assert.equal(await page.getByTestId('train-iterations-error').count(), 0);
      assert.equal(
        await page
          .getByTestId('train-iterations')
          .evaluate((i) => (i as unknown as { validity: { valid: boolean } }).validity.valid),
        true,
      );
      assert.equal(await start.isDisabled(), false);
      assert.equal(await background(), ACCENT);
    },
  );

  e2e(
    'a stopped run continues with its curves and is listed as training at once; a reload opens Train; a finished run trains further',
    420_000,
    async (page) => {
      await page.getByTestId('nav-train').click();
      await page.getByTestId('train-data').fill(TINY);
      await page.getByTestId('train-val').fill(TINY);
      await page.getByTestId('train-iterations').fill('100');
      await page.getByTestId('train-start').click();
      await until(
        'a few validations',
        () => chart(page, 'psnr-chart'),
        (c) => c.points >= 3,
        180_000,
        250,
      );
      await page.getByTestId('nav-busy-train').waitFor({ timeout: 5000 });
      await page.getByTestId('train-cancel').click();
      assert.equal(await trainingEnded(page, 60_000), 'stopped');
      await until(
        'the run listed as stopped',
        () => runRow(page).getAttribute('data-state'),
        (s) => s === 'stopped',
        10_000,
      );
      const stoppedAt = Number(
        /at ([\d,]+)/.exec(await runRow(page).getByTestId('run-state').innerText())![1]!.replace(/,/g, ''),
      );

      await runRow(page).getByTestId('run-continue').click();
      // Listed as training before any Refresh, and the charts start with what the run recorded.
      await until(
        'the run listed as training',
        () => runRow(page).getAttribute('data-state'),
        (s) => s === 'running',
        3000,
        50,
      );
      const loss = await until(
        'the recorded losses',
        () => chart(page, 'loss-chart'),
        (c) => c.points > 1,
        10_000,
      );
      assert.ok(loss.first <= 10, `the loss chart starts at iteration ${loss.first}, not after ${stoppedAt}`);
      assert.ok((await chart(page, 'psnr-chart')).points >= 3, 'every validation so far');
      await trainedTo(page, stoppedAt + 1, 60_000, 'the continue to train');

      await page.reload();
      await page.getByTestId('view-train').waitFor({ timeout: 30_000 });
      await page.getByTestId('nav-busy-train').waitFor({ timeout: 10_000 });
      // The reloaded page asks for what the run recorded (runs:metrics) while live points arrive: it
      // shows the whole run once that answer is in.
      await until(
        'the reloaded page to show the whole run',
        () => chart(page, 'loss-chart'),
        (c) => c.points > 1 && c.first <= 10,
        10_000,
      );
      assert.equal(await trainingEnded(page, 240_000), 'finished');
      await screenshot(page, 'train-1280');
      await until(
        'the run listed as finished',
        () => runRow(page).getAttribute('data-state'),
        (s) => s === 'finished',
        10_000,
      );
      assert.equal(await page.getByTestId('nav-busy-train').count(), 0);

      await runRow(page).getByTestId('run-further-iterations').fill('100');
      assert.match(
        await runRow(page).getByTestId('run-further-error').innerText(),
        /^Iterations must be at least 101, not 100\.$/,
      );
      await runRow(page).getByTestId('run-further-iterations').fill('120');
      await runRow(page).getByTestId('run-further').click();
      assert.equal(await trainingEnded(page, 180_000), 'finished');
      assert.match(await page.getByTestId('view-train').innerText(), /iteration 120 \/ 120/);
      await until(
        'the run listed with its new end',
        () => runRow(page).innerText(),
        (t) => /120 \/ 120/.test(t),
        10_000,
      );
      assert.equal(await page.getByTestId('run-row').count(), 1, 'trained further in its own folder');
    },
  );

  e2e(
    'Train: Perceptual asks its adversarial weight, and a short run on auto reaches the engine on ONNX Runtime; its model is listed as sharp',
    180_000,
    async (page) => {
      await page.getByTestId('nav-train').click();
      assert.equal(await page.getByTestId('train-adv-weight').count(), 0, 'pixel error asks no weight');
      await page.getByTestId('train-objective').selectOption('perceptual');
      assert.match(
        await page.getByTestId('train-objective-hint').innerText(),
        /usually starts from a trained model \(Start from\), and runs on ONNX Runtime\. Learning rate 0\.0001; adversarial weight 0\.001 to 10\./,
      );
      assert.equal(await page.getByTestId('train-adv-weight').inputValue(), '0.1');
      await page.getByTestId('train-data').fill(TINY);
      await page.getByTestId('train-val').fill(TINY);
      await page.getByTestId('train-iterations').fill('12');
      await page.getByTestId('train-adv-weight').fill('20');
      assert.equal(
        await page.getByTestId('train-adv-weight-error').innerText(),
        'Adversarial weight can be at most 10, not 20.',
      );
      assert.equal(await page.getByTestId('train-start').isDisabled(), true);
      await page.getByTestId('train-adv-weight').fill('0.2');
      await page.getByTestId('train-start').click();

      const how = await trainingEnded(page, 150_000);
      if (!(await probeOnnxRuntime()).ok) {
        // Without ONNX Runtime, auto's pick for the objective cannot start, and the page says which backend.
        assert.equal(how, 'failed');
        assert.match(await page.getByTestId('train-error').innerText(), /The onnx backend could not start/);
        return;
      }
      assert.equal(how, 'finished', await page.getByTestId('view-train').innerText());
      assert.match(
        await page.getByTestId('train-done').innerText(),
        /the model is the latest validated weights: iteration 12, validation PSNR-Y [\d.]+ dB, detail [\d.]+\./,
      );
      assert.match(
        await page.getByTestId('psnr-chart-summary').innerText(),
        /^\d+\.\d{2} dB vs bicubic \d+\.\d{2} dB; detail \d+\.\d{3}$/,
      );
      const row = page.getByTestId('run-row').filter({ hasText: '_perceptual_' });
      await until(
        'the run listed as finished',
        () => row.getAttribute('data-state'),
        (s) => s === 'finished',
        10_000,
      );
      assert.equal(await row.getByTestId('run-objective').innerText(), 'Perceptual (sharp), adversarial weight 0.2');
      const config = JSON.parse(
        await fs.readFile(
          path.join(suite.studio().dir, 'data', 'runs', (await row.getAttribute('data-run'))!, 'config.json'),
          'utf8',
        ),
      );
      assert.deepEqual([config.objective, config.advWeight], ['perceptual', 0.2]);
      await screenshot(page, 'train-perceptual-1280');

      await page.getByTestId('train-add-model').click();
      await page.getByTestId('train-export').waitFor({ timeout: 30_000 });
      await page.getByTestId('nav-models').click();
      const sharp = page.locator('[data-testid="model-objective"][data-objective="perceptual"]');
      await sharp.waitFor({ timeout: 10_000 });
      assert.equal(await sharp.count(), 1);
      assert.equal(await sharp.innerText(), 'sharp (perceptual)');
      assert.equal(
        await page
          .getByTestId('model-row')
          .filter({ hasText: 'tanhexp_photo_x2' })
          .first()
          .getByTestId('model-objective')
          .innerText(),
        'faithful (pixel error)',
      );
      const id = await page.getByTestId('model-row').filter({ has: sharp }).getAttribute('data-model-id');
      await page.getByTestId('nav-upscale').click();
      const options = page.getByTestId('model-select').locator('option');
      assert.match(await options.filter({ hasText: '· sharp' }).innerText(), / · sharp · ×2 · tanhexp$/);
      assert.equal(await options.filter({ hasText: '· sharp' }).getAttribute('value'), id);
      assert.match(
        await page
          .getByTestId('model-select')
          .locator('option[value="bundled:tanhexp_photo_x2.safetensors"]')
          .innerText(),
        / · faithful · default · ×2 · tanhexp$/,
      );
    },
  );
});
