/**
 * The app end to end, as a user meets it: browser mode (`main/server/cli.ts` with default settings,
 * the real engine on the backends auto picks) in Debian's Chromium driven by playwright-core. Photos are dropped onto the window, jobs
 * run for real on small data, and every view is screenshotted into test-artifacts/screenshots/.
 * One page (1024×700) carries the Upscale → Train → Compare → screenshots story; a second
 * (1280×800) takes the bad inputs. A failed test leaves its screenshot, the page's console and the
 * server's output in test-artifacts/e2e/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  colourCounts,
  DATA,
  drop,
  e2eSuite,
  liveCanvases,
  photo,
  pngSize,
  screenshot as saveScreenshot,
  scrollToTop,
  trainPreviews,
  until,
  type DropFile,
} from './harness.ts';
import { modelChosen } from './views.ts';

const COFFEE = path.join(DATA, 'val/coffee.png'); // 600×396
const TINY = path.join(DATA, 'tiny');
const MOTORCYCLE = path.join(DATA, 'tiny/motorcycle_200x150.png');
const TANHEXP: [number, number, number] = [0xf2, 0x8e, 0x2b]; // ACTIVATION_COLORS in renderer/src/lib/choices.ts
const SWISH: [number, number, number] = [0x4e, 0x79, 0xa7];
/**
 * The engine previews a training run every 100 iterations and at its end (ml/train/config.ts), so
 * 110 is the shortest run whose preview changes during training.
 */
const TRAIN_ITERATIONS = 110;
const STACK = /\n|\bat .+:\d+:\d+|\b(?:Type|Reference|Range)?Error:|node:internal|\.ts:\d+/;

/** The Upscale → Train → Compare → screenshots story, on one page. */
const suite = e2eSuite({ width: 1024, height: 700 });
const studio = () => suite.studio();
/** The bad inputs, on a second page. */
const onSecond = suite.on({ width: 1280, height: 800 });

const row = (page: Page, name: string) =>
  page.getByTestId('queue-row').filter({ has: page.getByTestId('queue-select').getByText(name, { exact: true }) });

/** Waits until the row has finished one way or the other, and returns its status. */
async function finished(page: Page, name: string, timeoutMs: number): Promise<string | null> {
  const r = row(page, name);
  await r.and(page.locator('[data-status="done"], [data-status="error"]')).waitFor({ timeout: timeoutMs });
  return r.getAttribute('data-status');
}

/** Closes the toasts (with their × buttons), so they do not cover the screenshots. */
async function dismissToasts(page: Page): Promise<void> {
  const toasts = page.getByTestId('toast');
  for (let i = 0; i < 10 && (await toasts.count()) > 0; i++) {
    await toasts.first().getByRole('button', { name: 'Dismiss message' }).click();
  }
  assert.equal(await toasts.count(), 0, 'the toasts close');
}

/** A screenshot without the toasts, of more than a blank page's few bytes. */
async function screenshot(page: Page, name: string): Promise<void> {
  await dismissToasts(page);
  const bytes = await fs.readFile(await saveScreenshot(page, name));
  assert.ok(bytes.length > 5000, `${name}.png is only ${bytes.length} bytes`);
}

