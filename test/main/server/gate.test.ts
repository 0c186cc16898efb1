/**
 * Who gets in: the Host header allowlist (DNS rebinding), the session cookie (set from the printed
 * address, HttpOnly and SameSite=Strict; a wrong one refused), the Origin of requests that act,
 * at most MAX_SOCKETS connections at once, HTTPS with --tls-cert/--tls-key, and the startup line.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { WebSocket } from 'ws';
import { allowedHosts, isLoopback, parseCookies } from '../../../main/server/auth.ts';
import { parseServeArgs, startupLine } from '../../../main/server/cli.ts';
import { MAX_SOCKETS } from '../../../main/server/limits.ts';
import { serverSuite, startIn } from './studio.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const TLS = path.join(ROOT, 'test/fixtures/tls');
const lines: string[] = [];
const suite = serverSuite({ log: (l) => lines.push(l) });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request, so the Host header can be anything. */
function get(pathAndQuery: string, headers: Record<string, string>, port = suite.server.port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathAndQuery, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function upgrade(headers: Record<string, string>, query = `?token=${suite.server.token}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${suite.server.port}/ws${query}`, { headers });
    ws.once('open', () => (ws.close(), resolve(101)));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('the gate in front of browser mode', () => {
  test('Host header: loopback names and the listening address only, on our port', async () => {
    const t = `/?token=${suite.server.token}`;
    for (const host of [
      `127.0.0.1:${suite.server.port}`,
      `localhost:${suite.server.port}`,
      `LOCALHOST:${suite.server.port}`,
      `[::1]:${suite.server.port}`,
    ]) {
      assert.equal((await get(t, { host })).status, 200, host);
    }
    for (const host of [
      `evil.example:${suite.server.port}`,
      'evil.example',
      `127.0.0.1:${suite.server.port + 1}`,
      `127.0.0.1.evil.example:${suite.server.port}`,
      `localhost.:${suite.server.port}`,
      `127.0.0.1:${suite.server.port}@evil`,
      `[::1]`,
    ]) {
      const res = await get(t, { host });
      assert.equal(res.status, 421, `${JSON.stringify(host)} → ${res.status}`);
      assert.match(res.body, /^Misdirected request: .*open the address it printed when it started\.\n$/);
      assert.equal(res.headers['set-cookie'], undefined);
    }
    // No Host header at all.
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(suite.server.port, '127.0.0.1', () => s.end(`GET ${t} HTTP/1.1\r\n\r\n`));
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      s.on('close', () => resolve(got));
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    // The WebSocket upgrade too, with the token: the DNS-rebinding request is refused.
    assert.equal(await upgrade({ host: `evil.example:${suite.server.port}` }), 421);
    assert.equal(
      await upgrade({ host: `localhost:${suite.server.port}`, origin: `http://localhost:${suite.server.port}` }),
      101,
    );
  });

  test('the names a server answers to follow --host', () => {
    assert.deepEqual([...allowedHosts(undefined)].sort(), ['127.0.0.1', '[::1]', 'localhost']);
    assert.ok(allowedHosts('192.168.1.20').has('192.168.1.20'));
    assert.ok(allowedHosts('fe80::1').has('[fe80::1]'));
    assert.ok(allowedHosts('GPU-Box.lan').has('gpu-box.lan'));
    const all = allowedHosts('0.0.0.0');
    assert.ok(all.has('127.0.0.1') && all.has('localhost'));
    assert.ok(!all.has('evil.example'));
    for (const h of [undefined, '127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]'])
      assert.equal(isLoopback(h), true, String(h));
    for (const h of ['0.0.0.0', '::', '192.168.1.20', 'gpu-box.lan']) assert.equal(isLoopback(h), false, h);
  });

  test('the token moves into an HttpOnly, SameSite=Strict cookie; a wrong cookie is refused', async () => {
    const first = await get(`/?token=${suite.server.token}`, {});
    assert.equal(first.status, 200);
    const set = String(first.headers['set-cookie']);
    assert.match(
      set,
      new RegExp(`^sr-studio-token-${suite.server.port}=${suite.server.token}; HttpOnly; SameSite=Strict; Path=/$`),
    );
    const name = `sr-studio-token-${suite.server.port}`;
    const page = await get('/', { cookie: `${name}=${suite.server.token}` });
    assert.equal(page.status, 200);
    assert.equal(page.headers['set-cookie'], undefined, 'set once, from the address only');
    for (const cookie of [
      `${name}=x`,
      `${name}=${suite.server.token}x`,
      `${name}=${suite.server.token}=x`,
      `${name}=${suite.server.token.slice(0, -1)}`,
      `TOKEN=${suite.server.token}`,
      `sr-studio-token-${suite.server.port + 1}=${suite.server.token}`,
      `${suite.server.token}`,
      `${name}=`,
    ]) {
      assert.equal((await get('/', { cookie })).status, 403, cookie);
      assert.equal(await upgrade({ cookie }, ''), 403, cookie);
    }
    // A cookie header with the right one among others still opens; the socket takes the cookie alone.
    assert.equal((await get('/', { cookie: `a=b; ${name}=${suite.server.token}; c=d` })).status, 200);
    assert.equal(await upgrade({ cookie: `${name}=${suite.server.token}` }, ''), 101);
    assert.deepEqual(
      parseCookies(`a=1; b=x=y; a=2;; =z; c`),
      new Map([
        ['a', ['1', '2']],
        ['b', ['x=y']],
      ]),
    );
  });

  test('requests that act must come from the page: the Origin of uploads and the socket', async () => {
    const cookie = `sr-studio-token-${suite.server.port}=${suite.server.token}`;
    assert.equal(await upgrade({ cookie, origin: 'http://evil.example' }, ''), 403);
    assert.equal(await upgrade({ cookie, origin: 'null' }, ''), 403);
    const put = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: suite.server.port,
            method: 'PUT',
            path: '/upload/x',
            headers: { cookie, origin, 'content-length': '1' },
          },
          (res) => (res.resume(), resolve(res.statusCode ?? 0)),
        );
        req.on('error', reject);
        req.end('x');
      });
    assert.equal(await put('http://evil.example'), 403);
    assert.equal(
      await put(`http://127.0.0.1:${suite.server.port}`),
      404,
      'from the page: on to the upload (which was never announced)',
    );
  });

  test(`at most ${MAX_SOCKETS} connections at once, with a clear answer beyond`, async () => {
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_SOCKETS; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${suite.server.port}/ws?token=${suite.server.token}`);
        await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
        open.push(ws);
      }
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${suite.server.port}/ws?token=${suite.server.token}`);
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.once('open', () => reject(new Error('a connection beyond the limit was accepted')));
      });
      assert.equal(refused.status, 429);
      assert.match(
        refused.body,
        new RegExp(`already open in ${MAX_SOCKETS} tabs or windows; close one, then reload this page\\.`),
      );
      assert.ok(lines.some((l) => /refused a connection beyond the 16 open at once/.test(l)));
    } finally {
      for (const ws of open) ws.close();
    }
    // Closed ones make room again.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await upgrade({}), 101);
  });

  test('HTTPS with --tls-cert and --tls-key: the cookie is Secure, the socket is wss', async () => {
    const tls = await startIn(suite.dir, {
      dataDir: path.join(suite.dir, 'data-tls'),
      tls: { cert: await fs.readFile(path.join(TLS, 'cert.pem')), key: await fs.readFile(path.join(TLS, 'key.pem')) },
    });
    try {
      assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
      const ca = await fs.readFile(path.join(TLS, 'cert.pem'));
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        https.get(tls.url, { ca }, resolve).on('error', reject),
      );
      res.resume();
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['set-cookie']), /; Secure$/);
      assert.match(
        String(res.headers['content-security-policy']),
        new RegExp(`connect-src 'self' wss://127\\.0\\.0\\.1:${tls.port}`),
      );
      const ws = new WebSocket(`wss://127.0.0.1:${tls.port}/ws?token=${tls.token}`, { ca });
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      ws.close();
      // Plain HTTP to the HTTPS port gets nowhere, and the server stays up.
      await assert.rejects(get('/', {}, tls.port));
      const again = await new Promise<http.IncomingMessage>((resolve, reject) =>
        https.get(tls.url, { ca }, resolve).on('error', reject),
      );
      again.resume();
      assert.equal(again.statusCode, 200);
    } finally {
      await tls.close();
    }
  });

  test('the startup line says when traffic is not encrypted, and how to encrypt it', () => {
    const url = 'http://192.168.1.20:8080/?token=abc';
    assert.equal(
      startupLine('http://127.0.0.1:8080/?token=abc', undefined, false),
      'SR Studio is running at http://127.0.0.1:8080/?token=abc',
    );
    assert.equal(
      startupLine('http://127.0.0.1:8080/?token=abc', '127.0.0.1', false),
      'SR Studio is running at http://127.0.0.1:8080/?token=abc',
    );
    const beyond = startupLine(url, '192.168.1.20', false);
    assert.match(
      beyond,
      /^SR Studio is running at http:\/\/192\.168\.1\.20:8080\/\?token=abc \(not encrypted: .*--tls-cert FILE --tls-key FILE\)$/,
    );
    assert.doesNotMatch(beyond, /\n/);
    assert.match(startupLine(url, '0.0.0.0', false), /not encrypted/);
    assert.equal(
      startupLine('https://192.168.1.20:8080/?token=abc', '192.168.1.20', true),
      'SR Studio is running at https://192.168.1.20:8080/?token=abc',
    );
    assert.deepEqual(parseServeArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tls, {
      cert: 'c.pem',
      key: 'k.pem',
    });
    assert.throws(
      () => parseServeArgs(['--tls-cert', 'c.pem']),
      /^Error: --tls-cert and --tls-key go together: give both files \(PEM\), or neither\.$/,
    );
  });
});
