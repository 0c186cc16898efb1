/**
 * The app's job flows end to end (browser mode, default settings, the real engine, Chromium): a
 * second training on other photos trains anew in a new run folder; pause shows Resume, an upscale
 * started meanwhile runs at once, cancel stops with a checkpoint and the listed run
 * continues to its end; a reloaded page re-attaches to a running training; models download as
 * weights and as ONNX (which ONNX Runtime then runs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { DATA, drop, e2eSuite, photo, until } from './harness.ts';
import { startTraining, stopTraining, trainedTo, trainingEnded, trainIteration, trainState } from './views.ts';

const TINY = path.join(DATA, 'tiny');
/** A second training folder with other photos than TINY's. */
let other = '';
const suite = e2eSuite(
  { width: 1280, height: 900 },
  {
    async setUp(studio) {
      other = path.join(studio.dir, 'other-photos');
      await fs.mkdir(other);
      for (const f of ['chelsea.png', 'coffee.png', 'astronaut.png'])
        await fs.copyFile(path.join(DATA, 'val', f), path.join(other, f));
    },
  },
);
const e2e = suite.test;

async function finish(page: Page, timeoutMs: number): Promise<void> {
  const s = await trainingEnded(page, timeoutMs);
  assert.equal(
    s,
    'finished',
    (await page
      .getByTestId('train-error')
      .innerText()
      .catch(() => '')) || `ended as ${s}`,
  );
}

describe('job flows in the app', () => {
  e2e('a second training on other photos trains anew, in a new run folder', 240_000, async (page) => {
    await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
    await startTraining(page, TINY, 30);
    await finish(page, 180_000);
    await until(
      'one run listed',
      () => page.getByTestId('run-row').count(),
      (n) => n === 1,
      10_000,
    );
    const first = await page.getByTestId('run-row').first().getAttribute('data-run');

    await startTraining(page, other, 30);
    await until(
      'the new run to start from zero',
      () => trainIteration(page),
      (n) => n >= 0 && n < 30,
      30_000,
    );
    await finish(page, 180_000);
    assert.match(await page.getByTestId('view-train').innerText(), /iteration 30 \/ 30 \(100%\)/);
    assert.match(await page.getByTestId('loss-chart-summary').innerText(), /^latest \d+\.\d{4}$/);
    await until(
      'two runs listed',
      () => page.getByTestId('run-row').count(),
      (n) => n === 2,
      10_000,
    );
    const names = await page
      .getByTestId('run-row')
      .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { run: string } }).dataset.run));
    assert.equal(new Set(names).size, 2, 'two different run folders');
    assert.ok(names.includes(first!));
    assert.match(
      await page.getByTestId('runs-table').innerText(),
      new RegExp(other.replace(/[/\\.]/g, '\\$&')),
      'the new run names its photos',
    );
  });

  e2e(
    'pause shows Resume; an upscale started meanwhile runs at once; cancel stops with a checkpoint; Continue finishes the run',
    300_000,
    async (page) => {
      await startTraining(page, TINY, 400);
      await trainedTo(page, 3, 60_000);
      await page.getByTestId('train-pause').click();
      await page.getByTestId('train-resume').waitFor({ timeout: 10_000 });
      assert.equal(await trainState(page), 'paused');
      const pausedAt = await trainIteration(page);

      // An upscale started while the training is paused runs at once: it has a worker of its own.
      await page.getByTestId('nav-upscale').click();
      await drop(page, '[data-testid="view-upscale"]', [await photo(path.join(TINY, 'coffee_64x64.png'))]);
      await page.locator('[data-testid="queue-row"][data-status="ready"]').first().waitFor({ timeout: 30_000 });
      await page.getByTestId('start-upscale').click();
      await page.locator('[data-testid="queue-row"][data-status="done"]').first().waitFor({ timeout: 30_000 });

      await page.getByTestId('nav-train').click();
      assert.equal(await trainIteration(page), pausedAt, 'nothing trained while paused');
      await page.getByTestId('train-resume').click();
      await trainedTo(page, pausedAt + 1, 30_000, 'training to go on');
      await stopTraining(page);
      const stoppedAt = await trainIteration(page);
      assert.match(
        await page.getByTestId('train-state').innerText(),
        new RegExp(`^Stopped at iteration ${stoppedAt} \\(checkpoint saved\\)$`),
      );

      await page.getByTestId('nav-train').click();
      const row = page.locator('[data-testid="run-row"][data-state="stopped"]');
      await until(
        'the stopped run listed',
        () => row.count(),
        (n) => n === 1,
        10_000,
      );
      assert.match(await row.getByTestId('run-state').innerText(), new RegExp(`stopped at ${stoppedAt}`));
      await row.getByTestId('run-continue').click();
      await until(
        'the run to continue from its checkpoint',
        () => page.getByTestId('view-train').innerText(),
        (t) => new RegExp(`Continuing from iteration ${stoppedAt}|iteration [\\d,]+ / 400`).test(t),
        30_000,
      );
      await finish(page, 240_000);
      assert.match(await page.getByTestId('view-train').innerText(), /iteration 400 \/ 400 \(100%\)/);
      await until(
        'the run listed as finished',
        () => page.locator('[data-testid="run-row"][data-state="finished"]').count(),
        (n) => n === 3,
        10_000,
      );
    },
  );

  e2e('a page reloaded during training re-attaches to it: state, progress and curves go on', 200_000, async (page) => {
    await startTraining(page, TINY, 400);
    await trainedTo(page, 5, 60_000);
    await page.reload();
    await page.getByTestId('nav-train').click();
    await until(
      'the reloaded page to show the training',
      () => trainState(page),
      (s) => s === 'running',
      30_000,
    );
    const seen = await trainIteration(page);
    assert.ok(seen >= 5, `the curves so far came back (iteration ${seen})`);
    assert.match(await page.getByTestId('loss-chart-summary').innerText(), /^latest \d+\.\d{4}$/);
    assert.equal(await page.getByTestId('train-data').inputValue(), TINY, 'the form shows what is being trained');
    await trainedTo(page, seen + 1, 30_000, 'live progress after the reload');
    await stopTraining(page);
  });

  e2e(
    'models download as weights and as ONNX in the browser; the ONNX file runs in ONNX Runtime',
    90_000,
    async (page) => {
      await page.getByTestId('nav-models').click();
      const row = page.locator('[data-testid="model-row"][data-model-id="bundled:tanhexp_x2.safetensors"]');
      const [weights] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        row.getByTestId('export-model').click(),
      ]);
      assert.equal(weights.suggestedFilename(), 'tanhexp_x2.safetensors');
      const bytes = await fs.readFile((await weights.path())!);
      const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<
        string,
        unknown
      >;
      assert.ok('head.weight' in header, 'a safetensors file with the network in it');

      const [onnx] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        row.getByTestId('export-model-onnx').click(),
      ]);
      assert.equal(onnx.suggestedFilename(), 'tanhexp_x2.onnx');
      const ort = await import('onnxruntime-node');
      const s = await ort.InferenceSession.create(await fs.readFile((await onnx.path())!));
      const input = new ort.Tensor('float32', new Float32Array(3 * 16 * 20).fill(0.5), [1, 3, 16, 20]);
      const out = (await s.run({ input })).output!;
      assert.deepEqual(out.dims, [1, 3, 32, 40]);
      await s.release();
    },
  );

  test('no uncaught errors in the page', () => {
    assert.deepEqual(suite.errors(), []);
  });
});
