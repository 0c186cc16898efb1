/** Atomic writes, the no-clobber mode, leftover temp files and the liveness check behind run locks. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { alive, removeStaleTemps, tempPathFor, writeFileAtomic } from '../../../ml/node/atomic.ts';
import { isUserError } from '../../../ml/errors.ts';

let dir = '';
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-atomic-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** A process id that is surely not running: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'close');
  return child.pid!;
}

test('alive: this process yes, an ended one no, and a killed one its parent has not reaped (a zombie) no', async (t) => {
  assert.equal(alive(process.pid), true);
  assert.equal(alive(await deadPid()), false);
  if (process.platform !== 'linux') return t.skip('zombies are checked through /proc');
  // The shell starts a short sleep, then becomes a long one that never reaps it: the short one stays a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    await new Promise((r) => setTimeout(r, 400));
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    assert.match(stat.slice(stat.lastIndexOf(')') + 2), /^Z/, 'the test made a zombie');
    assert.equal(alive(pid), false, 'a zombie runs no more');
    assert.equal(alive(parent.pid!), true, 'its parent is running');
  } finally {
    parent.kill('SIGKILL');
  }
});

test('writeFileAtomic replaces by default, refuses an existing file with replace: false, and leaves no temp file', async () => {
  const target = path.join(dir, 'out.bin');
  await writeFileAtomic(target, Buffer.from('one'));
  await writeFileAtomic(target, Buffer.from('two'));
  assert.equal(await fs.readFile(target, 'utf8'), 'two');
  await assert.rejects(
    writeFileAtomic(target, Buffer.from('three'), { replace: false }),
    (e: unknown) => isUserError(e) && /out\.bin/.test(String((e as Error).message)),
  );
  assert.equal(await fs.readFile(target, 'utf8'), 'two', 'the file that was there is untouched');
  assert.deepEqual(
    (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('removeStaleTemps removes the temp files of writers that are gone and keeps those of live ones', async () => {
  const sub = await fs.mkdtemp(path.join(dir, 'temps-'));
  const dead = `.photo_x2.png.${await deadPid()}.0badc0de.tmp`;
  const mine = `.photo_x2.png.${process.pid}.00c0ffee.tmp`;
  const other = 'photo.png.tmp'; // not one of ours
  for (const n of [dead, mine, other]) await fs.writeFile(path.join(sub, n), 'x');
  assert.equal(await removeStaleTemps(sub), 1);
  assert.deepEqual((await fs.readdir(sub)).sort(), [mine, other].sort());
  assert.equal(await removeStaleTemps(path.join(dir, 'no-such-folder')), 0);
});

test('a target whose temp name would pass 255 bytes is still written: the temp name is cut short, on a character boundary', async () => {
  const sub = await fs.mkdtemp(path.join(dir, 'long-'));
  const name = `${'é'.repeat(122)}x_x2.png`; // 252 bytes; ".NAME.PID.HEX.tmp" would be about 275
  assert.equal(Buffer.byteLength(name), 252);
  const target = path.join(sub, name);
  const tmp = tempPathFor(target);
  const base = path.basename(tmp);
  assert.ok(Buffer.byteLength(base) <= 255, `${Buffer.byteLength(base)} bytes`);
  assert.equal(Buffer.from(base).toString(), base, 'valid UTF-8: no character cut in two');
  assert.ok(base.startsWith('.éé') && base.endsWith('.tmp'));
  await writeFileAtomic(target, Buffer.from('done'));
  assert.equal(await fs.readFile(target, 'utf8'), 'done');
  assert.deepEqual(await fs.readdir(sub), [name]);
  // A cut-short temp file of a writer that is gone is still cleared.
  await fs.writeFile(tmp.replace(`.${process.pid}.`, `.${await deadPid()}.`), 'x');
  assert.equal(await removeStaleTemps(sub), 1);
  assert.deepEqual(await fs.readdir(sub), [name]);
});
