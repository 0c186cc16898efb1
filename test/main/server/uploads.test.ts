/**
 * Uploads: announced by name and size over the socket (refused in one sentence before any byte is
 * sent when too large, beyond the session's total or beyond the number at once), then streamed
 * as one PUT to a one-time address; names made plain; broken, short or stalled uploads leave
 * nothing behind; and at start the uploads of earlier runs (and earlier versions' copies for
 * download) are removed while their results stay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { RequestChannel } from '../../../main/api.ts';
import type { StudioServer } from '../../../main/server/server.ts';
import { formatBytes, UPLOAD_LIMITS } from '../../../main/server/uploads.ts';
import { COFFEE, tempDir } from '../helpers.ts';
import { startIn } from './studio.ts';

let dir = '';
let server: StudioServer;

const limits = { fileBytes: 20_000, sessionBytes: 40_000, atOnce: 3, idleMs: 400 };
const open = (dataDir: string, l: Partial<typeof limits> = limits, log: (line: string) => void = () => undefined) =>
  startIn(dir, { dataDir, uploadLimits: l, log });

before(async () => {
  dir = await tempDir();
  server = await open(path.join(dir, 'data'));
});

after(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const announce = (s: StudioServer, name: string, bytes: number) =>
  (s.handlers['files:upload'] as (a: unknown) => Promise<{ url: string }>)({ name, bytes });

/** A PUT with the session cookie; `body` may be sent short (then the connection is cut). */
function put(
  s: StudioServer,
  url: string,
  body: Buffer,
  opts: { length?: number | null; cut?: boolean } = {},
): Promise<{
  status: number;
  json: { ok: boolean; file?: { path: string; name: string; bytes: number }; error?: string } | null;
}> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { cookie: `sr-studio-token-${s.port}=${s.token}` };
    if (opts.length !== null) headers['content-length'] = String(opts.length ?? body.length);
    const req = http.request({ host: '127.0.0.1', port: s.port, method: 'PUT', path: url, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }));
    });
    req.on('error', (e) => (opts.cut ? resolve({ status: 0, json: null }) : reject(e)));
    if (opts.cut) {
      req.write(body);
      setTimeout(() => req.destroy(), 100);
    } else if (opts.length === null) {
      req.write(body); // sent chunked
      req.end();
    } else req.end(body);
  });
}

