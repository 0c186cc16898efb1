/**
 * The viewer's "before" tiles (an input enlarged by bicubic, computed tile by tile) are worked out
 * off the server's main thread: during a burst of them, a request from another connection is
 * answered at once, not after the burst.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WebSocket } from 'ws';
import { startServer, type StudioServer } from '../../../main/server/server.ts';
import { DATA, StubEngine, tempDir } from '../helpers.ts';

let dir = '';
let server: StudioServer;
const engine = new StubEngine();

before(async () => {
  dir = await tempDir();
  server = await startServer({
    appRoot: path.resolve(import.meta.dirname, '../../..'),
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    engine: engine.factory,
    log: () => undefined,
  });
});

after(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** An answer to a request (the socket also carries events, which have no id). */
type Reply = { id: number; ok: boolean; error?: string };

async function open() {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const answers = new Map<number, { message: Reply; at: number }>();
  const waiters = new Map<number, () => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Reply;
    if (!('id' in m)) return;
    answers.set(m.id, { message: m, at: performance.now() });
    waiters.get(m.id)?.();
  });
  const answer = (id: number, timeoutMs = 60_000) =>
    new Promise<{ message: Reply; at: number }>((resolve, reject) => {
      const seen = answers.get(id);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`no answer to ${id}`)), timeoutMs);
      waiters.set(id, () => (clearTimeout(timer), resolve(answers.get(id)!)));
    });
  return {
    ws,
    answer,
    send: (id: number, channel: string, arg?: unknown) => ws.send(JSON.stringify({ id, channel, arg })),
  };
}

describe('tiles off the main thread', () => {
  test('a status request is answered promptly during a burst of bicubic "before" tiles', async () => {
    const photo = path.join(server.inbox, 'coffee.png');
    await fs.copyFile(path.join(DATA, 'val', 'coffee.png'), photo); // 600×396
    const enlarge = { width: 2400, height: 1584, filter: 'bicubic' };
    const [a, b, c] = [await open(), await open(), await open()];
    try {
      // Decoded once before the burst, so the burst is the tiles' own work.
      a.send(1, 'image:info', { path: photo, enlarge });
      assert.ok((await a.answer(1)).message.ok);
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
      const all = Promise.all(ids.map(([conn, id]) => conn.answer(id))).finally(() => (finished = true));
      const latencies: number[] = [];
      for (let k = 1; !finished && k < 1000; k++) {
        const asked = performance.now();
        c.send(k, 'app:status');
        const status = await c.answer(k);
        assert.ok(status.message.ok);
        latencies.push(status.at - asked);
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
      for (const x of [a, b, c]) x.ws.close();
    }
  });
});
