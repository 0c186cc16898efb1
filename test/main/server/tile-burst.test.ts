/**
 * The viewer's "before" tiles (an input enlarged by bicubic, computed tile by tile) are worked out
 * off the server's main thread: during a burst of them, a request from another connection is
 * answered at once, not after the burst.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DATA } from '../helpers.ts';
import { openSocket, serverSuite } from './studio.ts';

const suite = serverSuite();
const open = () => openSocket(suite.server);

describe('tiles off the main thread', () => {
  test('a status request is answered promptly during a burst of bicubic "before" tiles', async () => {
    const photo = path.join(suite.server.inbox, 'coffee.png');
    await fs.copyFile(path.join(DATA, 'val', 'coffee.png'), photo); // 600×396
    const enlarge = { width: 2400, height: 1584, filter: 'bicubic' };
    const [a, b, c] = [await open(), await open(), await open()];
    try {
      // Decoded once before the burst, so the burst is the tiles' own work.
      a.send(1, 'image:info', { path: photo, enlarge });
      assert.ok((await a.answer(1, 60_000)).ok);
      const perSocket = 60;
      const start = performance.now();
      const ids: Array<[typeof a, number]> = [];
      for (let i = 0; i < 2 * perSocket; i++) {
        const conn = i % 2 ? b : a;
        const id = 100 + i;
        conn.send(id, 'image:tile', { path: photo, enlarge, level: 0, col: i % 5, row: Math.floor(i / 5) % 4 });
        ids.push([conn, id]);
      }
      // Meanwhile another connection asks for the app's status, again and again until the burst ends.
      let finished = false;
      const all = Promise.all(
        ids.map(async ([conn, id]) => ({ message: await conn.answer(id, 60_000), at: conn.answeredAt(id)! })),
      ).finally(() => (finished = true));
      const latencies: number[] = [];
      for (let k = 1; !finished && k < 1000; k++) {
        const asked = performance.now();
        c.send(k, 'app:status');
        assert.ok((await c.answer(k, 60_000)).ok);
        latencies.push(c.answeredAt(k)! - asked);
        await new Promise((r) => setTimeout(r, 20));
      }
      const done = await all;
      assert.ok(
        done.every((d) => d.message.ok),
        JSON.stringify(done.find((d) => !d.message.ok)?.message),
      );
      const burst = Math.max(...done.map((d) => d.at)) - start;
      const worst = Math.max(...latencies);
      console.log(
        `status answered ${latencies.length} times in at most ${worst.toFixed(0)} ms during a burst of ${ids.length} tiles that took ${burst.toFixed(0)} ms`,
      );
      assert.ok(latencies.length >= 3, 'asked during the burst');
      assert.ok(
        worst < burst / 4,
        `a status request waited ${worst.toFixed(0)} ms of the burst's ${burst.toFixed(0)} ms`,
      );
    } finally {
      for (const x of [a, b, c]) x.close();
    }
  });
});
