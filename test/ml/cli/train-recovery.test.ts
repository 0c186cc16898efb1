/**
 * `sr-studio train` after a run was lost midway: killed (SIGKILL) at moments of its start, or
 * stopped by a full disk (test/fixtures/disk-full.mjs). The real CLI in a child process, on the
 * tiny photos, on the wasm backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertOneError, BIN, runCli, show } from '../../helpers/cli.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const TINY = path.join(DATA, 'tiny');
const DISK_FULL = path.resolve(import.meta.dirname, '../../fixtures/disk-full.mjs');
const FAST = ['--batch', '4', '--patch', '12', '--backend', 'wasm'];

let dir = '';
let modelsDir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);

const cli = (args: string[], fullAt?: string) =>
  runCli(args, {
    cwd: dir,
    modelsDir,
    ...(fullAt ? { nodeArgs: ['--import', DISK_FULL], env: { SR_TEST_DISK_FULL: fullAt } } : {}),
  });

const readRecord = async (run: string) =>
  JSON.parse(await fs.readFile(path.join(run, 'run.json'), 'utf8')) as Record<string, unknown>;

/** Starts a training into `out` and kills it (SIGKILL) `delayMs` after its run folder appears; resolves with what it left. */
function killAfterFolder(out: string, delayMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [BIN, 'train', '--data', TINY, '--iters', '2', '--out', out, ...FAST], {
    cwd: dir,
    env: { ...process.env, SR_STUDIO_MODELS: modelsDir },
    stdio: 'ignore',
  });
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (!existsSync(out)) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }, 1);
    child.on('error', reject);
    child.on('close', async () => {
      clearInterval(poll);
      resolve(((await fs.readdir(out, { recursive: true }).catch(() => [])) as string[]).sort());
    });
  });
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-train-recovery-'));
  modelsDir = tmp('user-models');
  await fs.mkdir(modelsDir);
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio train after a lost run', () => {
  test('a training killed at any moment of its start leaves a folder that a restart with the same --out, or --resume, finishes', async () => {
    // Right as the folder appears, a little later, and once the start is well under way.
    for (const delay of [0, 40, 250]) {
      const out = tmp(`killed-${delay}`);
      const left = await killAfterFolder(out, delay);
      const again = await cli(['train', '--data', TINY, '--iters', '2', '--out', out, ...FAST]);
      let finished = again;
      if (again.code !== 0) {
        // Refused only because a run is there, which --resume then continues.
        assertOneError(again, /already holds a training run; continue it with --resume/);
        finished = await cli(['train', '--data', TINY, '--resume', out, '--backend', 'wasm']);
      }
      assert.equal(
        finished.code,
        0,
        `killed ${delay} ms after the folder appeared, leaving [${left.join(', ')}]:\n${show(again)}\n${show(finished)}`,
      );
      assert.match(finished.stderr, /Finished 2 iterations/);
      assert.equal((await readRecord(out)).state, 'finished');
    }
  });

  test('a disk that fills up stops the run with run.json saying so and keeping its best; --resume then finishes it', async () => {
    const out = tmp('full');
    // The first validation (iteration 3) is the best so far: its model is written, then the disk
    // fills while its checkpoint is written.
    const r = await cli(
      ['train', '--data', TINY, '--iters', '6', '--val-every', '3', '--out', out, ...FAST],
      'ckpt_0000003',
    );
    assertOneError(r, /The disk is full while writing "[^"]*ckpt_0000003\.safetensors"/);
    const metrics = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { iteration: number; val?: { psnrY: number } });
    const val = metrics.find((m) => m.val);
    assert.equal(val?.iteration, 3, show(r));
    const best = { iteration: 3, psnrY: val.val!.psnrY };
    let record = await readRecord(out);
    assert.equal(record.state, 'failed');
    assert.deepEqual(record.best, best);
    assert.match(
      String(record.message),
      /^Stopped at iteration 3: the disk is full while writing "[^"]*ckpt_0000003\.safetensors"; free some space and try again\.$/,
    );

    // Continued with the disk still full: no checkpoint, so it starts again from 0 and stops at once.
    const resumed = await cli(['train', '--data', TINY, '--resume', out, '--backend', 'wasm'], 'config\\.json');
    assertOneError(resumed, /The disk is full while writing "[^"]*config\.json"/);
    record = await readRecord(out);
    assert.equal(record.state, 'failed');
    assert.deepEqual(record.best, best, 'the best so far (its model is still there) is kept');
    assert.match(String(record.message), /^Stopped at iteration 0: the disk is full while writing "[^"]*config\.json"/);

    const done = await cli(['train', '--data', TINY, '--resume', out, '--backend', 'wasm']);
    assert.equal(done.code, 0, show(done));
    record = await readRecord(out);
    assert.equal(record.state, 'finished');
    assert.equal(record.message, null);
    assert.ok([3, 6].includes((record.best as { iteration: number }).iteration), JSON.stringify(record.best));
  });
});
