/**
 * The training job (ml/jobs/train.ts) on its own, as both front ends run it, on the tiny photos:
 * a new run's events (the run, then the trainer's own, passed on as they are) and result, its
 * record, cancelling (a stopped run with a checkpoint) and continuing it to its end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { trainJob, type TrainJobEvent, type TrainJobSpec } from '../../../ml/jobs/train.ts';
import { RunFolder } from '../../../ml/node/run-folder.ts';
import { TrainControl } from '../../../ml/train/events.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const TINY = path.join(DATA, 'tiny');
let dir = '';

before(async () => {
  await useBackend('wasm', 'train');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-train-job-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const spec = (run: TrainJobSpec['run'], iterations: number, control = new TrainControl()): TrainJobSpec => ({
  data: TINY,
  val: null,
  settings: {
    preset: 'tiny',
    scale: 2,
    activation: 'tanhexp',
    iterations,
    batch: 2,
    patch: 12,
    valEvery: 2,
    previewEvery: 2,
    checkpointEvery: 2,
  },
  run,
  backend: { name: 'wasm', device: 'cpu' },
  threads: 0,
  command: 'test',
  control,
});

const record = async (runDir: string) => (await new RunFolder(runDir, 1).readRecord())!;

test('a new run: the run event, then the trainer events as they are, ending finished with its model', async () => {
  const events: TrainJobEvent[] = [];
  const r = await trainJob(
    spec({ kind: 'new', dir: path.join(dir, 'new'), parent: dir }, 4),
    (e) => void events.push(e),
  );
  const types = events.map((e) => e.type);
  const run = events.find((e) => e.type === 'run');
  assert.ok(
    run?.type === 'run' && !run.continued && run.from === 0 && run.config.iterations === 4,
    JSON.stringify(run),
  );
  assert.ok(types.indexOf('run') < types.indexOf('started'), types.join(' '));
  assert.equal(types.at(-1), 'end');
  for (const t of ['progress', 'validation', 'preview', 'checkpoint'] as const)
    assert.ok(types.includes(t), `a ${t} event: ${types.join(' ')}`);
  const progress = events.flatMap((e) => (e.type === 'progress' ? [e.iteration] : []));
  assert.deepEqual(progress, [1, 2, 3, 4]);
  const end = events.at(-1)!;
  assert.ok(end.type === 'end' && end.reason === 'finished' && end.iteration === 4);

  assert.equal(r.reason, 'finished');
  assert.equal(r.iteration, 4);
  assert.equal(r.runDir, path.join(dir, 'new'));
  assert.ok(r.best && r.best.iteration > 0 && Number.isFinite(r.best.psnrY), JSON.stringify(r.best));
  await fs.access(r.modelPath!);
  const rec = await record(r.runDir);
  assert.equal(rec.state, 'finished');
  assert.equal(rec.iteration, 4);
});

test('cancelling stops the run with a checkpoint; continuing it goes on from there to its end', async () => {
  const control = new TrainControl();
  const runDir = path.join(dir, 'stopped');
  const first = await trainJob(spec({ kind: 'new', dir: runDir, parent: dir }, 50, control), (e) => {
    if (e.type === 'checkpoint' && e.iteration >= 2) control.cancel();
  });
  assert.equal(first.reason, 'cancelled');
  assert.ok(first.iteration >= 2 && first.iteration < 50, String(first.iteration));
  const stopped = await record(runDir);
  assert.equal(stopped.state, 'stopped');

  const events: TrainJobEvent[] = [];
  const again = await trainJob(spec({ kind: 'continue', dir: runDir }, 50), (e) => void events.push(e));
  const run = events.find((e) => e.type === 'run');
  assert.ok(
    run?.type === 'run' && run.continued && run.from >= 2 && run.from <= first.iteration,
    JSON.stringify(run && { ...run, config: undefined }),
  );
  const started = events.find((e) => e.type === 'started');
  assert.ok(started?.type === 'started' && started.continued && started.iteration === run.from);
  const progress = events.flatMap((e) => (e.type === 'progress' ? [e.iteration] : []));
  assert.equal(progress[0], run.from + 1, 'the next iteration after the checkpoint');
  assert.equal(again.reason, 'finished');
  assert.equal(again.iteration, 50);
  assert.equal((await record(runDir)).state, 'finished');
});

test('settings that cannot be used are refused before any folder is made', async () => {
  const bad = {
    ...spec({ kind: 'new', dir: path.join(dir, 'never'), parent: dir }, 4),
    settings: { preset: 'tiny', iterations: 0 },
  } as TrainJobSpec;
  await assert.rejects(
    trainJob(bad, () => undefined),
    /iterations/i,
  );
  await assert.rejects(fs.access(path.join(dir, 'never')));
});
