/** What the host keeps of a running job for a page that re-attaches: bounded, and in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGES_KEPT, JobBook, MAX_LOSS_POINTS } from '../../../main/host/job-book.ts';

const IMAGE = { dataUrl: 'data:image/png;base64,AA==', width: 2, height: 2 };
const spec = {
  data: '/d',
  val: null,
  preset: 'tiny',
  scale: 2,
  activation: 'tanhexp',
  iterations: 10,
  run: { kind: 'new', parent: null },
} as const;

test('a training: the latest state, progress and preview, every validation point, thinned loss points; gone when it ends', () => {
  const book = new JobBook();
  book.start('t', 'train', spec);
  book.record('job:state', { jobId: 't', state: 'running', message: 'Starting…' });
  for (let i = 1; i <= MAX_LOSS_POINTS + 1; i++) {
    book.record('job:metrics', { jobId: 't', iteration: i, loss: 1 / i });
    if (i % 1000 === 0) book.record('job:metrics', { jobId: 't', iteration: i, psnrY: 30, bicubicPsnrY: 29 });
    book.record('job:progress', { jobId: 't', fraction: i / 10_000, message: `iteration ${i}` });
  }
  book.record('job:preview', { jobId: 't', x: 0, y: 0, width: 2, height: 2, image: IMAGE });
  book.record('job:preview', { jobId: 't', x: 0, y: 0, width: 2, height: 2, image: { ...IMAGE, width: 3 } });
  book.record('job:state', { jobId: 't', state: 'paused', message: 'Paused' });
  book.record('job:metrics', { jobId: 'other', iteration: 1, loss: 1 });

  const [job] = book.list();
  assert.equal(job!.state, 'paused');
  const of = (c: string) => job!.events.filter((e) => e.channel === c);
  assert.equal(of('job:state').length, 1);
  assert.equal(of('job:progress').length, 1);
  assert.equal((of('job:progress')[0]!.payload as { message: string }).message, `iteration ${MAX_LOSS_POINTS + 1}`);
  assert.deepEqual(
    of('job:preview').map((e) => (e.payload as { image: { width: number } }).image.width),
    [3],
  );
  const metrics = of('job:metrics').map((e) => e.payload as { iteration: number; loss?: number; psnrY?: number });
  const losses = metrics.filter((m) => m.loss !== undefined);
  assert.ok(
    losses.length <= MAX_LOSS_POINTS && losses.length > MAX_LOSS_POINTS / 2 - 1,
    `${losses.length} loss points`,
  );
  assert.equal(losses[0]!.iteration, 1, 'the curve still starts at the start');
  assert.deepEqual(
    metrics.filter((m) => m.psnrY !== undefined).map((m) => m.iteration),
    [1000, 2000, 3000, 4000],
    'every validation point',
  );
  const its = losses.map((m) => m.iteration);
  assert.deepEqual(
    its,
    [...its].sort((a, b) => a - b),
    'in order',
  );

  book.record('job:done', { jobId: 't', summary: 'Finished', result: { kind: 'cancelled' } });
  assert.deepEqual(book.list(), []);
});

test("an upscale: each file's result, with the images of the newest few only; tiles are not kept", () => {
  const book = new JobBook();
  book.start('u', 'upscale', { files: ['/a.png'], model: 'm', format: 'png', outputDir: null, overwrite: false });
  for (let i = 0; i < IMAGES_KEPT + 5; i++) {
    book.record('job:preview', { jobId: 'u', file: `/in${i}.png`, x: 0, y: 0, width: 2, height: 2, image: IMAGE });
    book.record('job:file-done', {
      jobId: 'u',
      file: `/in${i}.png`,
      output: `/out${i}.png`,
      width: 4,
      height: 4,
      result: IMAGE,
    });
  }
  const unreadable = {
    jobId: 'u',
    file: '/bad.png',
    message: '"/bad.png" could not be read as an image (bad PNG signature); check that it is a complete file.',
    code: 'unreadable-image',
    facts: { file: '/bad.png', why: 'bad PNG signature' },
  } as const;
  book.record('job:file-error', unreadable);
  const [job] = book.list();
  const done = job!.events
    .filter((e) => e.channel === 'job:file-done')
    .map((e) => e.payload as { result: { dataUrl: string; width: number } });
  assert.equal(done.length, IMAGES_KEPT + 5);
  assert.equal(done.filter((d) => d.result.dataUrl).length, IMAGES_KEPT);
  assert.ok(
    done.slice(0, 5).every((d) => d.result.dataUrl === '' && d.result.width === 2),
    'older results keep their size only',
  );
  assert.equal(job!.events.filter((e) => e.channel === 'job:preview').length, 0);
  // A reloaded page gets a file's error as it came: its sentence, code and facts.
  assert.deepEqual(job!.events.at(-1), { channel: 'job:file-error', payload: unreadable });
});

test('size: the jobs started and not yet ended (job:done or job:error)', () => {
  const book = new JobBook();
  assert.equal(book.size, 0);
  book.start('a', 'train', spec);
  book.start('b', 'train', spec);
  book.start('c', 'train', spec);
  book.record('job:state', { jobId: 'a', state: 'running', message: 'Starting…' });
  book.record('job:done', { jobId: 'other', summary: 'Finished', result: { kind: 'cancelled' } });
  assert.equal(book.size, 3);
  book.record('job:done', { jobId: 'a', summary: 'Finished', result: { kind: 'cancelled' } });
  book.record('job:error', { jobId: 'b', message: 'failed' });
  assert.equal(book.size, 1);
  assert.deepEqual(
    book.list().map((j) => j.jobId),
    ['c'],
  );
});
