/**
 * Browser mode's server inside the test process, as the server tests start it: `startServer` on a
 * fresh temp folder (its data and models folders inside), the stub engine and no notices unless a
 * test says otherwise; and a client of its socket that sends requests and waits for the answers.
 */
import { after, before } from 'node:test';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { RequestChannel, ServerMessage } from '../../../main/api.ts';
import { startServer, type ServerOptions, type StudioServer } from '../../../main/server/server.ts';
import { StubEngine, tempDir } from '../helpers.ts';

export const APP_ROOT = path.resolve(import.meta.dirname, '../../..');

/** `startServer` with data and models in `dir`, a stub engine and no notices; `options` overrides any of them. */
export function startIn(dir: string, options: Partial<ServerOptions> = {}): Promise<StudioServer> {
  return startServer({
    appRoot: APP_ROOT,
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    engine: new StubEngine().factory,
    log: () => undefined,
    ...options,
  });
}

/** A request as the socket reaches its handler, behind the file access policy. */
export const call = (server: StudioServer, channel: RequestChannel, arg?: unknown): Promise<unknown> =>
  (server.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);

export interface ServerSuite {
  /** The file's temp folder. */
  readonly dir: string;
  readonly server: StudioServer;
  /** A request to the suite's server (`call`). */
  call(channel: RequestChannel, arg?: unknown): Promise<unknown>;
}

/**
 * Browser mode for a test file's tests: before them a fresh temp folder, `prepare` given it (to
 * put files there first), the server started in it (`startIn` with `options`, or with what
 * `options` makes of the folder), then `ready` (what the tests need of the running server); after
 * them the server closed and the folder gone. (One hook does it all: Node runs a file's `before`
 * hooks side by side.)
 */
export function serverSuite(
  options: Partial<ServerOptions> | ((dir: string) => Partial<ServerOptions>) = {},
  steps: { prepare?: (dir: string) => Promise<void>; ready?: () => Promise<void> } = {},
): ServerSuite {
  let dir = '';
  let server: StudioServer | undefined;
  before(async () => {
    dir = await tempDir();
    await steps.prepare?.(dir);
    server = await startIn(dir, typeof options === 'function' ? options(dir) : options);
    await steps.ready?.();
  });
  after(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const suite: ServerSuite = {
    get dir() {
      return dir;
    },
    get server() {
      if (!server) throw new Error('the server did not start (see the before hook)');
      return server;
    },
    call: (channel, arg) => call(suite.server, channel, arg),
  };
  return suite;
}

/** A `job:compare` request: the smallest comparison, trained and validated on the photos in `folder`. */
export const compareRequest = (folder: string) => ({
  data: folder,
  val: folder,
  acts: ['swish', 'tanhexp'],
  preset: 'tiny',
  scale: 2,
  iterations: 10,
  seeds: 1,
});

/** An answer to a request (the socket also carries events, which have no id). */
export type Answer = Exclude<ServerMessage, { event: unknown }>;

export interface SocketClient {
  readonly ws: WebSocket;
  /** Every message so far, answers and events, in order. */
  readonly got: readonly ServerMessage[];
  send(id: number, channel: string, arg?: unknown): void;
  /** The first answer to request `id`; rejects when none came within `timeoutMs`. */
  answer(id: number, timeoutMs?: number): Promise<Answer>;
  /** When the first answer to `id` came (`performance.now()`), once it has. */
  answeredAt(id: number): number | undefined;
  /** Sends a request under the next id and waits for its answer. */
  request(channel: string, arg?: unknown, timeoutMs?: number): Promise<Answer>;
  close(): void;
}

/** Collects what comes on an open socket, and sends requests on it. */
export function socketClient(ws: WebSocket): SocketClient {
  const got: ServerMessage[] = [];
  const answers = new Map<number, { message: Answer; at: number }>();
  const waiting = new Map<number, Array<() => void>>();
  let next = 0;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as ServerMessage;
    got.push(m);
    if (!('id' in m) || answers.has(m.id)) return;
    answers.set(m.id, { message: m, at: performance.now() });
    for (const wake of waiting.get(m.id) ?? []) wake();
    waiting.delete(m.id);
  });
  const answer = (id: number, timeoutMs = 5000) =>
    new Promise<Answer>((resolve, reject) => {
      const seen = answers.get(id);
      if (seen) return resolve(seen.message);
      const timer = setTimeout(() => reject(new Error(`no answer to ${id} within ${timeoutMs} ms`)), timeoutMs);
      waiting.set(id, [
        ...(waiting.get(id) ?? []),
        () => {
          clearTimeout(timer);
          resolve(answers.get(id)!.message);
        },
      ]);
    });
  const send = (id: number, channel: string, arg?: unknown) => ws.send(JSON.stringify({ id, channel, arg }));
  return {
    ws,
    got,
    send,
    answer,
    answeredAt: (id) => answers.get(id)?.at,
    request(channel, arg, timeoutMs) {
      const id = ++next;
      send(id, channel, arg);
      return answer(id, timeoutMs);
    },
    close: () => ws.close(),
  };
}

/** Opens a socket of the server's session (its address and token) and waits until it is open. */
export async function openSocket(server: { readonly port: number; readonly token: string }): Promise<SocketClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
  const client = socketClient(ws);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return client;
}
