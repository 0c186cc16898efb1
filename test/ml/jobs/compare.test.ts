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
import { isUserError } from '../../../ml/errors.ts';
import { compareJob, type CompareJobEvent, type CompareJobSpec } from '../../../ml/jobs/compare.ts';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import type { TrainConfig } from '../../../ml/train/config.ts';
import { TrainControl } from '../../../ml/train/events.ts';
import { PERCEPTUAL_LR } from '../../../ml/train/objective.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const TINY = path.join(DATA, 'tiny');
const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
const noOnnx = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;
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

/** A comparison trained perceptually, with an adversarial weight of 0.2, on `backend`. */
const perceptual = (out: string, backend: 'onnx' | 'wasm'): CompareJobSpec => {
  const s = spec(out, 4);
  return {
    ...s,
    settings: { ...s.settings, objective: 'perceptual', advWeight: 0.2 },
    backend: { name: backend, device: 'cpu' },
  };
};

test("a perceptual comparison trains both activations perceptually alike on ONNX Runtime (one weight, one seed, so one discriminator start; the perceptual learning rate), and reports each one's detail", {
  skip: noOnnx,
}, async () => {
  const out = path.join(dir, 'sharp');
  const events: CompareJobEvent[] = [];
  const r = await compareJob(perceptual(out, 'onnx'), (e) => void events.push(e));
  const configs = events.flatMap((e) =>
    e.type === 'train' && e.event.type === 'started' ? [[e.act, e.event.config] as const] : [],
  );
  assert.deepEqual(
    configs.map(([act]) => act),
    ['swish', 'tanhexp'],
  );
  const same = (c: TrainConfig) => ({ ...c, network: { ...c.network, activation: null } });
  const [[, a], [, b]] = configs as [[string, TrainConfig], [string, TrainConfig]];
  assert.deepEqual(same(a), same(b), 'only the activation differs');
  assert.equal(a.objective, 'perceptual');
  assert.equal(a.advWeight, 0.2);
  assert.equal(a.lr, PERCEPTUAL_LR, "the perceptual objective's default, not the activations' own");
  for (const act of ['swish', 'tanhexp']) {
    const saved = JSON.parse(await fs.readFile(path.join(out, 'seed_0', act, 'config.json'), 'utf8'));
    assert.equal(saved.objective, 'perceptual', act);
    const d = r.report.perAct[act]!.detail;
    assert.equal(d.n, 1, act);
    assert.ok(Number.isFinite(d.mean) && d.mean > 0, `${act}'s detail ${d.mean}`);
  }
  assert.ok(r.report.bicubic.detail > 0 && r.report.bicubic.detail < 1, `bicubic's detail ${r.report.bicubic.detail}`);
  assert.equal(r.report.paired?.detail.mean, r.report.perAct.tanhexp!.detail.mean - r.report.perAct.swish!.detail.mean);
  assert.match(
    r.report.fairness,
    /trained perceptually \(adversarial weight 0\.2, each seed's discriminator starting alike\)/,
  );
});

test('a perceptual comparison on a tfjs backend is refused before its folder is made', async () => {
  const out = path.join(dir, 'sharp-on-wasm');
  await assert.rejects(
    compareJob(perceptual(out, 'wasm'), () => undefined),
    (e) => isUserError(e) && e.code === 'objective-needs-onnx',
  );
  await assert.rejects(fs.access(out), 'no folder was made');
});
