/**
 * runs:metrics: what a listed run recorded, as chart points, read only from inside the runs
 * folder (not through a symlink leading out, nor a metrics file swapped for a symlink); a long
 * run's losses thinned, every validation kept, a line cut short by a crash skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HostContext } from '../../../main/host/context.ts';
import { runHandlers } from '../../../main/host/run-handlers.ts';
import { MAX_LOSS_POINTS } from '../../../ml/node/runs.ts';

let dir = '';
let metrics: ReturnType<typeof runHandlers>['runs:metrics'];
const runs = () => path.join(dir, 'runs');
const lines = (records: unknown[]) => records.map((r) => JSON.stringify(r) + '\n').join('');

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-run-metrics-'));
  await fs.mkdir(path.join(runs(), 'stopped'), { recursive: true });
  await fs.mkdir(path.join(dir, 'elsewhere'));
  metrics = runHandlers({ runsDir: runs() } as HostContext)['runs:metrics'];
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('runs:metrics', () => {
  test("a run's losses and validations in order, with the detail measure where recorded; a line cut short is skipped", async () => {
    const run = path.join(runs(), 'stopped');
    const text =
      lines([
        { iteration: 10, loss: 0.2, lr: 1e-4, itPerSec: 3, elapsedMs: 10 },
        { iteration: 20, val: { psnrY: 30.5, ssimY: 0.9, bicubicPsnrY: 31, bicubicSsimY: 0.91 }, elapsedMs: 20 },
        { iteration: 20, loss: 0.1, lr: 1e-4, itPerSec: 3, elapsedMs: 20 },
        { iteration: 30, val: { psnrY: 30.7, ssimY: 0.9, detail: 0.93, bicubicPsnrY: 31, bicubicDetail: 0.71 } },
      ]) + '{"iteration":40,"lo';
    await fs.writeFile(path.join(run, 'metrics.jsonl'), text);
    assert.deepEqual(await metrics({ dir: run }), [
      { iteration: 10, loss: 0.2 },
      { iteration: 20, loss: 0.1 },
      { iteration: 20, psnrY: 30.5, bicubicPsnrY: 31 },
      { iteration: 30, psnrY: 30.7, bicubicPsnrY: 31, detail: 0.93 },
    ]);
  });

  test("a long run's losses are thinned evenly, keeping the last; every validation stays", async () => {
    const run = path.join(runs(), 'long');
    await fs.mkdir(run);
    const records: unknown[] = [];
    for (let i = 1; i <= 5000; i++) records.push({ iteration: i * 10, loss: 1 / i });
    for (let i = 1; i <= 50; i++) records.push({ iteration: i * 1000, val: { psnrY: 30 + i / 100, bicubicPsnrY: 30 } });
    await fs.writeFile(path.join(run, 'metrics.jsonl'), lines(records));
    const points = await metrics({ dir: run });
    const losses = points.filter((p) => p.loss !== undefined);
    assert.ok(losses.length <= MAX_LOSS_POINTS && losses.length > MAX_LOSS_POINTS / 2, String(losses.length));
    assert.equal(losses.at(-1)?.iteration, 50_000, 'the last loss is kept');
    assert.equal(points.filter((p) => p.psnrY !== undefined).length, 50);
    assert.deepEqual(
      points.map((p) => p.iteration),
      [...points.map((p) => p.iteration)].sort((a, b) => a - b),
    );
  });

  test('a run that recorded nothing yet gives no points', async () => {
    const run = path.join(runs(), 'new');
    await fs.mkdir(run);
    assert.deepEqual(await metrics({ dir: run }), []);
  });

  test('a folder outside the runs folder, one reached through a symlink leading out, and a metrics file that is a symlink are refused in one sentence', async () => {
    const outside = path.join(dir, 'elsewhere');
    await fs.writeFile(path.join(outside, 'metrics.jsonl'), lines([{ iteration: 1, loss: 0.5 }]));
    await fs.symlink(outside, path.join(runs(), 'link-out'));
    const swapped = path.join(runs(), 'swapped');
    await fs.mkdir(swapped);
    await fs.symlink(path.join(outside, 'metrics.jsonl'), path.join(swapped, 'metrics.jsonl'));
    for (const run of [outside, path.join(runs(), 'link-out'), swapped, path.join(runs(), 'missing')]) {
      await assert.rejects(metrics({ dir: run }), (e: Error) => {
        assert.equal(e.message, `${JSON.stringify(run)} is not one of the training runs listed in the Train view.`);
        return true;
      });
    }
  });
});
