/**
 * The host with its real engine (wasm): an upscale requested during a training runs beside it, and
 * jobs:list (what a reloaded page re-attaches to) lists both as running meanwhile.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JobInfo, RequestChannel } from '../../../main/api.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { COFFEE, DATA, EventLog, tempDir, tinyModel } from '../helpers.ts';

let dir = '';
let host: Host;
const log = new EventLog();
/** jobs:list as answered when the upscale reported its first progress. */
let listed: Promise<JobInfo[]> | undefined;

before(async () => {
  dir = await tempDir();
  await tinyModel(path.join(dir, 'models', 'own.safetensors'));
  host = await createHost({
    appRoot: path.resolve(import.meta.dirname, '../../..'),
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    backend: 'wasm',
    previewIntervalMs: 0,
    dialogs: { openImages: async () => [], openFolder: async () => null },
    shell: { reveal: async () => undefined },
    emit: (channel, payload) => {
      // Asked from inside the event, so the upscale is certainly still running.
      if (channel === 'job:progress' && !listed && upscaleId && (payload as { jobId?: string }).jobId === upscaleId)
        listed = call('jobs:list') as Promise<JobInfo[]>;
      log.emit(channel, payload);
    },
  });
});

after(async () => {
  await host?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

let upscaleId: string | undefined;
const call = (channel: RequestChannel, arg?: unknown) =>
  (host.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);

describe('an upscale beside a training, at the host', () => {
  test('both run at once and jobs:list lists both as running', async () => {
    const train = {
      data: path.join(DATA, 'tiny'),
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 100_000,
      run: { kind: 'new', parent: null },
    };
    const { jobId: trainId } = (await call('job:train', train)) as { jobId: string };
    await log.wait((e) => e.channel === 'job:metrics' && e.payload.jobId === trainId, 60_000);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    ({ jobId: upscaleId } = (await call('job:upscale', {
      files: [COFFEE],
      model: 'user:own.safetensors',
      format: 'png',
      outputDir: out,
      overwrite: false,
    })) as { jobId: string });
    const end = await log.end(upscaleId, 20_000);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    assert.equal(
      log.of('job:done', trainId).length + log.of('job:error', trainId).length,
      0,
      'the training still runs',
    );

    const jobs = await listed!;
    const states = Object.fromEntries(jobs.map((j) => [j.kind, { id: j.jobId, state: j.state }]));
    assert.deepEqual(states, {
      train: { id: trainId, state: 'running' },
      upscale: { id: upscaleId, state: 'running' },
    });
    // Once done, the upscale leaves the list and the training stays.
    assert.deepEqual(
      ((await call('jobs:list')) as JobInfo[]).map((j) => j.jobId),
      [trainId],
    );

    await call('job:cancel', { jobId: trainId });
    const stopped = await log.end(trainId, 60_000);
    assert.equal(stopped.channel, 'job:done', JSON.stringify(stopped.payload));
  });
});
