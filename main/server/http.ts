/**
 * Browser mode's HTTP side: every request passes the gate (auth.ts); then the built renderer from
 * renderer/dist (index.html with a strict CSP, and the session cookie when the address carried the
 * token), upload bodies (uploads.ts), and `/file` downloads of the files this session produced or
 * received. Everything else is 404.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { openChecked, type Opened } from '../host/opened.ts';
import { pathInside } from '../host/validate.ts';
import { admit, hostName, sessionCookie, type Gate } from './auth.ts';
import { UPLOAD_PATH, type Uploads } from './uploads.ts';

export interface HttpOptions {
  readonly gate: Gate;
  readonly rendererDir: string;
  /** Whether `/file` may send this (absolute) file, by the name it is asked for. */
  readonly downloadable: (file: string) => Promise<boolean>;
  /** Whether the file `/file` opened may be sent, by where it really is (its symlinks resolved). */
  readonly readable: (real: string) => boolean;
  readonly uploads: Uploads;
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

/** The page's Content-Security-Policy: only its own scripts, and its own WebSocket. */
export function contentSecurityPolicy(host: string, scheme: 'http' | 'https' = 'http'): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${scheme === 'https' ? 'wss' : 'ws'}://${host}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(text);
}

const FALLBACK = `<!doctype html><meta charset="utf-8"><title>SR Studio</title>
<p>SR Studio's user interface has not been built yet: build the renderer into <code>renderer/dist</code>
(see renderer/README.md), then reload this page.</p>`;

/** Sends a file (a request handler's last step); a read that fails midway ends the response. */
async function stream(res: ServerResponse, file: string): Promise<void> {
  await pipeline(createReadStream(file), res).catch(() => res.destroy());
}

export function createRequestHandler(o: HttpOptions) {
  const { gate } = o;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = admit(req, gate);
    if (!auth.ok) return send(res, auth.status, auth.message, auth.status === 421 ? { Connection: 'close' } : {});
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(UPLOAD_PATH))
      return o.uploads.receive(url.pathname.slice(UPLOAD_PATH.length), req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'Method not allowed.\n', { Allow: 'GET, HEAD' });
    if (url.pathname === '/file') return sendFile(req, res, url, o);
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
        'Content-Security-Policy': contentSecurityPolicy(`${hostName(req, gate)}:${gate.port}`, gate.scheme),
        'Cache-Control': 'no-store',
        ...SECURITY_HEADERS,
        ...(auth.fromQuery ? { 'Set-Cookie': sessionCookie(gate) } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : html);
      return;
    }
    const file = path.resolve(o.rendererDir, '.' + rel);
    if (rel.includes('\0') || pathInside(o.rendererDir, file) === null) return send(res, 404, 'Not found.\n');
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return send(res, 404, 'Not found.\n');
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': st.size,
      ...SECURITY_HEADERS,
    });
    if (req.method === 'HEAD') return void res.end();
    await stream(res, file);
  };
}

const NOT_SERVED = 'Not found: only files this session produced or uploaded, and models, can be downloaded.\n';

/**
 * `/file?path=…`: only files this session wrote or received, and models; `&download=1` asks for a
 * save. The file is opened once, without following a final symlink, and sent from that open file
 * only if it really lies where the session may read (host/opened.ts), so a name swapped for a
 * symlink meanwhile sends nothing.
 */
async function sendFile(req: IncomingMessage, res: ServerResponse, url: URL, o: HttpOptions): Promise<void> {
  const p = url.searchParams.get('path') ?? '';
  if (!p || p.includes('\0') || !path.isAbsolute(p) || !(await o.downloadable(path.resolve(p))))
    return send(res, 404, NOT_SERVED);
  const gone = new Error('Not found: the file is no longer there.\n');
  const refused = new Error(NOT_SERVED);
  let file: Opened;
  try {
    file = await openChecked(path.resolve(p), {
      kind: 'file',
      admits: o.readable,
      refusal: () => refused,
      missing: () => gone,
    });
  } catch (e) {
    return send(res, 404, e === gone ? gone.message : NOT_SERVED);
  }
  try {
    const name = path.basename(p).replace(/["\\\r\n]/g, '_');
    const disposition = url.searchParams.get('download') === '1' ? 'attachment' : 'inline';
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(p).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': file.stats.size,
      'Content-Disposition': `${disposition}; filename="${name}"; filename*=UTF-8''${encodeURIComponent(path.basename(p))}`,
      'Cache-Control': 'no-store',
      ...SECURITY_HEADERS,
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(file.handle.createReadStream({ autoClose: false }), res).catch(() => res.destroy());
  } finally {
    await file.close();
  }
}
