import type {
  ClientMessage,
  EventChannel,
  Events,
  RequestArg,
  RequestChannel,
  RequestResult,
  ServerMessage,
  StudioApi,
} from './types.ts';
import { requestError } from './request-error.ts';

export type ConnectionState = 'connecting' | 'open' | 'closed';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const LOST = 'The connection to SR Studio was lost; check that it is still running, then try again.';

function isServerMessage(m: unknown): m is ServerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (typeof o['event'] === 'string') return true;
  return typeof o['id'] === 'number' && typeof o['ok'] === 'boolean';
}

/**
 * Takes the session token out of the address bar (and so out of the history and bookmarks): the
 * server answered the first load with the HttpOnly session cookie, which carries it from then on.
 */
export function dropTokenFromAddress(): void {
  const url = new URL(location.href);
  if (!url.searchParams.has('token')) return;
  url.searchParams.delete('token');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

/**
 * `StudioApi` over the browser-mode WebSocket (`/ws`, authenticated by the session cookie),
 * speaking `ClientMessage` / `ServerMessage`. Requests sent while connecting are queued; requests
 * in flight when the socket drops are rejected in one sentence, and the client reconnects with a
 * growing delay.
 */
export class BrowserClient implements StudioApi {
  readonly mode = 'browser' as const;
  readonly #url: string;
  #socket: WebSocket | null = null;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #queue: string[] = [];
  #listeners = new Map<EventChannel, Set<(payload: never) => void>>();
  #stateListeners = new Set<(state: ConnectionState) => void>();
  #state: ConnectionState = 'connecting';
  #retryMs = 500;

  constructor() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#url = `${scheme}//${location.host}/ws`;
    this.#connect();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  request<C extends RequestChannel>(channel: C, arg: RequestArg<C>): Promise<RequestResult<C>> {
    const id = this.#nextId++;
    const message: ClientMessage = { id, channel, arg };
    return new Promise<RequestResult<C>>((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => resolve(v as RequestResult<C>), reject });
      const text = JSON.stringify(message);
      if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(text);
      else this.#queue.push(text);
    });
  }

  on<C extends EventChannel>(channel: C, listener: (payload: Events[C]) => void): () => void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    const stored = listener as (payload: never) => void;
    set.add(stored);
    return () => set.delete(stored);
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    for (const l of this.#stateListeners) l(state);
  }

  #connect(): void {
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    this.#setState('connecting');
    socket.addEventListener('open', () => {
      this.#retryMs = 500;
      this.#setState('open');
      for (const text of this.#queue.splice(0)) socket.send(text);
    });
    socket.addEventListener('message', (e) => this.#receive(e.data));
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#setState('closed');
      for (const p of this.#pending.values()) p.reject(new Error(LOST));
      this.#pending.clear();
      setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
    });
  }

  #receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!isServerMessage(message)) return;
    if ('event' in message) {
      for (const l of this.#listeners.get(message.event) ?? []) l(message.payload as never);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(requestError(message) as Error);
  }
}

/** Connects to the browser-mode server that served this page. */
export function connectBrowser(): BrowserClient {
  dropTokenFromAddress();
  return new BrowserClient();
}
