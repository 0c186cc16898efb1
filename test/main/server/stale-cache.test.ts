/**
 * The viewer's temp folders (tile cache, compare-models outputs) of a server that was killed
 * (kill -9: it could not clean up) are removed when the next server starts; those of a server still
 * running are kept.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.ts';
import { startServerProcess, type ServerProcess } from './child.ts';

const started: ServerProcess[] = [];
let tmp = '';

after(async () => {
  for (const s of started) await s.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** The server's temp folders in `tmp`, by kind. */
async function foldersOf(pid: number): Promise<string[]> {
  return (await fs.readdir(tmp))
    .filter((n) => n.startsWith(`sr-studio-tiles-${pid}-`) || n.startsWith(`sr-studio-views-${pid}-`))
    .map((n) => path.join(tmp, n));
}

describe('temp folders of killed servers', () => {
  test('a server started after another was killed removes its folders and keeps a running one’s', {
    timeout: 120_000,
  }, async () => {
    tmp = await tempDir('sr-studio-temp-');
    const env = { TMPDIR: tmp };
    const [killed, running] = await Promise.all([startServerProcess([], env), startServerProcess([], env)]);
    started.push(killed, running);
    const left = await foldersOf(killed.pid);
    const kept = await foldersOf(running.pid);
    assert.equal(left.length, 2, 'a tile cache and a folder for comparisons');
    assert.equal(kept.length, 2);
    // What a cache holds once images were viewed.
    for (const d of [...left, ...kept]) await fs.writeFile(path.join(d, 'L0.v'), Buffer.alloc(1 << 20));
    process.kill(-killed.pid, 'SIGKILL');
    for (let i = 0; i < 200 && killed.exited() === null; i++) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(killed.exited(), null, 'killed');
    assert.ok(
      left.every((d) => existsSync(d)),
      'a killed server leaves its folders behind',
    );

    const next = await startServerProcess([], env);
    started.push(next);
    assert.deepEqual(
      left.filter((d) => existsSync(d)),
      [],
      'the killed server’s folders are gone',
    );
    assert.ok(
      kept.every((d) => existsSync(path.join(d, 'L0.v'))),
      'the running server’s folders are kept',
    );
    assert.equal((await foldersOf(next.pid)).length, 2);
  });
});