const leftovers = async (s: StudioServer) => (await fs.readdir(s.inbox)).filter((n) => n !== '.session.json');
/** What is left in the inbox once the server has dealt with a dropped connection (it may take a moment). */
async function settled(s: StudioServer): Promise<string[]> {
  for (let i = 0; i < 50 && (await leftovers(s)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return leftovers(s);
}

describe('uploads', () => {
  test('the limits are announced in plain words before any byte is sent', async () => {
    await assert.rejects(
      announce(server, 'huge.tif', 30_000),
      (e: Error) =>
        e.message ===
        'Browser mode takes files of up to 20 KB, and huge.tif is 29 KB; upscale it with "sr-studio upscale" on the machine that runs SR Studio instead.',
    );
    assert.equal(formatBytes(UPLOAD_LIMITS.fileBytes), '256 MB');
    assert.equal(formatBytes(300 * 1024 * 1024 + 1), '300 MB');
    assert.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GB');
    assert.equal(formatBytes(999), '999 bytes');
    // At most `atOnce` announced or under way; an unused address expires and frees its place.
    const a = await announce(server, 'a.png', 100);
    await announce(server, 'b.png', 100);
    await announce(server, 'c.png', 100);
    await assert.rejects(
      announce(server, 'd.png', 100),
      /^UserError: 3 uploads are already under way; wait for one to finish, then add d\.png again\.$/,
    );
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await put(server, a.url, Buffer.alloc(100))).status, 404, 'expired');
    await announce(server, 'd.png', 100);
    await new Promise((r) => setTimeout(r, 600));
  });

  test('a session has a total: uploads beyond it are refused until a restart', async () => {
    const s = await open(path.join(dir, 'data-quota'));
    try {
      for (let i = 0; i < 2; i++) {
        const { url } = await announce(s, `p${i}.png`, 16_000);
        assert.equal((await put(s, url, Buffer.alloc(16_000, i))).status, 200);
      }
      await announce(s, 'p2.png', 6000); // reserved, not sent yet: counts too
      await assert.rejects(
        announce(s, 'p3.png', 4000),
        /^UserError: The upload folder is full \(39 KB of uploads since SR Studio started, p3\.png does not fit\); restart SR Studio to clear it\.$/,
      );
      await announce(s, 'p3.png', 2000);
    } finally {
      await s.close();
    }
  });

  test('the body is checked against the announcement; short, cut or reused uploads leave nothing', async () => {
    const photo = await fs.readFile(COFFEE);
    const { url } = await announce(server, 'coffee.png', photo.length);
    const wrong = await put(server, url, photo.subarray(0, 10));
    assert.equal(wrong.status, 400);
    assert.match(
      wrong.json?.error ?? '',
      /^The upload of coffee\.png did not come with the size it was announced with; add the file again\.$/,
    );
    assert.equal((await put(server, url, photo)).status, 404, 'the address was used up');

    const chunked = await announce(server, 'coffee.png', photo.length);
    assert.equal((await put(server, chunked.url, photo, { length: null })).status, 400, 'no Content-Length');

    const cut = await announce(server, 'coffee.png', photo.length);
    await put(server, cut.url, photo.subarray(0, 1000), { cut: true });
    assert.deepEqual(await settled(server), [], 'no partial file');

    const stalled = await announce(server, 'coffee.png', photo.length);
    const slow = put(server, stalled.url, photo.subarray(0, 1000), { cut: false, length: photo.length });
    const res = await slow.catch(() => ({ status: 0, json: null }));
    assert.ok(res.status === 0 || res.status === 400, `a stalled upload is dropped (${res.status})`);
    assert.deepEqual(await settled(server), []);

    const ok = await announce(server, 'coffee.png', photo.length);
    const done = await put(server, ok.url, photo);
    assert.equal(done.status, 200);
    assert.deepEqual(await fs.readFile(done.json!.file!.path), photo);
    assert.deepEqual(await leftovers(server), ['.uploads', 'coffee.png']);
    await fs.rm(done.json!.file!.path);
    await fs.rm(path.join(server.inbox, '.uploads'));
  });

  test('names are made plain: no bidi or control characters, never too long for the disk', async () => {
    const bytes = Buffer.alloc(50, 7);
    const cases: Array<[string, RegExp]> = [
      ['holiday\u202Egnp.png', /^holidaygnp\.png$/],
      ['bell\u0007\u0000x.png', /NUL/],
      [`${'写真'.repeat(100)}.png`, /^(写真)+写?\.png$/],
      [`${'é'.repeat(200)}.jpg`, /^é+\.jpg$/],
    ];
    for (const [name, want] of cases) {
      let saved: string;
      try {
        const { url } = await announce(server, name, bytes.length);
        const r = await put(server, url, bytes);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        saved = r.json!.file!.name;
        assert.equal(path.basename(r.json!.file!.path), saved);
        assert.ok(Buffer.byteLength(saved) <= 200, `${Buffer.byteLength(saved)} bytes`);
      } catch (e) {
        saved = (e as Error).message;
        assert.doesNotMatch(saved, /ENAMETOOLONG|\n/);
      }
      assert.match(saved, want, name);
    }
  });

  test('at start, earlier runs lose their uploads and partial files; results and running servers keep theirs', async () => {
    const data = path.join(dir, 'data-restart');
    const first = await open(data);
    const { url } = await announce(first, 'photo.png', 50);
    const up = await put(first, url, Buffer.alloc(50, 1));
    const inbox = first.inbox;
    await fs.writeFile(path.join(inbox, 'photo_x2.png'), 'a result the engine wrote beside the upload');
    await fs.writeFile(path.join(inbox, '.abc.part'), 'left by a crash');
    await first.close();
    // A folder from an older version (no list of uploads) and one of a server still running elsewhere.
    const older = path.join(data, 'inbox', 'session-older');
    await fs.mkdir(older);
    await fs.writeFile(path.join(older, 'kept.png'), 'x');
    const running = path.join(data, 'inbox', 'session-running');
    await fs.mkdir(running);
    await fs.writeFile(path.join(running, '.session.json'), JSON.stringify({ pid: process.ppid }));
    await fs.writeFile(path.join(running, '.uploads'), 'busy.png\n');
    await fs.writeFile(path.join(running, 'busy.png'), 'x');
    const lines: string[] = [];
    const second = await open(data, limits, (l) => lines.push(l));
    try {
      await assert.rejects(fs.access(up.json!.file!.path), 'the upload is gone');
      assert.deepEqual((await fs.readdir(inbox)).sort(), ['.session.json', 'photo_x2.png'], 'the result stays');
      await fs.access(path.join(older, 'kept.png'));
      await fs.access(path.join(running, 'busy.png'));
      assert.deepEqual(lines, ['SR Studio: removed 2 upload(s) left from earlier runs.']);
      assert.notEqual(second.inbox, inbox);
    } finally {
      await second.close();
    }
    // A session that received nothing leaves no folder behind.
    await assert.rejects(fs.access(second.inbox));
  });

  test('at start, the copies for download earlier versions made in session folders are removed', async () => {
    const data = path.join(dir, 'data-downloads');
    const inbox = path.join(data, 'inbox');
    // Earlier versions wrote downloads/<uuid>/<model file> in the session's folder, with or without a list of uploads.
    const copy = (session: string, uuid: string) => path.join(inbox, session, 'downloads', uuid, 'tanhexp_x2.onnx');
    const old = [
      copy('session-listed', '0b7d2c1e-3f7a-4a3e-9c55-1d2e3f4a5b6c'),
      copy('session-listed', '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'),
      copy('session-unlisted', '11111111-2222-4333-8444-555555555555'),
    ];
    for (const f of old)
      await fs.mkdir(path.dirname(f), { recursive: true }).then(() => fs.writeFile(f, 'model bytes'));
    await fs.writeFile(path.join(inbox, 'session-listed', '.session.json'), JSON.stringify({ pid: 1 << 22 }));
    await fs.writeFile(
      path.join(inbox, 'session-listed', 'photo_x2.png'),
      'a result the engine wrote beside the uploads',
    );
    // A folder named downloads that holds something else is someone's own.
    const own = path.join(inbox, 'session-unlisted', 'sub', 'downloads', 'mine.png');
    const other = path.join(inbox, 'session-other', 'downloads', 'mine.png');
    for (const f of [own, other]) await fs.mkdir(path.dirname(f), { recursive: true }).then(() => fs.writeFile(f, 'x'));
    const lines: string[] = [];
    const next = await open(data, limits, (l) => lines.push(l));
    try {
      for (const f of old) await assert.rejects(fs.access(f), `${f} is gone`);
      await assert.rejects(fs.access(path.join(inbox, 'session-listed', 'downloads')));
      await fs.access(path.join(inbox, 'session-listed', 'photo_x2.png'));
      await fs.access(own);
      await fs.access(other);
      assert.deepEqual(lines, ['SR Studio: removed 3 model file(s) made for download by an earlier version.']);
    } finally {
      await next.close();
    }
  });

  test('the upload channel is the only way in: the socket takes no file bytes', async () => {
    const channel: RequestChannel = 'files:upload';
    const photo = await fs.readFile(COFFEE);
    await assert.rejects(
      (server.handlers[channel] as (a: unknown) => Promise<unknown>)({
        name: 'a.png',
        base64: photo.toString('base64'),
      }),
      /does not take a field "base64"/,
    );
  });
});
