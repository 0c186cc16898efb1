/**
 * What several end-to-end tests do in the app's views: wait for the Upscale view's model, and
 * start, follow and stop a training in the Train view.
 */
import type { Page } from 'playwright-core';
import { until } from './harness.ts';

/** Waits until the engine's status is shown and the Upscale view has chosen a model; returns its id. */
export async function modelChosen(page: Page): Promise<string> {
  await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
  return until(
    'a model to be chosen',
    () => page.getByTestId('model-select').inputValue(),
    (v) => v !== '',
    30_000,
  );
}

/** The Train view's state (`data-state`: running, paused, stopped, finished, failed, …). */
export const trainState = (page: Page) => page.getByTestId('train-state').getAttribute('data-state');

/** The iteration the Train view shows (-1 before its first). */
export const trainIteration = async (page: Page) =>
  Number(/iteration ([\d,]+) \//.exec(await page.getByTestId('view-train').innerText())?.[1]?.replace(/,/g, '') ?? -1);

/** Waits until the Train view shows iteration `n` or later; `what` names the wait in its error. */
export const trainedTo = (page: Page, n: number, timeoutMs: number, what = 'training to run') =>
  until(
    what,
    () => trainIteration(page),
    (i) => i >= n,
    timeoutMs,
  );

/** Waits until the training has ended one way or another (finished, stopped, failed); returns how. */
export const trainingEnded = (page: Page, timeoutMs: number) =>
  until(
    'the training to end',
    () => trainState(page),
    (s) => s === 'finished' || s === 'stopped' || s === 'failed',
    timeoutMs,
    250,
  );

/** Trains on the photos in `data` (no validation folder) for `iterations`, from the Train view's form. */
export async function startTraining(page: Page, data: string, iterations: number): Promise<void> {
  await page.getByTestId('nav-train').click();
  await page.getByTestId('train-data').fill(data);
  await page.getByTestId('train-val').fill('');
  await page.getByTestId('train-iterations').fill(String(iterations));
  await page.getByTestId('train-start').click();
}

/** Cancels the training from the Train view and waits until it has stopped with its checkpoint. */
export async function stopTraining(page: Page): Promise<void> {
  await page.getByTestId('train-cancel').click();
  await until(
    'the run to stop',
    () => trainState(page),
    (s) => s === 'stopped',
    60_000,
    250,
  );
}
