import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownedTempDir, processStart, removeOrphanDirs } from '../../../ml/node/owned-dirs.ts';

test('temp folders of processes that are gone are removed; those of running ones, and anything else, are kept', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-owned-'));
  try {
    // A process that has ended (and was reaped): its id is free.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const start = processStart(process.pid) ?? 'x';
    const names = {
      mine: `p-${process.pid}-${start}-aaaaaa`,
      dead: `p-${deadPid}-123-bbbbbb`,
      // This process's id with another start time: an earlier process that had the same id.
      reused: `p-${process.pid}-1${start}-cccccc`,
      other: 'p-notes',
      file: `p-${deadPid}-123-dddddd`,
    };
    for (const [k, n] of Object.entries(names)) {
      if (k === 'file') await fs.writeFile(path.join(root, n), 'x');
      else await fs.mkdir(path.join(root, n));
    }
    const removed = await removeOrphanDirs('p-', root);
    const expected = process.platform === 'linux' ? [names.dead, names.reused] : [names.dead];
    assert.deepEqual(removed.map((d) => path.basename(d)).sort(), expected.sort());
    for (const n of [names.mine, names.other, names.file]) assert.ok(existsSync(path.join(root, n)), n);

    const made = await ownedTempDir('p-', root);
    assert.match(path.basename(made), new RegExp(`^p-${process.pid}-${start}-[A-Za-z0-9]{6}$`));
    assert.deepEqual(await removeOrphanDirs('p-', root), [], 'its own folders stay');
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
