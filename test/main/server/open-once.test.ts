/**
 * Browser mode opens each path once and checks what it opened: while another thread keeps
 * swapping a name inside a chosen folder between a real file (or folder) and a symlink leading
 * outside, no answer shows the outside file, no write lands outside, and no temp file is left.
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
    },
  },
);
const { call } = suite;

const temps = async (d: string) => (await fs.readdir(d)).filter((n) => n.endsWith('.tmp'));

describe('browser mode opens each path once and checks what it opened', () => {
  test('reads: image:thumbnail and image:load never show the file a swapped symlink leads to', async () => {
    // Inside: 64×64; outside: 200×150. An answer 200 wide came from outside.
    const inside = path.join(suite.server.inbox, 'inside.png');
    await fs.copyFile(COFFEE, inside);
    await fs.copyFile(MOTORCYCLE, path.join(outside, 'secret.png'));
    const name = path.join(suite.server.inbox, 'race.png');
    await fs.link(inside, name);
    const stop = swapper('file', name, inside, path.join(outside, 'secret.png'));
    let leaked = 0;
    let shown = 0;
    let ran = 0;
    try {
      ran = await race(async (i) => {
        const answer = await (i % 2
          ? call('image:load', { path: name })
          : call('image:thumbnail', { path: name, maxSide: 256 })
        ).catch(() => undefined);
        if (!answer) return;
        shown++;
        if ((answer as { width: number }).width !== 64) leaked++;
      });
    } finally {
      await stop();
    }
    console.log(`reads: ${leaked} of ${ran} answers showed the outside file (${shown} answered)`);
    assert.ok(ran >= 100, `only ${ran} requests ran`);
    assert.ok(shown > 0, 'some requests were answered');
    assert.equal(leaked, 0, `${leaked} of ${ran} answers showed the outside file`);
  });

  test('writes: models:export never writes through a folder swapped for a symlink, and leaves no temp files', async () => {
    const out = path.join(suite.dir, 'out');
    const sub = path.join(out, 'sub');
    const elsewhere = path.join(outside, 'exports');
    await fs.mkdir(sub, { recursive: true });
    await fs.mkdir(elsewhere);
    await call('settings:set', { outputDir: out });
    const stop = swapper('folder', sub, '', elsewhere);
    let written = 0;
    let ran = 0;
    try {
      ran = await race(async (i) => {
        await call('models:export', {
          modelId: 'bundled:tanhexp_x2.safetensors',
          to: path.join(sub, `m${i}.safetensors`),
        }).then(
          () => written++,
          () => undefined,
        );
      });
    } finally {
      await stop();
      await call('settings:set', { outputDir: null });
    }
    const leaked = (await fs.readdir(elsewhere)).filter((n) => !n.endsWith('.tmp'));
    const left = [...(await temps(sub)), ...(await temps(elsewhere)), ...(await temps(out))];
    console.log(
      `writes: ${leaked.length} of ${ran} exports went outside, ${left.length} temp files left (${written} written)`,
    );
    assert.ok(ran >= 100, `only ${ran} requests ran`);
    assert.ok(written > 0, 'some exports were written');
    assert.equal(leaked.length, 0, `${leaked.length} of ${ran} exports went outside`);
    assert.deepEqual(left, [], 'no temp files are left');
  });
});
