/**
 * Browser mode: the app served on 127.0.0.1 (by default) with a random session token, the same
 * request handlers as Electron's IPC behind a WebSocket speaking api.ts's wire format, file access
 * limited to the folders the user chose (host/file-access.ts), and uploads streamed to a
 * per-session inbox in the data folder (uploads.ts).
 *
 * No client can take it down: every server and socket has an 'error' handler, a malformed or
 * oversized WebSocket frame closes that connection only (1002 protocol error, 1007 invalid UTF-8,
 * 1009 too big) with one line in the log, and connections, uploads and a client's unread
 * messages are all bounded.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { BackendChoice } from '../../ml/backend-choice.ts';
import { errors } from '../../ml/errors.ts';
import type { ServerMessage } from '../api.ts';
import type { Emit } from '../host/engine-host.ts';
import type { FileRegistry, Handlers } from '../host/context.ts';
import { FolderAccess, guardFileAccess } from '../host/file-access.ts';
import { createHost, type Host, type HostOptions } from '../host/host.ts';
import { createRouter, type Router } from '../host/router.ts';
import type { SettingsStore } from '../host/settings.ts';
import { admit, allowedHosts, type Gate } from './auth.ts';
import { createRequestHandler } from './http.ts';
import { limitJobs, MAX_MESSAGE_BYTES, MAX_REQUESTS_PER_SOCKET, MAX_SOCKETS, MAX_UNREAD_BYTES } from './limits.ts';
import { Uploads, type UploadLimits } from './uploads.ts';

export interface ServerOptions {
  readonly appRoot: string;
  readonly dataDir: string;
  /** Default 127.0.0.1; anything else exposes the app (token-protected) beyond this machine. */
  readonly host?: string | undefined;
  /** Default 0: a free port. */
  readonly port?: number | undefined;
  /** PEM certificate and key: serve HTTPS (and wss:) instead of HTTP. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly rendererDir?: string | undefined;
  readonly backend?: BackendChoice | undefined;
  readonly userModels?: string | undefined;
  readonly previewIntervalMs?: number | undefined;
  readonly engine?: HostOptions['engine'];
  readonly uploadLimits?: Partial<UploadLimits> | undefined;
  /** Where one-line notices go (closed connections, cleaned uploads); default console.error. */
  readonly log?: ((line: string) => void) | undefined;
}

export interface StudioServer {
  /** The address to open, with the token: http://127.0.0.1:PORT/?token=… */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly host: Host;
  /** The session's upload folder. */
  readonly inbox: string;
  /** The folders this session may use (browser mode's file access policy). */
  readonly access: FolderAccess;
  /** The request handlers as the socket reaches them, behind the file access policy. */
  readonly handlers: Handlers;
  close(): Promise<void>;
}

const NO_DIALOGS = 'There are no file dialogs in browser mode; drag files onto the window or type their full paths.';

/** The close code ws gives a protocol error (kept on the error under a symbol). */
function closeCode(e: Error): number | undefined {
  const key = Object.getOwnPropertySymbols(e).find((s) => s.description === 'status-code');
  const code = key ? (e as unknown as Record<symbol, unknown>)[key] : undefined;
  return typeof code === 'number' ? code : undefined;
}

