/**
 * What browser mode serves goes through the file it opened and checked: while another thread
 * keeps swapping a name inside the session's folders between a real file (or folder) and a
 * symlink leading outside, `/file`, the viewer's tiles and the listing of a folder never show
 * the outside file, its name or its size.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { COFFEE, MOTORCYCLE } from '../helpers.ts';
import { serverSuite } from './studio.ts';
import { race, swapper } from './swap.ts';

let outside = '';
const suite = serverSuite(
  {},
  {
    async prepare(dir) {
      outside = path.join(dir, 'outside');
      await fs.mkdir(outside);
      await fs.copyFile(MOTORCYCLE, path.join(outside, 'secret.png'));
    },
  },
);
const { call } = suite;

/** `name` in the inbox, first a hard link to a copy of the 64×64 photo (the outside one is 200×150). */
async function racedFile(name: string): Promise<{ file: string; inside: string }> {
  const inside = path.join(suite.server.inbox, `inside-${name}`);
  await fs.copyFile(COFFEE, inside);
  const file = path.join(suite.server.inbox, name);
  await fs.link(inside, file);
  return { file, inside };
}

describe('browser mode serves what it opened and checked', () => {
  test('/file never sends the file a swapped symlink leads to', async () => {
    const { file, inside } = await racedFile('served.png');
    suite.server.host.context.files.add(file);
    const own = await fs.readFile(inside);
    const url = `http://127.0.0.1:${suite.server.port}/file?path=${encodeURIComponent(file)}&token=${suite.server.token}`;
    const stop = swapper('file', file, inside, path.join(outside, 'secret.png'));
    let leaked = 0;
    let sent = 0;
    let ran = 0;
    try {
      ran = await race(async () => {
        // A response cut short (its file changed while it was sent) counts as nothing sent.
        const body = await fetch(url, { signal: AbortSignal.timeout(1000) })
          .then(async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : undefined))
          .catch(() => undefined);
        if (!body) return;
        sent++;
        // Anything but the inside file's bytes came (in part, or whole) from outside.
        if (!body.equals(own)) leaked++;
      });
    } finally {
      await stop();
    }
    console.log(`/file: ${leaked} of ${ran} responses sent the outside file (${sent} sent)`);
    assert.ok(ran >= 100, `only ${ran} requests ran`);
    assert.ok(sent > 0, 'some files were sent');
    assert.equal(leaked, 0, `${leaked} of ${ran} responses sent the outside file`);
  });

  test('image:info and image:tile never show the file a swapped symlink leads to', async () => {
    const { file, inside } = await racedFile('viewed.png');
    // The cache reads a name a moment after it was checked: the outside state holds as long as the inside one.
    const stop = swapper('file', file, inside, path.join(outside, 'secret.png'), { insideMs: 1, outsideMs: 1 });
    let leaked = 0;
    let shown = 0;
    let ran = 0;
    try {
      ran = await race(async (i) => {
        const width = await (i % 2
          ? call('image:info', { path: file }).then((r) => (r as { width: number }).width)
          : call('image:tile', { path: file, level: 0, col: 0, row: 0 }).then((r) => (r as { width: number }).width)
        ).catch(() => undefined);
        if (width === undefined) return;
        shown++;
        if (width !== 64) leaked++;
      });
    } finally {
      await stop();
    }
    console.log(`tiles: ${leaked} of ${ran} answers showed the outside file (${shown} answered)`);
    assert.ok(ran >= 100, `only ${ran} requests ran`);
    assert.ok(shown > 0, 'some requests were answered');
    assert.equal(leaked, 0, `${leaked} of ${ran} answers showed the outside file`);
  });

  test('files:expand never lists a name or size from where a swapped sub-folder leads', async () => {
    const tree = path.join(suite.server.inbox, 'tree');
    const sub = path.join(tree, 'sub');
    await fs.mkdir(sub, { recursive: true });
    await fs.copyFile(COFFEE, path.join(sub, 'a.png'));
    const secrets = path.join(outside, 'secrets');
    await fs.mkdir(secrets);
    await fs.copyFile(MOTORCYCLE, path.join(secrets, 'secret-name.png'));
    const own = (await fs.stat(COFFEE)).size;
    // The walk reads a sub-folder's name a moment after listing it: the outside state holds as long as the inside one.
    const stop = swapper('folder', sub, '', secrets, { insideMs: 1, outsideMs: 1 });
    let leaked = 0;
    let listed = 0;
    let ran = 0;
    try {
      ran = await race(async () => {
        const r = (await call('files:expand', { paths: [tree] }).catch(() => undefined)) as
          | { files: Array<{ name: string; bytes: number }>; problems: string[] }
          | undefined;
        if (!r) return;
        listed += r.files.length;
        const seen = [...r.files.map((f) => `${f.name} ${f.bytes}`), ...r.problems].join('\n');
        if (/secret/.test(seen) || r.files.some((f) => f.bytes !== own)) leaked++;
      });
    } finally {
      await stop();
    }
    console.log(`listing: ${leaked} of ${ran} answers named or sized a file from outside (${listed} files listed)`);
    assert.ok(ran >= 100, `only ${ran} requests ran`);
    assert.ok(listed > 0, 'some files were listed');
    assert.equal(leaked, 0, `${leaked} of ${ran} answers named or sized a file from outside`);
  });
});
