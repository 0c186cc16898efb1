/**
 * The upscale job (ml/jobs/upscale.ts) on its own, as both front ends run it: its events for a
 * batch with a missing input and a file that is not an image, its typed result, the outputs it
 * writes, its refusal to replace a file, and cancelling part-way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { upscaleJob, type UpscaleJobEvent } from '../../../ml/jobs/upscale.ts';
import { loadModelFile } from '../../../ml/node/models.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const MODEL = path.resolve(import.meta.dirname, '../../../assets/models/tanhexp_x2.safetensors');
const COFFEE = path.join(DATA, 'tiny/coffee_64x64.png');
const CHELSEA = path.join(DATA, 'tiny/chelsea_96x72.png');
let dir = '';
let model: Awaited<ReturnType<typeof loadModelFile>>;

before(async () => {
  await useBackend('wasm', 'upscale');
  model = await loadModelFile(MODEL);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-upscale-job-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const spec = (files: string[], outputDir: string, more: { overwrite?: boolean; tile?: number } = {}) =>
  ({ files, model, backend: 'wasm', outputDir, format: 'png', overwrite: false, ...more }) as const;

test('a batch: a missing input is a problem first, a file that is not an image fails alone, the photos are upscaled x2 in order', async () => {
  const out = path.join(dir, 'batch');
  const broken = path.join(dir, 'broken.png');
  await fs.writeFile(broken, 'not a png');
  const events: UpscaleJobEvent[] = [];
  const r = await upscaleJob(
    spec([path.join(dir, 'missing.png'), COFFEE, broken, CHELSEA], out),
    (e) => void events.push(e),
  );

  assert.equal(events[0]!.type, 'problem');
  assert.deepEqual(
    events.filter((e) => e.type === 'file').map((e) => e.type === 'file' && path.basename(e.input)),
    ['coffee_64x64.png', 'broken.png', 'chelsea_96x72.png'],
  );
  const done = events.filter((e) => e.type === 'file-done');
  assert.deepEqual(
    done.map((e) => e.type === 'file-done' && [path.basename(e.input), e.width, e.height]),
    [
      ['coffee_64x64.png', 128, 128],
      ['chelsea_96x72.png', 192, 144],
    ],
  );
  const failed = events.filter((e) => e.type === 'file-error');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.type === 'file-error' && failed[0]!.input, broken);
  // Progress of a file comes between its file and file-done events, rising to 1.
  const coffee = events.slice(
    events.findIndex((e) => e.type === 'file'),
    events.findIndex((e) => e.type === 'file-done'),
  );
  const fractions = coffee.flatMap((e) => (e.type === 'progress' ? [e.fraction] : []));
  assert.ok(fractions.length > 0 && fractions.at(-1) === 1, JSON.stringify(fractions));
  assert.deepEqual(
    fractions,
    [...fractions].sort((a, b) => a - b),
  );

  assert.equal(r.files, 3, 'inputs found (the missing one is not)');
  assert.equal(r.upscaled, 2);
  assert.equal(r.failed, 2, 'the missing input and the broken file');
  assert.equal(r.cancelled, false);
  assert.deepEqual(
    r.failures.map((f) => path.basename(f.file)),
    ['missing.png', 'broken.png'],
  );
  assert.deepEqual(
    r.outputs,
    done.map((e) => e.type === 'file-done' && e.output),
  );
  for (const [o, w, h] of [
    [r.outputs[0]!, 128, 128],
    [r.outputs[1]!, 192, 144],
  ] as const) {
    const meta = await sharp(o).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', w, h]);
  }
});

test('an output that is there already is not replaced without overwrite: that file fails, with the reason', async () => {
  const out = path.join(dir, 'again');
  const first = await upscaleJob(spec([COFFEE], out), () => undefined);
  const before = await fs.stat(first.outputs[0]!);
  const events: UpscaleJobEvent[] = [];
  const second = await upscaleJob(spec([COFFEE], out), (e) => void events.push(e));
  assert.equal(second.upscaled, 0);
  assert.equal(second.failed, 1);
  const error = events.find((e) => e.type === 'file-error');
  assert.ok(error?.type === 'file-error' && /overwrite/i.test(error.error.message), JSON.stringify(error));
  assert.equal((await fs.stat(first.outputs[0]!)).mtimeMs, before.mtimeMs, 'left as it was');
  const third = await upscaleJob(spec([COFFEE], out, { overwrite: true }), () => undefined);
  assert.equal(third.upscaled, 1);
});

test('cancelling stops at the next tile: the result says so and the file in hand is not written', async () => {
  const out = path.join(dir, 'cancel');
  const abort = new AbortController();
  const events: UpscaleJobEvent[] = [];
  const r = await upscaleJob(
    spec([CHELSEA, COFFEE], out, { tile: 16 }),
    (e) => {
      events.push(e);
      if (e.type === 'progress' && !abort.signal.aborted) abort.abort();
    },
    abort.signal,
  );
  assert.equal(r.cancelled, true);
  assert.equal(r.upscaled, 0);
  assert.deepEqual(r.outputs, []);
  assert.equal(events.filter((e) => e.type === 'file').length, 1, 'the next file is not started');
  assert.ok(!events.some((e) => e.type === 'file-done' || e.type === 'file-error'), 'a cancel is not a failure');
  assert.deepEqual(
    (await fs.readdir(out).catch(() => [])).filter((n) => !n.startsWith('.')),
    [],
    'nothing written',
  );
});
