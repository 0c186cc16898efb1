/**
 * A session's other bounds: at most MAX_JOBS jobs running or waiting (over all connections), and
 * at most MAX_REQUESTS_PER_SOCKET requests awaiting an answer on one connection, each refused
 * beyond in one sentence, with room again once earlier ones end.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackendReport } from '../../../main/api.ts';
import { MAX_JOBS, MAX_REQUESTS_PER_SOCKET } from '../../../main/server/limits.ts';
import { StubEngine } from '../helpers.ts';
import { openSocket, serverSuite } from './studio.ts';

/** A stub whose backend probe answers only when the test says so. */
class SlowProbe extends StubEngine {
  #release: Array<() => void> = [];
  override probe(): Promise<BackendReport> {
    return new Promise((r) => this.#release.push(() => void super.probe().then(r)));
  }
  release(): void {
    for (const r of this.#release.splice(0)) r();
  }
}

const engine = new SlowProbe();
const suite = serverSuite({ engine: engine.factory });
const open = () => openSocket(suite.server);

/** Ends every job the host holds, as the engine would once they finish. */
function endAll(): void {
  for (const j of suite.server.host.context.jobs.list())
    engine.emit('job:done', { jobId: j.jobId, summary: 'done', result: { kind: 'cancelled' } });
}

describe('session limits', () => {
  test(`at most ${MAX_JOBS} jobs at once over all connections; a finished one makes room`, async () => {
    const [a, b] = [await open(), await open()];
    try {
      const photo = path.join(suite.server.inbox, 'p.png');
      await fs.writeFile(photo, 'x');
      const job = {
        files: [photo],
        model: 'bundled:tanhexp_x2.safetensors',
        format: 'png',
        outputDir: null,
        overwrite: false,
      };
      for (let i = 1; i <= MAX_JOBS; i++) {
        const c = i % 2 ? a : b;
        c.send(i, 'job:upscale', job);
        const m = await c.answer(i);
        assert.ok(m.ok, JSON.stringify(m));
      }
      b.send(100, 'job:upscale', job);
      assert.deepEqual(await b.answer(100), {
        id: 100,
        ok: false,
        error: `${MAX_JOBS} jobs are already running or waiting; wait for one to finish (or cancel one), then start this again.`,
      });
      engine.emit('job:done', { jobId: 'job-3', summary: 'done', result: { kind: 'cancelled' } });
      a.send(101, 'job:upscale', job);
      assert.ok((await a.answer(101)).ok);
      a.send(102, 'job:upscale', job);
      assert.equal(((await a.answer(102)) as { ok: boolean }).ok, false);
      engine.emit('job:error', { jobId: 'job-5', message: 'failed' });
      a.send(103, 'job:upscale', job);
      assert.ok((await a.answer(103)).ok);
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  test(`a burst of simultaneous job requests over several connections gets exactly ${MAX_JOBS} accepted`, async () => {
    endAll();
    const conns = [await open(), await open(), await open()];
    try {
      const photo = path.join(suite.server.inbox, 'burst.png');
      await fs.writeFile(photo, 'x');
      const upscale = {
        files: [photo],
        model: 'bundled:tanhexp_x2.safetensors',
        format: 'png',
        outputDir: null,
        overwrite: false,
      };
      const train = {
        data: suite.server.inbox,
        val: null,
        preset: 'tiny',
        scale: 2,
        activation: 'tanhexp',
        iterations: 10,
        run: { kind: 'new', parent: null },
      };
      const n = 60;
      // All sent before any answer: each request's checks await the disk, so none is started when the next arrives.
      for (let i = 1; i <= n; i++) conns[i % 3]!.send(i, i % 2 ? 'job:train' : 'job:upscale', i % 2 ? train : upscale);
      const answers = await Promise.all(Array.from({ length: n }, (_, k) => conns[(k + 1) % 3]!.answer(k + 1)));
      const accepted = answers.filter((m) => m.ok) as Array<{ ok: true; result: { jobId: string } }>;
      assert.equal(accepted.length, MAX_JOBS, `${accepted.length} of ${n} accepted`);
      for (const m of answers.filter((x) => !x.ok)) {
        assert.equal(
          (m as { error: string }).error,
          `${MAX_JOBS} jobs are already running or waiting; wait for one to finish (or cancel one), then start this again.`,
        );
      }
      for (const m of accepted)
        engine.emit('job:done', { jobId: m.result.jobId, summary: 'done', result: { kind: 'cancelled' } });
      assert.equal(suite.server.host.context.jobs.size, 0, 'every slot is free again');
    } finally {
      for (const c of conns) c.ws.close();
    }
  });

  test('a job whose start fails frees its place', async () => {
    endAll();
    const c = await open();
    try {
      const missing = {
        files: [path.join(suite.server.inbox, 'missing.png')],
        model: 'bundled:no-such-model.safetensors',
        format: 'png',
        outputDir: null,
        overwrite: false,
      };
      for (let i = 1; i <= MAX_JOBS + 4; i++) c.send(i, 'job:upscale', missing);
      for (let i = 1; i <= MAX_JOBS + 4; i++) assert.equal((await c.answer(i)).ok, false);
      assert.equal(suite.server.host.context.jobs.size, 0);
    } finally {
      c.ws.close();
    }
  });

  test(`at most ${MAX_REQUESTS_PER_SOCKET} requests awaiting an answer on one connection`, async () => {
    const c = await open();
    try {
      const total = MAX_REQUESTS_PER_SOCKET + 6;
      for (let i = 1; i <= total; i++) c.send(i, 'backends:probe');
      for (let i = MAX_REQUESTS_PER_SOCKET + 1; i <= total; i++) {
        assert.deepEqual(await c.answer(i), {
          id: i,
          ok: false,
          error: `${MAX_REQUESTS_PER_SOCKET} requests are already waiting for an answer on this connection; wait for them, then try again.`,
        });
      }
      assert.equal(c.got.filter((m) => 'ok' in m && m.ok).length, 0, 'the first ones are still waiting');
      engine.release();
      for (let i = 1; i <= MAX_REQUESTS_PER_SOCKET; i++) assert.ok((await c.answer(i)).ok, String(i));
      c.send(1000, 'backends:probe');
      await new Promise((r) => setTimeout(r, 50));
      engine.release();
      assert.ok((await c.answer(1000)).ok, 'room again');
    } finally {
      c.ws.close();
    }
  });
});
