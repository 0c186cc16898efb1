/**
 * Browser mode's HTTP side: the session token (from `?token=`, then an HttpOnly cookie), the built
 * renderer from renderer/dist (index.html with a strict CSP), and `/file` downloads of the files
 * this session produced or received. Everything else is 403 without the token and 404 with it.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { FileRegistry } from '../host/context.ts';

export interface HttpOptions {
  readonly token: string;
  readonly port: number;
  readonly rendererDir: string;
  readonly files: FileRegistry;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const cookieName = (port: number) => `sr-studio-token-${port}`;

/** The page's Content-Security-Policy: only its own scripts, and its own WebSocket. */
export function contentSecurityPolicy(host: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ws://${host}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request carries the session token, in the query or in the session cookie. */
export function hasToken(req: IncomingMessage, token: string, port: number): { ok: boolean; fromQuery: boolean } {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (sameToken(url.searchParams.get('token') ?? undefined, token)) return { ok: true, fromQuery: true };
  const name = cookieName(port);
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).find(([k]) => k === name);
  return { ok: sameToken(cookie?.[1], token), fromQuery: false };
}

/** The Host header when it is a plain host[:port], else the loopback address. */
export function requestHost(req: IncomingMessage, port: number): string {
  const h = req.headers.host ?? '';
  return /^[A-Za-z0-9.\-[\]:]{1,300}$/.test(h) ? h : `127.0.0.1:${port}`;
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...headers });
  res.end(text);
}

const FALLBACK = `<!doctype html><meta charset="utf-8"><title>SR Studio</title>
<p>SR Studio's user interface has not been built yet: build the renderer into <code>renderer/dist</code>
(see renderer/README.md), then reload this page.</p>`;

export function createRequestHandler(o: HttpOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = hasToken(req, o.token, o.port);
    if (!auth.ok) return send(res, 403, 'Forbidden: open the address SR Studio printed when it started (it carries the session token).\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.\n', { Allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cookie = auth.fromQuery ? { 'Set-Cookie': `${cookieName(o.port)}=${o.token}; HttpOnly; SameSite=Strict; Path=/` } : {};
    if (url.pathname === '/file') return sendFile(res, url, o.files);
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'Bad request.\n');
    }
    if (rel === '/' || rel === '/index.html') {
      const html = await fs.readFile(path.join(o.rendererDir, 'index.html')).catch(() => Buffer.from(FALLBACK));
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': contentSecurityPolicy(requestHost(req, o.port)),
        'Cache-Control': 'no-store',
        ...SECURITY_HEADERS,
        ...cookie,
      });
      res.end(req.method === 'HEAD' ? undefined : html);
      return;
    }
    const file = path.resolve(o.rendererDir, '.' + rel);
    const inside = path.relative(o.rendererDir, file);
    if (rel.includes('\0') || inside.startsWith('..') || path.isAbsolute(inside)) return send(res, 404, 'Not found.\n');
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return send(res, 404, 'Not found.\n');
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': st.size, ...SECURITY_HEADERS });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };
}

/** `/file?path=…`: only files this session wrote or received; `&download=1` asks for a save. */
async function sendFile(res: ServerResponse, url: URL, files: FileRegistry): Promise<void> {
  const p = url.searchParams.get('path') ?? '';
  if (!p || p.includes('\0') || !path.isAbsolute(p) || !files.has(p)) return send(res, 404, 'Not found: only files this session produced or uploaded can be downloaded.\n');
  const st = await fs.stat(p).catch(() => undefined);
  if (!st?.isFile()) return send(res, 404, 'Not found: the file is no longer there.\n');
  const name = path.basename(p).replace(/["\\\r\n]/g, '_');
  const disposition = url.searchParams.get('download') === '1' ? 'attachment' : 'inline';
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(p).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'Content-Disposition': `${disposition}; filename="${name}"; filename*=UTF-8''${encodeURIComponent(path.basename(p))}`,
    'Cache-Control': 'no-store',
    ...SECURITY_HEADERS,
  });
  createReadStream(p).pipe(res);
}