function refuse(socket: Duplex, status: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

export async function startServer(o: ServerOptions): Promise<StudioServer> {
  const log = o.log ?? ((line: string) => console.error(line));
  const token = randomBytes(32).toString('base64url');
  const sockets = new Set<WebSocket>();
  const emit: Emit = (event, payload) => {
    const text = JSON.stringify({ event, payload } satisfies ServerMessage);
    for (const ws of sockets) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > MAX_UNREAD_BYTES) {
        log('SR Studio: closed a connection that stopped reading its messages.');
        ws.terminate();
        continue;
      }
      ws.send(text);
    }
  };
  let registry: FileRegistry | undefined;
  const uploads = await Uploads.open(path.join(o.dataDir, 'inbox'), {
    limits: o.uploadLimits,
    saved: (f, name) => registry?.add(f, name),
    log,
  });
  const host = await createHost({
    dataDir: o.dataDir,
    appRoot: o.appRoot,
    emit,
    uploads,
    userModels: o.userModels,
    backend: o.backend,
    previewIntervalMs: o.previewIntervalMs,
    engine: o.engine,
    dialogs: {
      openImages: () => Promise.reject(errors.badArgument(NO_DIALOGS)),
      openFolder: () => Promise.reject(errors.badArgument(NO_DIALOGS)),
    },
    shell: {
      reveal: (p) =>
        Promise.reject(
          errors.badArgument(
            `Showing files in the file manager works in the desktop app only; the file is ${JSON.stringify(p)}.`,
          ),
        ),
    },
  });
  const ctx = host.context;
  registry = ctx.files;
  const access = new FolderAccess();
  await fs.mkdir(ctx.runsDir, { recursive: true });
  // Upscales go to the results folder when no output folder is typed (results.ts).
  await fs.mkdir(ctx.results.folder, { recursive: true });
  for (const dir of [uploads.dir, ctx.runsDir, ctx.models.user, ctx.results.folder]) await access.allow(dir, 'write');
  await access.allow(ctx.models.bundled, 'read');
  // What the app itself writes for the viewer (compare-models' outputs).
  await access.allow(ctx.viewsDir, 'read');
  await grantSavedOutput(ctx.settings, access, log);
  const models = new FolderAccess();
  await models.allow(ctx.models.user, 'read');
  await models.allow(ctx.models.bundled, 'read');
  const downloadable = async (file: string) =>
    ctx.files.has(file) ||
    (ctx.results.has(file) &&
      (await access.check(file, 'read', 'path').then(
        () => true,
        () => false,
      ))) ||
    (path.extname(file) === '.safetensors' &&
      (await models.check(file, 'read', 'path').then(
        () => true,
        () => false,
      )));

  const handlers = limitJobs(guardFileAccess(host.handlers, access), ctx.jobs);
  const router = createRouter(handlers, {
    isTrustedSender: (s) => s instanceof WebSocket && sockets.has(s),
    name: host.displayName,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  wss.on('error', (e) => log(`SR Studio: the WebSocket server reported ${e.message}.`));
  const server: Server = o.tls ? createTlsServer({ cert: o.tls.cert, key: o.tls.key }) : createServer();
  // Node ends any request after 5 minutes, which a 256 MB upload over a slow network can need;
  // uploads instead end when no byte comes for a minute (uploads.ts). Headers still have 60 s.
  server.requestTimeout = 60 * 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log(`SR Studio: the server reported ${e.message}.`));
  server.on('clientError', (_e, socket: Duplex) => {
    if (socket.writable) refuse(socket, '400 Bad Request', 'Bad request.\n');
    socket.destroy();
  });
  const port = (server.address() as { port: number }).port;
  const gate: Gate = { token, port, scheme: o.tls ? 'https' : 'http', hosts: allowedHosts(o.host) };
  const rendererDir = path.resolve(o.rendererDir ?? path.join(o.appRoot, 'renderer', 'dist'));
  // What /file opens must really lie where the session may read (a name swapped for a symlink sends nothing).
  const handler = createRequestHandler({
    gate,
    rendererDir,
    downloadable,
    readable: (real) => access.admits(real, 'read'),
    uploads,
  });
  server.on('request', (req, res) => {
    req.on('error', () => undefined); // a client that goes away mid-request only ends its own request
    res.on('error', () => undefined);
    handler(req, res).catch((e: unknown) => {
      console.error('SR Studio: a request failed:', e);
      if (!res.headersSent) res.writeHead(500).end('Internal error.\n');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const auth = admit(req, gate);
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws')
      return refuse(socket, '404 Not Found', 'Not found.\n');
    if (!auth.ok)
      return refuse(socket, auth.status === 421 ? '421 Misdirected Request' : '403 Forbidden', auth.message);
    if (sockets.size >= MAX_SOCKETS) {
      log(`SR Studio: refused a connection beyond the ${MAX_SOCKETS} open at once.`);
      return refuse(
        socket,
        '429 Too Many Requests',
        `SR Studio is already open in ${MAX_SOCKETS} tabs or windows; close one, then reload this page.\n`,
      );
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', (e) => {
        const code = closeCode(e);
        log(
          `SR Studio: closed a connection that sent a bad WebSocket frame (${e.message}${code ? `; close code ${code}` : ''}).`,
        );
      });
      ws.on('message', (data, isBinary) => void onMessage(router, ws, isBinary ? null : data.toString()));
    });
  });
  const scheme = o.tls ? 'https' : 'http';
  const shown =
    !o.host || o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `${scheme}://${shown}:${port}/?token=${token}`,
    port,
    token,
    host,
    inbox: uploads.dir,
    access,
    handlers,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await uploads.close();
      await host.close();
    },
  };
}

/**
 * Grants the saved output folder as a folder typed in Settings is granted: one that no one may
 * choose (saved by an earlier version, such as /root) is not granted but reset, and the log says
 * why, once.
 */
async function grantSavedOutput(
  settings: SettingsStore,
  access: FolderAccess,
  log: (line: string) => void,
): Promise<void> {
  const saved = settings.get().outputDir;
  if (!saved) return;
  const ok = await access.checkChoice(saved, 'Output folder', 'write').then(
    () => true,
    () => false,
  );
  if (ok) return access.allow(saved, 'write');
  await settings.update({ outputDir: null });
  log(
    `SR Studio: the saved output folder ${JSON.stringify(saved)} was reset, because browser mode never writes to the disk's root, system and top-level folders, the home folder itself or the app's own folder; choose a folder of your own in Settings.`,
  );
}

/** Requests waiting for their answer, per connection. */
const waiting = new WeakMap<WebSocket, number>();

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
    const reply: ServerMessage = {
      id: Number.isSafeInteger(m.id) ? (m.id as number) : -1,
      ok: false,
      error: 'Malformed message: expected JSON {"id": number, "channel": string, "arg": …}.',
    };
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
    return;
  }
  const n = waiting.get(ws) ?? 0;
  if (n >= MAX_REQUESTS_PER_SOCKET) {
    const reply: ServerMessage = {
      id: m.id as number,
      ok: false,
      error: `${MAX_REQUESTS_PER_SOCKET} requests are already waiting for an answer on this connection; wait for them, then try again.`,
    };
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
    return;
  }
  waiting.set(ws, n + 1);
  try {
    const reply = await router.handle(ws, m.channel, m.arg);
    if (reply && ws.readyState === WebSocket.OPEN)
      ws.send(JSON.stringify({ id: m.id as number, ...reply } satisfies ServerMessage));
  } finally {
    waiting.set(ws, (waiting.get(ws) ?? 1) - 1);
  }
}
