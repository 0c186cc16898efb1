/**
 * Bounded memory: browser mode as users run it takes six uploads of the largest size allowed at
 * once (a seventh is refused in one sentence while they run), streams them to disk, and its peak
 * resident memory (VmHWM, which includes the engine's worker) stays under 1 GiB.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import { Readable } from 'node:stream';
import { WebSocket } from 'ws';
import type { ServerMessage } from '../../../main/api.ts';
import { UPLOAD_LIMITS } from '../../../main/server/uploads.ts';
import { startServerProcess, type ServerProcess } from './child.ts';

const GiB = 1024 ** 3;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess(['--backend', 'wasm']);
});

after(async () => {
  await server?.stop();
});

/** `bytes` bytes of one repeated 1 MiB chunk, so the test itself holds almost nothing. */
function body(bytes: number, fill: number): Readable {
  const chunk = Buffer.alloc(1024 * 1024, fill);
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

function put(url: string, bytes: number, fill: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { cookie: `sr-studio-token-${server.port}=${server.token}`, 'content-length': String(bytes) };
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'PUT', path: url, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    body(bytes, fill).pipe(req);
  });
}

describe('bounded resources', () => {
  test('six maximum-size uploads at once: a seventh refused, all six saved, peak memory under 1 GiB', {
    timeout: 600_000,
  }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const got: ServerMessage[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString()) as ServerMessage));
    let id = 0;
    const request = async (channel: string, arg: unknown) => {
      const mine = ++id;
      ws.send(JSON.stringify({ id: mine, channel, arg }));
      for (let i = 0; i < 600; i++) {
        const m = got.find((x) => 'id' in x && x.id === mine);
        if (m && 'ok' in m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to ${channel}`);
    };
    const max = UPLOAD_LIMITS.fileBytes;
    try {
      const start = await server.memory();
      const urls: string[] = [];
      for (let i = 0; i < 6; i++) {
        const m = await request('files:upload', { name: `big-${i}.tif`, bytes: max });
        assert.ok(m.ok, JSON.stringify(m));
        urls.push((m.result as { url: string }).url);
      }
      const seventh = await request('files:upload', { name: 'big-6.tif', bytes: max });
      assert.deepEqual(seventh, {
        id,
        ok: false,
        error: '6 uploads are already under way; wait for one to finish, then add big-6.tif again.',
      });
      const tooBig = await request('files:upload', { name: 'huge.tif', bytes: max + 1 });
      assert.ok(
        !tooBig.ok &&
          /^Browser mode takes files of up to 256 MB, and huge\.tif is just over 256 MB;/.test(tooBig.error),
        JSON.stringify(tooBig),
      );

      let highest = 0;
      const sampler = setInterval(
        () =>
          void server.memory().then(
            (m) => (highest = Math.max(highest, m.rss)),
            () => undefined,
          ),
        100,
      );
      const t0 = Date.now();
      const results = await Promise.all(urls.map((u, i) => put(u, max, i)));
      const seconds = (Date.now() - t0) / 1000;
      clearInterval(sampler);
      const end = await server.memory();
      for (const r of results) assert.equal(r.status, 200, r.text);
      const files = results.map((r) => (JSON.parse(r.text) as { file: { path: string; bytes: number } }).file);
      for (const [i, f] of files.entries()) {
        assert.equal((await fs.stat(f.path)).size, max);
        const fd = await fs.open(f.path);
        const probe = Buffer.alloc(4);
        await fd.read(probe, 0, 4, max - 4);
        await fd.close();
        assert.deepEqual([...probe], [i, i, i, i], `${f.path} holds its own bytes to the end`);
        await fs.rm(f.path);
      }
      const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
      console.log(
        `memory: ${mb(start.rss)} at start, ${mb(highest)} highest sampled, ${mb(end.peak)} peak (VmHWM) after 6 × ${mb(max)} uploads in ${seconds.toFixed(1)} s`,
      );
      assert.ok(end.peak < GiB, `peak resident memory ${mb(end.peak)}`);
    } finally {
      ws.close();
    }
    assert.equal(server.exited(), null);
  });
});