describe('SR Studio in the browser, real engine', () => {
  suite.test(
    'Upscale: a photo dropped on the window is enlarged, previewed tile by tile and downloadable',
    150_000,
    async (page) => {
      const model = await modelChosen(page);
      // A fresh install starts with the bundled TanhExp x2 model for photos, the one `sr-studio upscale` uses.
      assert.equal(model, 'bundled:tanhexp_photo_x2.safetensors');
      assert.match(
        await page.getByTestId('model-select').locator(`option[value="${model}"]`).innerText(),
        /tanhexp_photo_x2/,
      );

      // Dropped on the view, outside the queue's own drop zone: the window-wide drop handler takes it.
      await drop(page, '[data-testid="view-upscale"]', [await photo(COFFEE)]);
      await row(page, 'coffee.png').and(page.locator('[data-status="ready"]')).waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('queue-row').count(), 1);
      const start = page.getByTestId('start-upscale');
      assert.ok(await start.isEnabled(), 'Upscale is enabled once the photo is uploaded');
      await start.click();

      const status = await finished(page, 'coffee.png', 120_000);
      assert.equal(status, 'done', `coffee.png ended as ${status}: ${await row(page, 'coffee.png').innerText()}`);
      assert.equal((await page.getByTestId('result-width').innerText()).trim(), '1200×792');
      assert.match(await page.getByTestId('upscale-message').innerText(), /1 upscaled\./);
      assert.match(await page.getByTestId('output-path').innerText(), /coffee_x2\.png$/);

      // The live preview got the tiles: a canvas of the full output size with pixels drawn on it.
      const canvases = await until(
        'tiles drawn on the live preview',
        () => liveCanvases(page),
        (l) => l.some((c) => c.drawn > 0),
        10_000,
      );
      const live = canvases.find((c) => c.drawn > 0)!;
      assert.deepEqual([live.width, live.height], [1200, 792]);

      // "Save": the Download link, clicked as a user would, and the same URL fetched with the session
      // cookie. Neither the link nor the address bar carries the token: the cookie (HttpOnly,
      // SameSite=Strict) does.
      const link = page.getByTestId('save-output');
      const href = (await link.getAttribute('href')) ?? '';
      assert.match(href, /^\/file\?path=[^&]+&download=1$/);
      assert.doesNotMatch(page.url(), /token=/, `the address bar dropped the token: ${page.url()}`);
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), link.click()]);
      assert.equal(download.suggestedFilename(), 'coffee_x2.png');
      assert.deepEqual(pngSize(await fs.readFile(await download.path())), { width: 1200, height: 792 });
      const session = (await page.context().cookies()).find((c) => c.name.startsWith('sr-studio-token-'));
      assert.ok(session, 'the session cookie is set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
        '',
        'page scripts cannot read it',
      );
      const res = await fetch(new URL(href, studio().origin), {
        headers: { cookie: `${session.name}=${session.value}` },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.deepEqual(pngSize(new Uint8Array(await res.arrayBuffer())), { width: 1200, height: 792 });
      const noToken = await fetch(new URL(href, studio().origin));
      assert.equal(noToken.status, 403, 'the file is not served without the session cookie');
      const wrong = await fetch(new URL(href, studio().origin), { headers: { cookie: `${session.name}=x` } });
      assert.equal(wrong.status, 403, 'nor with a wrong one');
    },
  );

  onSecond(
    'Upscale: a corrupt file fails in one plain sentence while the photo beside it completes',
    120_000,
    async (page) => {
      await modelChosen(page);
      const broken: DropFile = {
        name: 'broken.png',
        type: 'image/png',
        bytes: new TextEncoder().encode('This is a note, not a picture.\n'),
      };
      await drop(page, 'body', [broken, await photo(MOTORCYCLE)]);
      await until(
        'both files uploaded',
        () => page.locator('[data-testid="queue-row"][data-status="uploading"]').count(),
        (n) => n === 0,
        30_000,
      );
      assert.equal(await page.getByTestId('queue-row').count(), 2);
      const start = page.getByTestId('start-upscale');
      // The note is known not to be an image as soon as it is added: only the photo is offered.
      await until(
        'Upscale to offer the photo alone',
        () => start.innerText(),
        (t) => /Upscale 1$/.test(t.trim()),
        10_000,
      );
      await start.click();

      assert.equal(
        await finished(page, 'motorcycle_200x150.png', 90_000),
        'done',
        await row(page, 'motorcycle_200x150.png').innerText(),
      );
      assert.equal(await finished(page, 'broken.png', 30_000), 'error');
      await until(
        'the batch to end',
        () => page.getByTestId('upscale-message').innerText(),
        (t) => /1 upscaled, 1 failed\./.test(t),
        30_000,
      );
      assert.match(await row(page, 'motorcycle_200x150.png').getByTestId('queue-status').innerText(), /Done · 400×300/);

      const error = (await row(page, 'broken.png').getByTestId('queue-error').innerText()).trim();
      assert.match(error, /broken\.png/, 'the message names the file');
      assert.match(error, /could not be read as an image|not .*image/i, error);
      assert.doesNotMatch(error, STACK, `no stack trace or code location: ${error}`);
      assert.equal(error.split(/[.!?](?:\s|$)/).filter((s) => s.trim()).length, 1, `one sentence: ${error}`);
      assert.ok(error.length < 300, `short: ${error}`);
      await screenshot(page, 'upscale-bad-file');
    },
  );

  suite.test(
    'Train: a short run on the tiny photos plots its loss, updates its preview and finishes',
    240_000,
    async (page) => {
      await page.getByTestId('nav-train').click();
      await page.getByTestId('view-train').waitFor();
      await page.getByTestId('train-data').fill(TINY);
      await page.getByTestId('train-val').fill(TINY);
      await page.getByTestId('train-preset').selectOption('tiny');
      await page.getByTestId('train-scale').selectOption({ label: '×2' });
      await page.getByTestId('train-activation').selectOption('tanhexp');
      await page.getByTestId('train-iterations').fill(String(TRAIN_ITERATIONS));
      await page.getByTestId('train-start').click();

      await until(
        'training to start',
        () => page.getByTestId('train-state').innerText(),
        (t) => t.trim() === 'Training',
        30_000,
      );
      // Loss points: the chart's summary names the latest loss, and the line (TanhExp's colour) is drawn.
      await until(
        'a loss in the chart summary',
        () =>
          page
            .getByTestId('loss-chart-summary')
            .innerText()
            .catch(() => ''),
        (t) => /^latest \d+\.\d{4}$/.test(t.trim()),
        90_000,
      );
      const [early] = await until(
        'the loss line on the chart',
        () => colourCounts(page, 'loss-chart', [TANHEXP]),
        ([n]) => n! > 20,
        15_000,
      );

      await page.getByTestId('train-preview').waitFor({ timeout: 180_000 });
      const first = await page.getByTestId('train-preview').getAttribute('src');
      const state = page.getByTestId('train-state');
      await until(
        'training to finish',
        () => state.innerText(),
        (t) => t.trim() !== 'Training',
        180_000,
      );
      assert.equal(
        (await state.innerText()).trim(),
        'Finished',
        (await page
          .getByTestId('train-error')
          .innerText()
          .catch(() => '')) || 'the run did not finish',
      );
      await page.getByTestId('train-done').waitFor();
      assert.match(
        await page.getByTestId('view-train').innerText(),
        new RegExp(`iteration ${TRAIN_ITERATIONS} / ${TRAIN_ITERATIONS} \\(100%\\)`),
      );

      // The preview changed: the src seen at the first preview differs from the final one (the probe
      // also recorded every src the image had, so a missed moment shows up in the message).
      const last = await page.getByTestId('train-preview').getAttribute('src');
      const history = await trainPreviews(page);
      assert.match(first ?? '', /^data:image\/png;base64,/);
      assert.match(last ?? '', /^data:image\/png;base64,/);
      assert.ok(history.length >= 2, `the preview changed during training: ${JSON.stringify(history)}`);
      assert.notEqual(first, last, `the preview at iteration 100 and at the end differ: ${JSON.stringify(history)}`);

      const [late] = await colourCounts(page, 'loss-chart', [TANHEXP]);
      assert.ok(late! >= early!, `the loss line grew (${early} → ${late} pixels)`);
      assert.match(
        await page.getByTestId('psnr-chart-summary').innerText(),
        /^\d+\.\d{2} dB vs bicubic \d+\.\d{2} dB; detail \d+\.\d{3}$/,
      );
      assert.match(await page.getByTestId('train-model-path').innerText(), /model_best\.safetensors$/);

      // "Add to my models" makes the trained model a Download-able entry of the user's models.
      await page.getByTestId('train-add-model').click();
      await page.getByTestId('train-export').waitFor({ timeout: 30_000 });
    },
  );

  suite.test('Compare: two activations trained alike give two panes and a filled table', 200_000, async (page) => {
    await page.getByTestId('nav-compare').click();
    await page.getByTestId('view-compare').waitFor();
    await page.getByTestId('compare-data').fill(TINY);
    await page.getByTestId('compare-val').fill(TINY);
    await page.getByTestId('compare-act-a').selectOption('swish');
    await page.getByTestId('compare-act-b').selectOption('tanhexp');
    await page.getByTestId('compare-preset').selectOption('tiny');
    await page.getByTestId('compare-scale').selectOption({ label: '×2' });
    await page.getByTestId('compare-iterations').fill('20');
    await page.getByTestId('compare-seeds').fill('1');
    await page.getByTestId('compare-start').click();
    await page.getByTestId('compare-progress').waitFor();

    await page.getByTestId('compare-table').waitFor({ timeout: 170_000 });
    const cells = async (testid: string) =>
      (await page.getByTestId(testid).locator('td').allInnerTexts()).map((t) => t.trim());
    for (const act of ['swish', 'tanhexp']) {
      const [psnr, ssim, detail, ms, runs] = await cells(`compare-row-${act}`);
      assert.match(psnr ?? '', /^\d+\.\d{2}$/, `${act} PSNR`);
      assert.ok(Number(psnr) > 10 && Number(psnr) < 60, `${act} PSNR ${psnr}`);
      assert.match(ssim ?? '', /^[01]\.\d{4}$/, `${act} SSIM`);
      assert.match(detail ?? '', /^\d\.\d{3}$/, `${act} detail`);
      assert.equal(detail, await page.getByTestId(`compare-detail-${act}`).innerText());
      assert.ok(Number(ms) > 0, `${act} ms/iteration ${ms}`);
      assert.equal(runs, '1');
    }
    const [bicubic] = await cells('compare-row-bicubic');
    assert.match(bicubic ?? '', /^\d+\.\d{2}$/);
    const [diff] = await cells('compare-row-difference');
    assert.match(diff ?? '', /^[+−]\d+\.\d{2}$/);
    // One seed cannot tell a gap from seed noise; the verdict says so and how the gap compares with what can be seen.
    assert.match(await page.getByTestId('compare-verdict').innerText(), /over one seed.*0\.1 dB a person could see/);

    // Both trained networks on the whole first validation image (astronaut, 128×128), its reduction
    // enlarged, beside the ground truth and bicubic, all at the same size and fully drawn.
    for (const pane of ['a', 'b', 'truth', 'bicubic']) {
      await page.locator(`[data-testid="compare-pane-${pane}"][data-complete="true"]`).waitFor({ timeout: 60_000 });
      assert.equal(await page.getByTestId(`compare-pane-${pane}`).getAttribute('data-content'), '128x128', pane);
    }
    assert.match(await page.getByTestId('compare-pane-a').innerText(), /Swish · \d+\.\d{2} dB/);
    assert.match(await page.getByTestId('compare-pane-b').innerText(), /TanhExp · \d+\.\d{2} dB/);
    // One zoom for all four: a Ctrl + wheel turn over the first pane moves every pane's view alike
    // (the view scrolls, so a plain wheel scrolls it: test/e2e/compare-flow.test.ts).
    const views = () =>
      Promise.all(
        ['a', 'b', 'truth', 'bicubic'].map((p) => page.getByTestId(`compare-pane-${p}`).getAttribute('data-view')),
      );
    const before = (await views())[0];
    await page.getByTestId('compare-pane-a').hover();
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -400);
    await page.keyboard.up('Control');
    const after = await until(
      'the wheel zoom to reach every pane',
      views,
      (v) => v[0] !== before && v.every((x) => x === v[0]),
      10_000,
    );
    assert.ok(Number(after[0]!.split(' ')[2]) > Number(before!.split(' ')[2]), `zoomed in: ${before} → ${after[0]}`);
    // Both runs are on the loss chart. Within 20 iterations of the warm-up their losses agree to about
    // 1e-6: TanhExp's line is dashed over Swish's, in another colour, so both show (test/e2e/compare-flow.test.ts).
    assert.equal(await page.getByTestId('compare-legend').locator('li').count(), 2);
    const stroke = (act: string) => page.getByTestId(`compare-loss-chart-line-${act}`).getAttribute('stroke');
    assert.deepEqual([await stroke('swish'), await stroke('tanhexp')], ['#4e79a7', '#f28e2b']);
  });

  suite.test('Every view, screenshotted; the status line names the backend of each purpose', 90_000, async (page) => {
    // Without a GPU, a fresh install upscales and trains on ONNX Runtime (or wasm without it).
    assert.match(
      await page.getByTestId('status-backend').innerText(),
      /^Upscaling on (onnx|wasm) \(.*\) · training on (onnx \(ONNX Runtime|wasm \(WebAssembly)/,
    );

    await page.getByTestId('nav-upscale').click();
    assert.equal((await page.getByTestId('result-width').innerText()).trim(), '1200×792');
    await page.locator('[data-testid="slider-view"][data-complete="true"]').waitFor({ timeout: 15_000 });
    await screenshot(page, 'upscale');

    await page.getByTestId('nav-train').click();
    await page.getByTestId('train-done').waitFor();
    await scrollToTop(page, 'loss-chart');
    await until(
      'the loss line',
      () => colourCounts(page, 'loss-chart', [TANHEXP]),
      ([n]) => n! > 20,
      10_000,
    );
    await screenshot(page, 'train');

    await page.getByTestId('nav-compare').click();
    // On a fresh install the two-model comparison starts with the bundled Swish twin against TanhExp.
    assert.equal(await page.getByTestId('compare-model-a').inputValue(), 'bundled:swish_x2.safetensors');
    assert.equal(await page.getByTestId('compare-model-b').inputValue(), 'bundled:tanhexp_x2.safetensors');
    await scrollToTop(page, 'compare-table');
    await page.locator('[data-testid="compare-pane-a"][data-complete="true"]').waitFor({ timeout: 10_000 });
    await screenshot(page, 'compare');

    await page.getByTestId('nav-activations').click();
    await until(
      'TanhExp and Swish curves',
      () => colourCounts(page, 'curve-f', [TANHEXP, SWISH]),
      (c) => c.every((n) => n > 20),
      30_000,
    );
    await screenshot(page, 'activations');

    await page.getByTestId('nav-models').click();
    await page.getByTestId('model-row').filter({ hasText: 'e2e_tiny_x2' }).waitFor();
    await screenshot(page, 'models');

    // Settings: what each backend is on this machine and why auto chose what it did.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-probes').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('settings-backend-upscale').inputValue(), 'auto');
    assert.equal(await page.getByTestId('settings-backend-train').inputValue(), 'auto');
    assert.equal(await page.getByTestId('probe-wasm').getAttribute('data-available'), 'true');
    // One line for both purposes when auto picks the same for each.
    assert.match(
      await page.locator('[data-testid="settings-auto"], [data-testid="settings-auto-train"]').first().innerText(),
      /(onnx \(ONNX Runtime|wasm \(WebAssembly)/,
    );
    assert.match(await page.getByTestId('settings-now-train').innerText(), /^Now: (onnx|wasm) — /);
    await screenshot(page, 'settings');
  });

  onSecond(
    'Bad input: a non-image or a photo over the size limit is refused in plain words and the page stays responsive',
    60_000,
    async (page) => {
      await page.getByTestId('nav-upscale').click();
      const before = await page.getByTestId('queue-row').count();
      const note: DropFile = {
        name: 'notes.txt',
        type: 'text/plain',
        bytes: new TextEncoder().encode('shopping list\n'),
      };
      await drop(page, 'body', [note]);
      const toast = page.getByTestId('toast').filter({ hasText: 'notes.txt' });
      await toast.waitFor({ timeout: 10_000 });
      const text = (await toast.locator('p').innerText()).trim();
      assert.match(text, /not images/i, text);
      assert.doesNotMatch(text, STACK, text);
      assert.equal(await page.getByTestId('queue-row').count(), before, 'nothing was added to the queue');

      // A photo over browser mode's size limit is refused in plain words before it is sent.
      const huge: DropFile = {
        name: 'huge.png',
        type: 'image/png',
        bytes: new Uint8Array(0),
        zeros: 300 * 1024 * 1024,
      };
      await drop(page, 'body', [huge]);
      await row(page, 'huge.png').and(page.locator('[data-status="error"]')).waitFor({ timeout: 30_000 });
      const refused = (await row(page, 'huge.png').getByTestId('queue-error').innerText()).trim();
      assert.match(
        refused,
        /^Browser mode takes files of up to 256 MB, and huge\.png is 300 MB; .*sr-studio upscale/,
        refused,
      );
      assert.doesNotMatch(refused, STACK, refused);
      assert.equal(refused.split(/[.!?](?:\s|$)/).filter((s) => s.trim()).length, 1, `one sentence: ${refused}`);
      await row(page, 'huge.png').getByTestId('queue-remove').click();

      await page.getByTestId('nav-models').click();
      await page.getByTestId('view-models').waitFor({ timeout: 5000 });
      await page.getByTestId('nav-upscale').click();
      await page.getByTestId('view-upscale').waitFor({ timeout: 5000 });
    },
  );

  test('no uncaught errors in the pages', () => {
    assert.deepEqual(suite.errors(), []);
  });
});
