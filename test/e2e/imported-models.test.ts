/**
 * An ONNX model from outside SR Studio's exporter, in the app as a user brings it (browser mode,
 * Chromium at 1280×800): dropped on the Models view's import panel (uploaded, checked, probed), what
 * the probe found is shown and the input range it could not tell is asked for before the import,
 * the table lists it with its scale, parameters, file, source and that it cannot be trained, its
 * range and margin can be changed there, the feature maps leave it out and say why, the Upscale
 * view upscales a real photo with it, and "Compare two models" runs it beside a bundled model on a
 * whole image. Screenshots of the Models view go to test-artifacts/screenshots/.
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DATA, dataTransfer, dropAndUpscale, e2eSuite, ROOT, screenshot } from './harness.ts';

const SIZE = { width: 1280, height: 800 };
const SRVGG = path.join(ROOT, 'test/fixtures/onnx/srvgg_x4_fp16.onnx');
const ID = 'user:srvgg_x4_fp16.onnx';

const suite = e2eSuite(SIZE);
const e2e = suite.test;
/** The photo the upscale flow wrote (in the results folder the session may read). */
let upscaled = '';

describe('imported ONNX models', () => {
  e2e(
    'Models: a dropped .onnx model is imported and listed with its scale, parameters, file, source and "cannot be trained"',
    90_000,
    async (page) => {
      await page.getByTestId('nav-models').click();
      const dt = await dataTransfer(page, [
        { name: 'srvgg_x4_fp16.onnx', type: 'application/octet-stream', bytes: await fs.readFile(SRVGG) },
      ]);
      const panel = page.getByTestId('model-import');
      await panel.dispatchEvent('dragover', { dataTransfer: dt });
      await panel.dispatchEvent('drop', { dataTransfer: dt });
      await dt.dispose();
      // What the probe found, before anything is imported; the range it could not tell is asked for.
      const found = page.getByTestId('import-found');
      await found.waitFor({ timeout: 60_000 });
      assert.match(
        await found.getByTestId('import-found-facts').innerText(),
        /^Found: ×4, float16, 16,704 parameters, 3\d KB; input range unknown \(the probe could not tell\), tile margin \d+\.$/,
      );
      assert.match(
        await found.getByTestId('import-range-ask').innerText(),
        /could not tell whether this model takes RGB values in 0–1 or in 0–255; choose/,
      );
      assert.equal(await found.getByTestId('import-confirm').isDisabled(), true, 'no import until a range is chosen');
      assert.equal(await found.getByTestId('import-range-1').isChecked(), false);
      assert.equal(await found.getByTestId('import-range-255').isChecked(), false);
      await screenshot(page, 'models-import-found-1280');
      assert.equal(await page.locator(`[data-testid="model-row"][data-model-id="${ID}"]`).count(), 0);
      await found.getByTestId('import-range-1').check();
      await found.getByTestId('import-confirm').click();
      const row = page.locator(`[data-testid="model-row"][data-model-id="${ID}"]`);
      await row.waitFor({ timeout: 60_000 });
      assert.equal(await row.getByTestId('model-kind').innerText(), 'Imported ONNX');
      assert.equal(await row.getByTestId('model-scale').innerText(), '×4');
      assert.equal(await row.getByTestId('model-parameters').innerText(), '16,704');
      assert.match(await row.getByTestId('model-size').innerText(), /^3\d(\.\d)? KB, float16, RGB 0–1$/);
      assert.equal(await row.getByTestId('model-degrade').innerText(), 'cannot be trained');
      assert.match(await row.getByTestId('model-source').innerText(), /^from .*srvgg_x4_fp16\.onnx$/);
      assert.equal(
        await row.getByRole('button', { name: /^(Download|Export) / }).count(),
        0,
        "no export to SR Studio's format",
      );
      const copied = path.join(suite.studio().models, 'srvgg_x4_fp16.onnx');
      assert.deepEqual(await fs.readFile(copied), await fs.readFile(SRVGG));
      const right = await page.getByTestId('models-table').evaluate((el) => el.getBoundingClientRect().right);
      assert.ok(right <= SIZE.width, `the table reaches ${right} px`);
      assert.equal(await page.getByTestId('import-found').count(), 0, 'the panel closes once imported');
      await screenshot(page, 'models-imported-1280');
    },
  );

  e2e(
    "Models: the imported model's range and tile margin are changed in the table and kept with it",
    60_000,
    async (page) => {
      await page.getByTestId('nav-models').click();
      const row = page.locator(`[data-testid="model-row"][data-model-id="${ID}"]`);
      await row.getByTestId('model-adjust').locator('summary').click();
      assert.equal(await row.getByTestId('adjust-range-1').isChecked(), true, 'the range chosen at import');
      await row.getByTestId('adjust-margin').fill('20');
      await row.getByTestId('adjust-save').click();
      await page
        .getByText('srvgg_x4_fp16 now takes RGB 0–1 with a tile margin of 20 pixels.')
        .waitFor({ timeout: 30_000 });
      const record = JSON.parse(
        await fs.readFile(path.join(suite.studio().models, 'srvgg_x4_fp16.onnx.json'), 'utf8'),
      ) as {
        range: number;
        rangeFrom: string;
        margin: number;
        marginGiven: boolean;
      };
      assert.deepEqual([record.range, record.rangeFrom, record.margin, record.marginGiven], [1, 'given', 20, true]);
    },
  );

  e2e('Activations: feature maps leave the imported model out of their lists and say why', 30_000, async (page) => {
    await page.getByTestId('nav-activations').click();
    const options = await page
      .getByTestId('features-model-a')
      .locator('option')
      .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.ok(options.includes('bundled:swish_x2.safetensors'), options.join(', '));
    assert.ok(!options.includes(ID), 'the imported model is not offered');
    assert.equal(
      await page.getByTestId('features-left-out').innerText(),
      "Feature maps are shown only for SR Studio's own networks, so the imported ONNX model is not listed here.",
    );
  });

  e2e('Upscale: the imported model upscales a real photo x4', 120_000, async (page) => {
    await page.getByTestId('nav-upscale').click();
    await page.getByTestId('model-select').selectOption(ID);
    const out = await dropAndUpscale(page, path.join(DATA, 'tiny/chelsea_96x72.png'), 'chelsea.jpg', 60_000);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [96 * 4, 72 * 4]);
    upscaled = out;
  });

  e2e(
    'Compare two models: the imported model beside a bundled x4 one, scored on a whole image',
    120_000,
    async (page) => {
      assert.ok(upscaled, 'the upscale flow made an image to compare on');
      await page.getByTestId('nav-compare').click();
      await page.getByTestId('compare-model-a').selectOption(ID);
      await page.getByTestId('compare-model-b').selectOption('bundled:tanhexp_x4.safetensors');
      await page.getByTestId('compare-models-image').fill(upscaled);
      await page.getByTestId('compare-models-truth').check();
      await page.getByTestId('compare-models-start').click();
      const summary = page.getByTestId('compare-models-summary');
      await summary.waitFor({ timeout: 90_000 });
      assert.match(await summary.innerText(), /^Reduced chelsea_x4\.png to 96×72 and enlarged it with both models\.$/);
      await page.locator('[data-testid="models-pane-a"][data-complete="true"]').waitFor({ timeout: 30_000 });
      // Each pane is labelled with its model and its score against the original.
      assert.match(await page.getByTestId('compare-models').innerText(), /A: srvgg_x4_fp16[^\n]*\d+\.\d+ dB/);
    },
  );
});
