/**
 * No frame kills the server: browser mode as users run it (its own process, the real engine on
 * wasm) gets every kind of malformed WebSocket frame (unmasked, RSV1 set, opcode 3, invalid UTF-8,
 * a 2^63 length claim, a message over the largest allowed, in one frame or in fragments), then
 * seeded random frames and random bytes, broken upgrades and resets. Each bad connection is closed
 * with the right code and one line in the log, and afterwards a normal upscale (upload, job,
 * download) still completes on the same server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import { WebSocket } from 'ws';
import type { ServerMessage } from '../../../main/api.ts';
import { MAX_MESSAGE_BYTES } from '../../../main/server/limits.ts';
import { COFFEE } from '../helpers.ts';
import { startServerProcess, type ServerProcess } from './child.ts';

let server: ServerProcess;

before(async () => {
  server = await startServerProcess(['--backend', 'wasm']);
});

after(async () => {
  await server?.stop();
});

/** What came back on a raw connection: the upgrade's status line, the close code sent, whether the server closed it. */
interface Outcome {
  readonly status: string;
  readonly closeCode: number | null;
  readonly closedByServer: boolean;
}

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const masked = (b: Buffer) => Buffer.from(b.map((x, i) => x ^ MASK[i % 4]!));
/** A client frame: FIN and opcode in the first byte, masked payload (unless `mask` is false). */
function frame(first: number, payload: Buffer, mask = true): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([first, (mask ? 0x80 : 0) | len])
      : len < 65536
        ? Buffer.from([first, (mask ? 0x80 : 0) | 126, len >> 8, len & 255])
        : Buffer.concat([Buffer.from([first, (mask ? 0x80 : 0) | 127]), bigLength(BigInt(len))]);
  return Buffer.concat([head, mask ? MASK : Buffer.alloc(0), mask ? masked(payload) : payload]);
}
function bigLength(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/**
 * Opens an authenticated raw connection, upgrades it, writes `bytes` (chunks, in order) and waits
 * up to `waitMs` for the server to answer with a close frame and hang up.
 */
function attack(
  chunks: readonly Buffer[],
  opts: { upgrade?: boolean; request?: string; waitMs?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let closedByServer = false;
    let upgraded = false;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (!upgraded && got.includes('\r\n\r\n')) {
        upgraded = true;
        for (const c of chunks) s.write(c);
      }
    });
    s.on('end', () => (closedByServer = true));
    const done = () => {
      const i = got.indexOf('\r\n\r\n');
      const status = got.subarray(0, Math.max(0, i)).toString('latin1').split('\r\n')[0] ?? '';
      const rest = i < 0 ? Buffer.alloc(0) : got.subarray(i + 4);
      const closeCode = rest.length >= 4 && rest[0] === 0x88 ? rest.readUInt16BE(2) : null;
      resolve({ status, closeCode, closedByServer });
    };
    s.on('close', done);
    const timer = setTimeout(() => s.destroy(), opts.waitMs ?? 3000);
    s.on('close', () => clearTimeout(timer));
    if (opts.upgrade === false) {
      s.write(opts.request ?? '');
      for (const c of chunks) s.write(c);
      return;
    }
    s.write(
      `GET /ws?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** A seeded generator (mulberry32), so a failing random case can be found again. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const badFrameLines = () =>
  server
    .output()
    .split('\n')
    .filter((l) => l.includes('closed a connection that sent a bad WebSocket frame'));

describe('the server survives any client', () => {
  test('each malformed frame closes its own connection with the right code and one log line', {
    timeout: 60_000,
  }, async () => {
    const hello = Buffer.from('{"id":1,"channel":"app:status"}');
    const kinds: Array<[string, Buffer[], number]> = [
      ['an unmasked frame', [frame(0x81, hello, false)], 1002],
      ['RSV1 set (no extension agreed)', [frame(0xc1, hello)], 1002],
      ['opcode 3 (reserved)', [frame(0x83, Buffer.alloc(0))], 1002],
      ['invalid UTF-8 in a text frame', [frame(0x81, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))], 1007],
      ['a 2^63 length claim', [Buffer.concat([Buffer.from([0x82, 0xff]), bigLength(2n ** 63n), MASK])], 1009],
      [
        'a message one byte over the largest allowed (header only)',
        [Buffer.concat([Buffer.from([0x82, 0xff]), bigLength(BigInt(MAX_MESSAGE_BYTES + 1)), MASK])],
        1009,
      ],
      [
        'a message over the largest allowed, in 1 MiB fragments',
        Array.from({ length: MAX_MESSAGE_BYTES / 2 ** 20 + 1 }, (_, i) =>
          frame(i === 0 ? 0x02 : 0x00, Buffer.alloc(2 ** 20, 0x41)),
        ),
        1009,
      ],
      ['a fragmented control frame', [frame(0x09, Buffer.from('ping'))], 1002],
      ['a continuation with nothing to continue', [frame(0x80, Buffer.from('x'))], 1002],
      ['a close frame with an invalid code', [frame(0x88, Buffer.from([0x03, 0xe7]))], 1002],
    ];
    const before = badFrameLines().length;
    for (const [what, chunks, code] of kinds) {
      const out = await attack(chunks, { waitMs: 10_000 });
      assert.equal(out.status, 'HTTP/1.1 101 Switching Protocols', what);
      assert.equal(out.closeCode, code, `${what}: close code`);
      assert.ok(out.closedByServer, `${what}: the server hung up`);
      assert.equal(server.exited(), null, `the server died after ${what}:\n${server.output()}`);
    }
    const lines = badFrameLines().slice(before);
    assert.equal(lines.length, kinds.length, server.output());
    for (const l of lines)
      assert.match(
        l,
        /^SR Studio: closed a connection that sent a bad WebSocket frame \(.+; close code 10(02|07|09)\)\.$/,
      );
    assert.doesNotMatch(server.output(), /Unhandled|RangeError| {4}at /);
  });

  test('seeded random frames, random bytes, broken upgrades and resets', { timeout: 120_000 }, async () => {
    const next = rng(19);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
    const cases: Array<() => Promise<Outcome>> = [];
    for (let i = 0; i < 150; i++) {
      // Random bytes after a valid upgrade; sometimes with a plausible header in front.
      const body = bytes(1 + Math.floor(next() * 300));
      const first =
        next() < 0.5 ? Buffer.from([Math.floor(next() * 256), 0x80 | Math.floor(next() * 126)]) : Buffer.alloc(0);
      cases.push(() => attack([Buffer.concat([first, body])], { waitMs: 1500 }));
    }
    for (let i = 0; i < 40; i++) {
      // Well-formed frames with random opcodes, flags and payloads.
      const first = Math.floor(next() * 256);
      cases.push(() => attack([frame(first, bytes(Math.floor(next() * 200)))], { waitMs: 1500 }));
    }
    for (let i = 0; i < 30; i++) {
      // Random bytes instead of an HTTP request, and half-sent upgrades cut off.
      const junk = bytes(1 + Math.floor(next() * 400));
      cases.push(() =>
        attack([junk], {
          upgrade: false,
          request: next() < 0.5 ? '' : 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n',
          waitMs: 500,
        }),
      );
    }
    cases.push(
      () =>
        new Promise<Outcome>((resolve) => {
          const s = net.connect(server.port, '127.0.0.1', () => {
            s.write(
              `GET /ws?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`,
            );
            s.resetAndDestroy();
            resolve({ status: 'reset', closeCode: null, closedByServer: false });
          });
          s.on('error', () => undefined);
        }),
    );
    const codes = new Map<string, number>();
    for (let i = 0; i < cases.length; i += 10) {
      const outs = await Promise.all(cases.slice(i, i + 10).map((c) => c()));
      for (const o of outs) codes.set(String(o.closeCode), (codes.get(String(o.closeCode)) ?? 0) + 1);
      assert.equal(
        server.exited(),
        null,
        `the server died during random case ${i}…${i + 9}:\n${server.output().slice(-3000)}`,
      );
    }
    for (const code of codes.keys())
      assert.ok(['null', '1000', '1002', '1007', '1009'].includes(code), `close code ${code}`);
    assert.ok((codes.get('1002') ?? 0) > 20, `most random frames are protocol errors: ${JSON.stringify([...codes])}`);
    assert.doesNotMatch(server.output(), /Unhandled|RangeError| {4}at /);
  });

  test('afterwards a normal upscale still completes: upload, job, download', { timeout: 180_000 }, async () => {
    assert.equal(server.exited(), null);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const got: ServerMessage[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString()) as ServerMessage));
    let id = 0;
    const request = async (channel: string, arg?: unknown) => {
      const mine = ++id;
      ws.send(JSON.stringify({ id: mine, channel, arg }));
      for (let i = 0; i < 1200; i++) {
        const m = got.find((x) => 'id' in x && x.id === mine);
        if (m && 'ok' in m) {
          if (!m.ok) throw new Error(m.error);
          return m.result;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to ${channel}`);
    };
    try {
      const photo = await fs.readFile(COFFEE);
      const { url } = (await request('files:upload', { name: 'coffee.png', bytes: photo.length })) as { url: string };
      const put = await fetch(`http://127.0.0.1:${server.port}${url}`, {
        method: 'PUT',
        body: photo,
        headers: { cookie: `sr-studio-token-${server.port}=${server.token}` },
      });
      const saved = (await put.json()) as { ok: true; file: { path: string } };
      assert.ok(saved.ok, JSON.stringify(saved));
      const { jobId } = (await request('job:upscale', {
        files: [saved.file.path],
        model: 'bundled:tanhexp_x2.safetensors',
        format: 'png',
        outputDir: null,
        overwrite: false,
      })) as { jobId: string };
      let end: ServerMessage | undefined;
      for (let i = 0; i < 2400 && !end; i++) {
        end = got.find(
          (m) =>
            'event' in m &&
            (m.event === 'job:done' || m.event === 'job:error') &&
            (m.payload as { jobId: string }).jobId === jobId,
        );
        if (!end) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(end && 'event' in end && end.event === 'job:done', JSON.stringify(end));
      const done = got.find((m) => 'event' in m && m.event === 'job:file-done') as
        | { payload: { output: string; width: number; height: number } }
        | undefined;
      assert.deepEqual([done?.payload.width, done?.payload.height], [128, 128]);
      const file = await fetch(
        `http://127.0.0.1:${server.port}/file?path=${encodeURIComponent(done!.payload.output)}`,
        { headers: { cookie: `sr-studio-token-${server.port}=${server.token}` } },
      );
      assert.equal(file.status, 200);
      const png = Buffer.from(await file.arrayBuffer());
      assert.equal(png.toString('latin1', 1, 4), 'PNG');
      assert.equal(png.readUInt32BE(16), 128);
    } finally {
      ws.close();
    }
    assert.equal(server.exited(), null);
  });
});
