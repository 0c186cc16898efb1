/**
 * Browser mode: the app served on 127.0.0.1 (by default) with a random session token, the same
 * request handlers as Electron's IPC behind a WebSocket speaking api.ts's wire format, and uploads
 * saved to a per-session inbox in the data folder.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { BackendChoice } from '../../ml/backend-choice.ts';
import { errors } from '../../ml/errors.ts';
import type { ServerMessage } from '../api.ts';
import type { Emit } from '../host/engine-host.ts';
import { createHost, type Host, type HostOptions } from '../host/host.ts';
import { createRouter, type Router } from '../host/router.ts';
import { createRequestHandler, hasToken, requestHost } from './http.ts';
import { MAX_UPLOAD_BYTES } from '../host/file-handlers.ts';

export interface ServerOptions {
  readonly appRoot: string;
  readonly dataDir: string;
  /** Default 127.0.0.1; anything else exposes the app (token-protected) beyond this machine. */
  readonly host?: string | undefined;
  /** Default 0: a free port. */
  readonly port?: number | undefined;
  readonly rendererDir?: string | undefined;
  readonly backend?: BackendChoice | undefined;
  readonly userModels?: string | undefined;
  readonly previewIntervalMs?: number | undefined;
  readonly engine?: HostOptions['engine'];
}

export interface StudioServer {
  /** The address to open, with the token: http://127.0.0.1:PORT/?token=… */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly host: Host;
  close(): Promise<void>;
}

const NO_DIALOGS = 'There are no file dialogs in browser mode; drag files onto the window or type their full paths.';

export async function startServer(o: ServerOptions): Promise<StudioServer> {
  const token = randomBytes(32).toString('base64url');
  await fs.mkdir(path.join(o.dataDir, 'inbox'), { recursive: true });
  const inbox = await fs.mkdtemp(path.join(o.dataDir, 'inbox', 'session-'));
  const sockets = new Set<WebSocket>();
  const emit: Emit = (event, payload) => {
    const text = JSON.stringify({ event, payload } satisfies ServerMessage);
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  const host = await createHost({
    dataDir: o.dataDir,
    appRoot: o.appRoot,
    emit,
    inbox,
    userModels: o.userModels,
    backend: o.backend,
    previewIntervalMs: o.previewIntervalMs,
    engine: o.engine,
    dialogs: {
      openImages: () => Promise.reject(errors.badArgument(NO_DIALOGS)),
      openFolder: () => Promise.reject(errors.badArgument(NO_DIALOGS)),
    },
    shell: {
      reveal: (p) => Promise.reject(errors.badArgument(`Showing files in the file manager works in the desktop app only; the file is ${JSON.stringify(p)}.`)),
    },
  });
  const router = createRouter(host.handlers, { isTrustedSender: (s) => s instanceof WebSocket && sockets.has(s) });
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.ceil(MAX_UPLOAD_BYTES * 1.4) });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const handler = createRequestHandler({ token, port, rendererDir: path.resolve(o.rendererDir ?? path.join(o.appRoot, 'renderer', 'dist')), files: host.context.files });
  server.on('request', (req, res) => {
    handler(req, res).catch((e: unknown) => {
      console.error('SR Studio: a request failed:', e);
      if (!res.headersSent) res.writeHead(500).end('Internal error.\n');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${requestHost(req, port)}`;
    if (url.pathname !== '/ws' || !hasToken(req, token, port).ok || !sameOrigin) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => void onMessage(router, ws, isBinary ? null : data.toString()));
    });
  });
  const shown = !o.host || o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    port,
    token,
    host,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await host.close();
      // Uploads and the results written beside them stay for the user; an unused inbox goes.
      await fs.rmdir(inbox).catch(() => undefined);
    },
  };
}

/** One request over the socket: `{id, channel, arg}` in, `{id, ok, result | error}` out. */
async function onMessage(router: Router, ws: WebSocket, text: string | null): Promise<void> {
  let msg: unknown;
  try {
    msg = text === null ? undefined : JSON.parse(text);
  } catch {
    msg = undefined;
  }
  const m = (typeof msg === 'object' && msg !== null ? msg : {}) as { id?: unknown; channel?: unknown; arg?: unknown };
  if (!Number.isSafeInteger(m.id) || typeof m.channel !== 'string') {
    const reply: ServerMessage = { id: Number.isSafeInteger(m.id) ? (m.id as number) : -1, ok: false, error: 'Malformed message: expected JSON {"id": number, "channel": string, "arg": …}.' };
    ws.send(JSON.stringify(reply));
    return;
  }
  const reply = await router.handle(ws, m.channel, m.arg);
  if (reply && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id: m.id as number, ...reply } satisfies ServerMessage));
}
