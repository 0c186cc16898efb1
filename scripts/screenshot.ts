/**
 * The README's picture of the app: browser mode on a fresh data folder (default settings, the
 * bundled models only), Chromium at 1280×800, one photo dropped on the window and upscaled with
 * the Upscale view's default model, the result shown in the viewer; saved as a palette PNG.
 *
 *   npm run screenshot -- [PHOTO] [--out FILE]
 *
 * PHOTO defaults to chelsea.png among the validation photos the end-to-end tests use; FILE to
 * docs/images/app.png. Needs the built user interface (npm run build) and Chromium
 * ($SR_STUDIO_CHROMIUM or /usr/bin/chromium).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DATA, ROOT, drop, launchBrowser, openPage, photo, startStudio, until } from '../test/e2e/harness.ts';
import { modelChosen } from '../test/e2e/views.ts';

const VIEWPORT = { width: 1280, height: 800 };
const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
const input = path.resolve(positionals[0] ?? path.join(DATA, 'val', 'chelsea.png'));
const out = path.resolve(values.out ?? path.join(ROOT, 'docs', 'images', 'app.png'));

// A folder of our own, so that the studio starts with no user models: the default model is a bundled one.
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-screenshot-'));
const studio = await startStudio([], { dir });
const browser = await launchBrowser().catch(async (e: unknown) => {
  await studio.stop();
  throw e;
});
try {
  const { page } = await openPage(browser, studio.url, VIEWPORT);
  await modelChosen(page);
  const name = path.basename(input);
  await drop(page, 'body', [await photo(input)]);
  const row = page
    .getByTestId('queue-row')
    .filter({ has: page.getByTestId('queue-select').getByText(name, { exact: true }) });
  await row.and(page.locator('[data-status="ready"]')).waitFor({ timeout: 60_000 });
  await page.getByTestId('start-upscale').click();
  await row.and(page.locator('[data-status="done"], [data-status="error"]')).waitFor({ timeout: 300_000 });
  if ((await row.getAttribute('data-status')) !== 'done')
    throw new Error(`${name} was not upscaled: ${(await row.innerText()).trim()}`);
  await row.getByTestId('queue-select').click();
  await page.getByTestId('slider-view').waitFor();
  await until(
    'the viewer to draw every tile',
    () => page.getByTestId('slider-view').getAttribute('data-complete'),
    (v) => v === 'true',
    60_000,
  );
  const png = await page.screenshot();
  const small = await sharp(png).png({ palette: true, quality: 90, effort: 10, compressionLevel: 9 }).toBuffer();
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, small);
  console.log(
    `${path.relative(process.cwd(), out)}: ${VIEWPORT.width}×${VIEWPORT.height}, ${Math.round(small.length / 1024)} KB (${name} upscaled with ${await page.getByTestId('model-select').inputValue()})`,
  );
} finally {
  await browser.close().catch(() => undefined);
  await studio.stop();
}
