/**
 * runs:list says how each earlier run ended in the app's words: a run's record keeps the error that
 * ended it as data beside the command line's sentence (run.json `message`), and the app words that
 * error for its own controls. The runs are trained for real (tiny, on wasm) into the host's runs
 * folder; the engine is a stub.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunInfo } from '../../../main/api.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { errors } from '../../../ml/errors.ts';
import { trainJob, type TrainJobSpec } from '../../../ml/jobs/train.ts';
import { RunFolder } from '../../../ml/node/run-folder.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { TrainControl } from '../../../ml/train/events.ts';
import { useBackend } from '../../helpers/backends.ts';
import { DATA, StubEngine, tempDir } from '../helpers.ts';

/** A flag of the command line (`--resume`, `--backend`, `-o`): the app names its controls instead. */
const FLAG = /(^|[\s(])--?[a-z]/;

let dir = '';
let host: Host;

before(async () => {
  await useBackend('wasm', 'train');
  dir = await tempDir();
  host = await createHost({
    appRoot: path.resolve(import.meta.dirname, '../../..'),
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    emit: () => undefined,
    dialogs: { openImages: async () => [], openFolder: async () => null },
    shell: { reveal: async () => undefined },
    engine: new StubEngine().factory,
  });
  await fs.mkdir(host.context.runsDir, { recursive: true });
});

after(async () => {
  await host.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/**
 * A tiny run in the host's runs folder, new or continued, its events seen by `emit` (which may
 * stop it).
 */
const run = (
  name: string,
  emit: Parameters<typeof trainJob>[1],
  control = new TrainControl(),
  kind: 'new' | 'continue' = 'new',
) => {
  const dir = path.join(host.context.runsDir, name);
  const spec: TrainJobSpec = {
    data: path.join(DATA, 'tiny'),
    val: null,
    settings: {
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 20,
      batch: 2,
      patch: 12,
      checkpointEvery: 2,
    },
    run: kind === 'new' ? { kind, dir, parent: host.context.runsDir } : { kind, dir },
    backend: { name: 'wasm', device: 'cpu' },
    threads: 0,
    command: 'SR Studio app',
    control,
  };
  return trainJob(spec, emit);
};

const listed = async (name: string): Promise<RunInfo> => {
  const runs = (await (host.handlers['runs:list'] as (a: unknown) => Promise<RunInfo[]>)(undefined)) ?? [];
  const r = runs.find((x) => x.name === name);
  assert.ok(r, `${name} is listed: ${runs.map((x) => x.name).join(', ')}`);
  return r;
};
const record = async (name: string) => (await new RunFolder(path.join(host.context.runsDir, name), 1).readRecord())!;

describe("runs:list: how a run ended, in the app's words", () => {
  test('a stopped run (cancelled, with a checkpoint) names no command-line flag', async () => {
    const control = new TrainControl();
    const r = await run('stopped', (e) => void (e.type === 'checkpoint' && control.cancel()), control);
    assert.equal(r.reason, 'cancelled');
    const info = await listed('stopped');
    assert.equal(info.state, 'stopped');
    assert.equal(info.message, null, 'a cancel is no error: the list says "stopped at N" from its state');
  });

  test('a run stopped by an error: the app says it for its controls; run.json keeps the command line sentence too', async () => {
    // The backend is lost at the first checkpoint (as a GPU device can be).
    const lost = errors.backendFailed('webgpu', 'the device was lost');
    await assert.rejects(
      run('lost', (e) => {
        if (e.type === 'checkpoint') throw lost;
      }),
      (e: Error) => e === lost || e.message === lost.message,
    );
    const rec = await record('lost');
    assert.equal(rec.state, 'failed');
    assert.deepEqual(rec.error, lost.data, 'the error as data');
    // The command line's sentence is as it was.
    assert.equal(
      rec.message,
      `Stopped at iteration ${rec.iteration}: the webgpu backend could not start (the device was lost); choose another with --backend or run "sr-studio info".`,
    );
    const info = await listed('lost');
    assert.equal(info.state, 'failed');
    assert.equal(
      info.message,
      `Stopped at iteration ${rec.iteration}: the webgpu backend could not start (the device was lost); choose another backend in Settings.`,
    );
    assert.doesNotMatch(info.message!, FLAG);
    // Continued to its end, it no longer says how it failed.
    await run('lost', () => undefined, new TrainControl(), 'continue');
    assert.deepEqual([(await record('lost')).error, (await listed('lost')).message], [null, null]);
  });

  test('a run whose loss diverged, and a record of an older SR Studio that has only its sentence', async () => {
    await run('diverged', () => undefined);
    const folder = new RunFolder(path.join(host.context.runsDir, 'diverged'), 1);
    const diverged = errors.trainingDiverged(25, 2);
    await folder.writeRecord({ state: 'failed', iteration: 7, message: diverged.message, error: diverged.data });
    const info = await listed('diverged');
    assert.match(info.message!, /^Training stopped: 25 steps in a row .* \(iteration 2\) was kept as the model; /);
    assert.doesNotMatch(info.message!, FLAG);
    assert.match((await record('diverged')).message!, /try a lower --lr/);

    // Written before records kept the error (or with a code this version does not know): the sentence as written.
    await folder.writeRecord({ message: 'The run ended with an error.', error: null });
    assert.equal((await listed('diverged')).message, 'The run ended with an error.');
    await folder.writeRecord({ error: { code: 'no-such-code', facts: {} } as never });
    assert.equal((await listed('diverged')).message, 'The run ended with an error.');
  });

  test('each run says what it trains for: pixel error, or perceptual with its adversarial weight', async () => {
    const ready = (objective: 'pixel' | 'perceptual') =>
      RunFolder.create(
        path.join(host.context.runsDir, `unstarted-${objective}`),
        3,
        makeTrainConfig({
          preset: 'tiny',
          objective,
          ...(objective === 'perceptual' ? { advWeight: 0.3, patch: 16 } : {}),
        }),
      );
    await ready('pixel');
    await ready('perceptual');
    const pixel = await listed('unstarted-pixel');
    assert.deepEqual([pixel.objective, pixel.advWeight], ['pixel', null]);
    const sharp = await listed('unstarted-perceptual');
    assert.deepEqual([sharp.objective, sharp.advWeight], ['perceptual', 0.3]);
  });
});
