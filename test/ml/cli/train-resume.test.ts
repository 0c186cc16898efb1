/**
 * `sr-studio train --resume RUN` on the folders the run records: no --data needed, a recorded
 * folder that moved is named in one sentence (and taken from --data where it is now), and a
 * finished run trains further with a larger --iters (the app's "Train further" is the same
 * continue). The real CLI in a child process, a few iterations on the tiny photos, on wasm.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertOneError, jsonLines, runCli, show } from '../../helpers/cli.ts';
import { summariseRun } from '../../../ml/node/runs.ts';
import { decodeModel } from '../../../ml/weights.ts';

const TINY = path.resolve(import.meta.dirname, '../../../photos/tiny');
const FAST = ['--batch', '2', '--patch', '12', '--backend', 'wasm', '--threads', '0'];

let dir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir: tmp('models') });
const record = async (run: string) =>
  JSON.parse(await fs.readFile(path.join(run, 'run.json'), 'utf8')) as Record<string, unknown>;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-resume-'));
  await fs.mkdir(tmp('models'));
  await fs.cp(TINY, tmp('photos'), { recursive: true });
  await fs.cp(TINY, tmp('checks'), { recursive: true });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio train --resume', () => {
  test('a finished run: no --data needed; the same end is refused in one sentence, a larger --iters trains it further and every record says so', async () => {
    const run = tmp('run');
    const first = await cli([
      'train',
      '--data',
      tmp('photos'),
      '--val',
      tmp('checks'),
      '--iters',
      '4',
      '--val-every',
      '2',
      '--out',
      run,
      ...FAST,
    ]);
    assert.equal(first.code, 0, show(first));

    const again = await cli(['train', '--resume', run, '--backend', 'wasm']);
    assertOneError(
      again,
      /^error: The run in "[^"]*run" has trained 4 iterations already; to train it further, pass --iters with more than 4\.$/m,
    );

    const further = await cli([
      'train',
      '--resume',
      run,
      '--iters',
      '7',
      '--backend',
      'wasm',
      '--threads',
      '0',
      '--json',
    ]);
    assert.equal(further.code, 0, show(further));
    const lines = jsonLines(further);
    assert.equal(lines.find((x) => x.type === 'started')?.iteration, 4, 'it goes on from its last checkpoint');
    assert.deepEqual(
      lines.filter((x) => x.type === 'progress').map((x) => x.iteration),
      [5, 6, 7],
    );
    assert.equal(lines.at(-1)?.reason, 'finished');

    const rec = await record(run);
    assert.equal(rec.state, 'finished');
    assert.equal(rec.iteration, 7);
    assert.equal(rec.iterations, 7, 'run.json records the raised end');
    assert.equal(rec.data, tmp('photos'), 'the recorded folders are kept');
    assert.equal(rec.val, tmp('checks'));
    const listed = await summariseRun(run);
    assert.equal(listed?.state, 'finished');
    assert.equal(listed?.iterations, 7, "the run lists with its raised end, not config.json's 4");

    const model = decodeModel(await fs.readFile(path.join(run, 'model_best.safetensors')), 'model');
    assert.equal(model.training?.trainedIterations, 7, 'the model says how far its run got');
    assert.ok(typeof model.training?.iterations === 'number' && model.training.iterations <= 7);
    assert.equal(model.training?.val, tmp('checks'), 'and which photos its scores are on');
  });

  test('a recorded folder that moved is named in one sentence, and --data where it is now continues the run', async () => {
    const run = tmp('run-moved');
    const first = await cli(['train', '--data', tmp('photos'), '--iters', '2', '--out', run, ...FAST]);
    assert.equal(first.code, 0, show(first));
    await fs.rename(tmp('photos'), tmp('photos-moved'));
    try {
      const gone = await cli(['train', '--resume', run, '--iters', '3', '--backend', 'wasm']);
      assertOneError(
        gone,
        /^error: The training folder "[^"]*photos" that the run in "[^"]*run-moved" was trained on is not there any more; name where it is now with --data DIR\.$/m,
      );
      assert.equal((await record(run)).iteration, 2, 'the run is untouched');

      const moved = await cli(['train', '--resume', run, '--data', tmp('photos-moved'), '--iters', '3', ...FAST]);
      assert.equal(moved.code, 0, show(moved));
      const rec = await record(run);
      assert.equal(rec.iteration, 3);
      assert.equal(rec.data, tmp('photos-moved'), 'run.json records where the photos are now');
    } finally {
      await fs.rename(tmp('photos-moved'), tmp('photos'));
    }
  });
});
