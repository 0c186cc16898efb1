/**
 * A run folder is never stranded: every state a training killed at some moment of its start can
 * leave (by this version or an earlier one, which made its folders and run.json before config.json)
 * is either started anew or continued.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isUserError } from '../../../ml/errors.ts';
import { RunFolder } from '../../../ml/node/run-folder.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';

let root = '';
let n = 0;
before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-run-folder-'));
});
after(() => fs.rm(root, { recursive: true, force: true }));

const config = makeTrainConfig({ iterations: 10 });

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'close');
  return child.pid!;
}

const record = (pid: number) =>
  JSON.stringify({
    data: '/photos',
    val: null,
    command: 'sr-studio train',
    backend: 'cpu',
    created: '',
    updated: '',
    state: 'running',
    pid,
    iteration: 0,
    best: null,
    message: null,
  });

/** A folder holding `files` (name → contents; a name ending in / is a folder). */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = path.join(root, `run-${n++}`);
  await fs.mkdir(dir);
  for (const [name, text] of Object.entries(files)) {
    if (name.endsWith('/')) await fs.mkdir(path.join(dir, name), { recursive: true });
    else await fs.writeFile(path.join(dir, name), text);
  }
  return dir;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isUserError(e) ? e.code : `bug: ${String(e)}`),
  );

test('whatever moment a start was killed, its folder is started anew (before config.json: --resume says so) or continued (after)', async () => {
  const dead = await deadPid();
  const states: Record<string, Record<string, string>> = {
    'an empty folder': {},
    'a temp file of config.json': { [`.config.json.${dead}.0badc0de.tmp`]: '{' },
    'empty checkpoints/ and previews/ and the write test': {
      'checkpoints/': '',
      'previews/': '',
      [`.write-test-${dead}`]: '',
    },
    'those and run.json of the killed process': { 'checkpoints/': '', 'previews/': '', 'run.json': record(dead) },
    'run.json alone, half written': { 'run.json': '{"data": "/pho' },
  };
  for (const [what, files] of Object.entries(states)) {
    const dir = await folderWith(files);
    assert.equal(await code(RunFolder.open(dir)), 'not-a-run', what);
    await assert.rejects(RunFolder.open(dir), /holds no training yet .*start the run again with --out/, what);
    const folder = await RunFolder.create(dir, config.keepCheckpoints, config);
    assert.deepEqual(await RunFolder.readConfig(dir), config, `${what}: config.json is written`);
    const left = await fs.readdir(dir);
    assert.deepEqual(
      left.filter((f) => !f.startsWith('.')).sort(),
      ['checkpoints', 'config.json', 'previews'],
      `${what}: the leftovers went`,
    );
    assert.deepEqual(
      left.filter((f) => f.endsWith('.tmp')),
      [],
      `${what}: no temp file is left`,
    );
    assert.equal(await folder.readRecord(), undefined);
  }
  // Once config.json is there, --resume continues the run from iteration 0.
  const json = JSON.stringify(config);
  for (const files of [
    { 'config.json': json },
    { 'config.json': json, 'checkpoints/': '', 'previews/': '', 'run.json': record(dead) },
  ] as Record<string, string>[]) {
    const dir = await folderWith(files);
    const opened = await RunFolder.open(dir);
    assert.deepEqual(opened.config, config);
    assert.equal(opened.checkpoint, undefined, 'no checkpoint: it starts again from 0');
    assert.equal(await code(RunFolder.create(dir, config.keepCheckpoints, config)), 'run-exists');
  }
});

test('anything of value is never taken over: a file of the user, a checkpoint, a run another process trains', async () => {
  for (const files of [
    { 'notes.txt': 'mine' },
    { 'checkpoints/': '', 'checkpoints/ckpt_0000002.safetensors': 'x' },
    { 'previews/': '', 'previews/0000002.png': 'x' },
  ] as Record<string, string>[]) {
    const dir = await folderWith(files);
    assert.equal(
      await code(RunFolder.create(dir, config.keepCheckpoints, config)),
      'folder-not-empty',
      JSON.stringify(Object.keys(files)),
    );
    assert.equal(await code(RunFolder.open(dir)), 'not-a-run');
    await assert.rejects(RunFolder.open(dir), /is not a training run folder \(it has no config\.json\)/);
  }
  const busy = await folderWith({ 'checkpoints/': '', 'run.json': record(process.ppid) });
  await assert.rejects(
    RunFolder.create(busy, config.keepCheckpoints, config),
    new RegExp(`is being trained now \\(process ${process.ppid}\\)`),
  );
  assert.deepEqual((await fs.readdir(busy)).sort(), ['checkpoints', 'run.json'], 'untouched');
});

test('of two starts racing for one folder, exactly one gets it', async () => {
  const dir = path.join(root, 'race');
  const results = await Promise.all([0, 1, 2].map(() => code(RunFolder.create(dir, config.keepCheckpoints, config))));
  assert.deepEqual(results.sort(), ['ok', 'run-exists', 'run-exists']);
});
