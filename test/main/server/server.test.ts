/**
 * Browser mode's server on a free loopback port, with a stub engine (the real one is covered by the
 * engine tests): the token on HTTP and the WebSocket upgrade, the CSP, requests over the socket,
 * events pushed to it, uploads and downloads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WebSocket } from 'ws';
import { COFFEE, StubEngine } from '../helpers.ts';
import { serverSuite, socketClient } from './studio.ts';

const engine = new StubEngine();
const suite = serverSuite(
  // Notices go to the console, as in the app.
  (dir) => ({ rendererDir: path.join(dir, 'dist'), engine: engine.factory, log: undefined }),
  {
    async prepare(dir) {
      const renderer = path.join(dir, 'dist');
      await fs.mkdir(path.join(renderer, 'assets'), { recursive: true });
      await fs.writeFile(
        path.join(renderer, 'index.html'),
        '<!doctype html><title>SR Studio</title><script type="module" src="/assets/app.js"></script>',
      );
      await fs.writeFile(path.join(renderer, 'assets', 'app.js'), 'console.log(1);');
      await fs.writeFile(path.join(dir, 'secret.txt'), 'secret');
    },
  },
);
const base = () => `http://127.0.0.1:${suite.server.port}`;

/** Opens the socket; resolves once open, or rejects with the HTTP status of a refused upgrade. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('browser-mode server', () => {
  test('the printed URL is loopback, a free port and a long random token', () => {
    assert.match(suite.server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    assert.ok(suite.server.url.endsWith(suite.server.token));
  });

  test('HTTP without the token, or with a wrong one, is 403', async () => {
    for (const url of [
      `${base()}/`,
      `${base()}/?token=wrong`,
      `${base()}/assets/app.js`,
      `${base()}/file?path=${encodeURIComponent(COFFEE)}`,
    ]) {
      const res = await fetch(url);
      assert.equal(res.status, 403, url);
      assert.equal(res.headers.get('content-security-policy'), null);
    }
  });

  test('the page with the token: strict CSP, security headers and a session cookie', async () => {
    const res = await fetch(suite.server.url);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${suite.server.port}`));
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    // The cookie alone then opens the page's assets.
    const asset = await fetch(`${base()}/assets/app.js`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    const traversal = await fetch(`${base()}/..%2Fsecret.txt`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(traversal.status, 404);
  });

  test('the WebSocket upgrade needs the token and the same origin', async () => {
    const ws = `ws://127.0.0.1:${suite.server.port}/ws`;
    await assert.rejects(connect(ws), /status 403/);
    await assert.rejects(connect(`${ws}?token=nope`), /status 403/);
    await assert.rejects(connect(`${ws}?token=${suite.server.token}`, { Origin: 'http://evil.example' }), /status 403/);
    const ok = await connect(`${ws}?token=${suite.server.token}`, { Origin: `http://127.0.0.1:${suite.server.port}` });
    ok.close();
  });

  test('requests round-trip over the socket in the wire format; errors are one sentence', async () => {
    const ws = await connect(`ws://127.0.0.1:${suite.server.port}/ws?token=${suite.server.token}`);
    try {
      const c = socketClient(ws);
      const status = await c.request('app:status');
      assert.ok('ok' in status && status.ok, JSON.stringify(status));
      assert.equal((status.result as { backend: { upscale: { name: string } } }).backend.upscale.name, 'cpu');
      const curves = await c.request('activations:curves', { names: ['tanhexp'], xMin: -1, xMax: 1, points: 3 });
      assert.ok('ok' in curves && curves.ok);
      assert.deepEqual((curves.result as Record<string, { x: number[] }>).tanhexp!.x, [-1, 0, 1]);
      const bad = await c.request('activations:curves', { names: ['tanhexp'], xMin: -1, xMax: 1, points: 1e9 });
      const said = 'points must be between 2 and 10000, not 1000000000.';
      // The sentence, with the refusal's code and facts beside it (the field it is about).
      assert.deepEqual(bad, { id: 3, ok: false, error: said, code: 'bad-argument', facts: { said, field: 'points' } });
      const unknown = await c.request('fs:delete-everything', {});
      assert.ok('ok' in unknown && !unknown.ok && /Unknown request channel/.test(unknown.error));
      c.ws.send('not json');
      const malformed = await c.answer(-1);
      assert.ok('ok' in malformed && !malformed.ok && /Malformed message/.test(malformed.error));
      const dialog = await c.request('dialog:open-images');
      assert.ok('ok' in dialog && !dialog.ok && /no file dialogs in browser mode/.test(dialog.error));

      // Events from the engine reach the socket.
      engine.emit('job:progress', { jobId: 'job-9', fraction: 0.5, message: 'half' });
      for (let i = 0; i < 100 && !c.got.some((m) => 'event' in m); i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(
        c.got.find((m) => 'event' in m),
        { event: 'job:progress', payload: { jobId: 'job-9', fraction: 0.5, message: 'half' } },
      );
    } finally {
      ws.close();
    }
  });

  test('uploads are streamed into the inbox; only session files and models can be downloaded', async () => {
    const ws = await connect(`ws://127.0.0.1:${suite.server.port}/ws?token=${suite.server.token}`);
    try {
      const c = socketClient(ws);
      const bytes = await fs.readFile(COFFEE);
      const cookie = `sr-studio-token-${suite.server.port}=${suite.server.token}`;
      const upload = async (name: string, body: Buffer) => {
        const begun = await c.request('files:upload', { name, bytes: body.length });
        if (!('ok' in begun) || !begun.ok) return begun;
        const url = (begun.result as { url: string }).url;
        assert.match(url, /^\/upload\/[A-Za-z0-9_-]{24}$/);
        const res = await fetch(`${base()}${url}`, { method: 'PUT', body, headers: { cookie } });
        return (await res.json()) as {
          ok: boolean;
          file?: { path: string; name: string; bytes: number };
          error?: string;
        };
      };
      const up = (await upload('coffee.png', bytes)) as {
        ok: true;
        file: { path: string; name: string; bytes: number };
      };
      assert.ok(up.ok, JSON.stringify(up));
      assert.equal(up.file.name, 'coffee.png');
      assert.equal(up.file.bytes, bytes.length);
      assert.equal(path.dirname(up.file.path), suite.server.inbox);
      assert.ok(suite.server.inbox.startsWith(path.join(suite.dir, 'data', 'inbox', 'session-')), suite.server.inbox);
      assert.deepEqual(await fs.readFile(up.file.path), bytes);
      const again = (await upload('coffee.png', bytes)) as { file: { name: string; path: string } };
      assert.equal(again.file.path, up.file.path, 'the same bytes under the same name are the file received before');
      const other = (await upload('coffee.png', Buffer.concat([bytes, Buffer.from([0])]))) as {
        file: { name: string };
      };
      assert.equal(other.file.name, 'coffee (2).png', 'another file of that name is kept beside it');
      assert.deepEqual(await fs.readFile(up.file.path), bytes, 'never replaced');
      const evil = await upload('../../evil.png', Buffer.from('AAAA'));
      assert.ok('ok' in evil && !evil.ok && /plain file name/.test((evil as { error: string }).error));

      const get = (p: string, headers: Record<string, string> = { cookie }) =>
        fetch(`${base()}/file?path=${encodeURIComponent(p)}`, { headers });
      const res = await get(up.file.path);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      assert.equal((await get(up.file.path, {})).status, 403, 'not without the cookie');
      assert.equal((await get(COFFEE)).status, 404, 'a file the session did not produce');
      assert.equal((await get(path.join(suite.dir, 'secret.txt'))).status, 404);
      assert.equal((await get('relative.png')).status, 404);
      // An output the engine reports becomes downloadable where the session may read it, and only there.
      const output = path.join(suite.server.host.context.results.folder, 'coffee_x2.png');
      await fs.writeFile(output, bytes);
      assert.equal((await get(output)).status, 404, 'not before the engine reports it');
      engine.emit('job:file-done', {
        jobId: 'job-1',
        file: COFFEE,
        output,
        width: 1,
        height: 1,
        result: { dataUrl: '', width: 1, height: 1 },
      });
      assert.equal((await get(output)).status, 200);
      engine.emit('job:file-done', {
        jobId: 'job-1',
        file: COFFEE,
        output: path.join(suite.dir, 'secret.txt'),
        width: 1,
        height: 1,
        result: { dataUrl: '', width: 1, height: 1 },
      });
      assert.equal(
        (await get(path.join(suite.dir, 'secret.txt'))).status,
        404,
        'a reported output outside the folders the session may read is not served',
      );
      // Models can be downloaded (the Models view's Download), other files of their folders not.
      const model = await get(path.join(suite.server.host.context.models.bundled, 'tanhexp_x2.safetensors'));
      assert.equal(model.status, 200);
      assert.equal(
        model.headers.get('content-disposition')?.startsWith('inline; filename="tanhexp_x2.safetensors"'),
        true,
      );
      assert.equal((await get(path.join(suite.server.host.context.models.bundled, 'tanhexp_x2.md'))).status, 404);
    } finally {
      ws.close();
    }
  });
});
