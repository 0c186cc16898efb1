/**
 * Short jobs beside a training, through the real workers (wasm): an upscale started during a
 * training runs at once and ends first, the training says it shares the CPU meanwhile and then
 * completes; trainings still queue behind each other; the training's worker ends once idle.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EngineHost } from '../../../main/host/engine-host.ts';
import { COFFEE, DATA, type EventLog, tinyModel } from '../helpers.ts';
import { startWasmEngine, stopWasmEngine } from './wasm-engine.ts';

let dir = '';
let model = '';
let log: EventLog;
let host: EngineHost;

before(async () => {
  ({ dir, log, host } = await startWasmEngine({ keepWarmMs: 300 }));
  model = await tinyModel(path.join(dir, 'tiny_x2.safetensors'));
});

after(() => stopWasmEngine({ host, dir }));

const train = (iterations: number) =>
  host.startJob({
    type: 'train',
    spec: {
      data: path.join(DATA, 'tiny'),
      val: null,
      settings: {
        preset: 'tiny',
        scale: 2,
        activation: 'tanhexp',
        iterations,
        batch: 2,
        patch: 12,
        valEvery: 100,
        previewEvery: 100,
      },
      run: { kind: 'new', parent: dir },
    },
  });

/** Resolves once the training has trained `n` iterations. */
const trained = (jobId: string, n: number) =>
  log.wait((e) => e.channel === 'job:metrics' && e.payload.jobId === jobId && e.payload.iteration >= n);

const iterationsOf = (jobId: string) => log.of('job:metrics', jobId).filter((m) => m.loss !== undefined).length;

describe('short jobs beside a training', () => {
  test('an upscale started during a training finishes while it still runs; the training says it shared the CPU, then completes', async () => {
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const training = train(300);
    await trained(training, 5);
    const upscale = host.startJob({
      type: 'upscale',
      spec: { files: [COFFEE], model: model, format: 'png', outputDir: out, overwrite: false, tile: 32 },
    });
    assert.equal((await log.end(upscale, 20_000)).channel, 'job:done');
    assert.equal(log.of('job:done', training).length, 0, 'the training still runs when the upscale is done');
    assert.ok(iterationsOf(training) < 300, `${iterationsOf(training)} iterations trained when the upscale ended`);
    assert.deepEqual(
      log.of('job:state', upscale).map((s) => s.state),
      ['running'],
      'the upscale never waited',
    );
    assert.deepEqual(await fs.readdir(out), ['coffee_64x64_x2.png']);

    const end = await log.end(training);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    assert.equal((end.payload as { result: { reason: string } }).result.reason, 'finished');
    assert.equal(iterationsOf(training), 300);

    const messages = log.of('job:progress', training).map((p) => p.message);
    const shared = messages.findIndex((m) => /sharing the CPU with an upscale/.test(m));
    assert.ok(shared >= 0, `the training said it shared the CPU: ${messages.slice(0, 5).join(' | ')}`);
    assert.ok(
      messages.slice(shared).some((m) => /^iteration \d+ of 300/.test(m) && !/sharing/.test(m)),
      'and said no more of it once the upscale was done',
    );
  });

  test('a training started during another waits for it, and says so; the training worker ends once idle', async () => {
    const first = train(400);
    const second = train(2);
    await trained(first, 2);
    const waits = log
      .of('job:state', second)
      .filter((s) => s.state === 'queued')
      .map((s) => s.message);
    assert.equal(waits.at(-1), 'Waiting for the running training to finish…');
    assert.equal(host.threadCount, 2, 'the short jobs’ worker and the training one');
    host.control(first, 'cancel');
    assert.equal((await log.end(first)).channel, 'job:done');
    assert.equal((await log.end(second)).channel, 'job:done');
    const deadline = Date.now() + 10_000;
    while (host.threadCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(host.threadCount, 1, 'the training worker ended once idle');
    // A later training starts it again.
    const third = train(2);
    assert.equal((await log.end(third)).channel, 'job:done');
  });
});
