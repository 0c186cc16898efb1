/**
 * The comparison job (ml/jobs/compare.ts) on its own, on the tiny photos: each run's events name
 * it by activation and seed as fields, the report and its files, a folder that holds other files
 * refused, and cancelling (a partial report).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ActivationName } from '../../../ml/activations.ts';
import { compareJob, type CompareJobEvent, type CompareJobSpec } from '../../../ml/jobs/compare.ts';
import { TrainControl } from '../../../ml/train/events.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const TINY = path.join(DATA, 'tiny');
let dir = '';

before(async () => {
  await useBackend('wasm', 'train');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-compare-job-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const spec = (out: string, iterations: number, seeds = 1, control = new TrainControl()): CompareJobSpec => ({
  data: TINY,
  val: TINY,
  acts: ['swish', 'tanhexp'] as ActivationName[],
  settings: { preset: 'tiny', scale: 2, iterations, batch: 2, patch: 12, valEvery: 2, previewEvery: 100 },
  seeds,
  dir: out,
  backend: { name: 'wasm', device: 'cpu' },
  threads: 0,
  control,
});

test('each activation trained for each seed, every run event naming its activation and seed, then the report files', async () => {
  const out = path.join(dir, 'cmp');
  const events: CompareJobEvent[] = [];
  const r = await compareJob(spec(out, 2, 2), (e) => void events.push(e));
  const start = events.find((e) => e.type === 'start');
  assert.ok(start?.type === 'start' && start.base.iterations === 2);
  const runs = events.flatMap((e) => (e.type === 'train' ? [e] : []));
  assert.ok(
    runs.every((e) => !('run' in e)),
    'no label to parse back',
  );
  const order = [...new Set(runs.map((e) => `${e.act}/${e.seed}/${e.index}/${e.total}`))];
  assert.deepEqual(order, ['swish/0/0/4', 'tanhexp/0/1/4', 'swish/1/2/4', 'tanhexp/1/3/4']);
  for (const key of order) {
    const [act, seed] = key.split('/');
    const own = runs.filter((e) => e.act === act && String(e.seed) === seed).map((e) => e.event.type);
    assert.equal(own[0], 'started', key);
    assert.equal(own.at(-1), 'end', key);
  }

  assert.deepEqual(r.report.acts, ['swish', 'tanhexp']);
  assert.equal(r.report.runs.length, 4);
  assert.equal(r.report.cancelled, false);
  assert.equal(r.dir, out);
  assert.deepEqual(Object.keys(r.models), ['swish', 'tanhexp']);
  for (const m of Object.values(r.models)) await fs.access(m);
  for (const f of ['report.md', 'report.json', 'contact_sheet.png']) await fs.access(path.join(out, f));
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')).acts, ['swish', 'tanhexp']);
});

test('a folder that holds other files is refused, and left as it was', async () => {
  const out = path.join(dir, 'taken');
  await fs.mkdir(out);
  await fs.writeFile(path.join(out, 'notes.txt'), 'mine');
  await assert.rejects(
    compareJob(spec(out, 2), () => undefined),
    /already holds other files/,
  );
  assert.deepEqual(await fs.readdir(out), ['notes.txt']);
});

test('cancelling stops the run in hand and writes a partial report', async () => {
  const out = path.join(dir, 'cancelled');
  const control = new TrainControl();
  const r = await compareJob(spec(out, 200, 1, control), (e) => {
    if (e.type === 'train' && e.event.type === 'progress' && e.event.iteration >= 2) control.cancel();
  });
  assert.equal(r.report.cancelled, true);
  assert.ok(r.report.runs.length < 2, JSON.stringify(r.report.runs.map((x) => x.act)));
  await fs.access(path.join(out, 'report.json'));
});
