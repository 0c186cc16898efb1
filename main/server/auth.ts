/**
 * Who may talk to browser mode: requests addressed to this server by a name it answers to (the
 * Host header, against DNS rebinding), from its own page (the Origin header, where a browser sends
 * one), carrying the session token, in the HttpOnly session cookie or, for other clients, in
 * `?token=`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import os from 'node:os';

export interface Gate {
  readonly token: string;
  readonly port: number;
  readonly scheme: 'http' | 'https';
  /** Host names and addresses the server answers to, lower case, IPv6 in brackets. */
  readonly hosts: ReadonlySet<string>;
}

export type Verdict = { ok: true; fromQuery: boolean } | { ok: false; status: 403 | 421; message: string };

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

const bracket = (h: string) => (isIP(h) === 6 ? `[${h}]` : h.toLowerCase());

/** True for addresses that only this machine can reach. */
export function isLoopback(listen: string | undefined): boolean {
  if (listen === undefined) return true;
  const h = listen.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The names a server listening on `listen` answers to: the loopback names always, the address it
 * listens on, and for 0.0.0.0 or :: every address of this machine and its host name.
 */
export function allowedHosts(listen: string | undefined): Set<string> {
  const hosts = new Set(LOOPBACK);
  if (listen === undefined) return hosts;
  if (!WILDCARD.has(listen)) {
    hosts.add(bracket(listen.replace(/^\[|\]$/g, '')));
    return hosts;
  }
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) hosts.add(bracket(a.address.replace(/%.*$/, '')));
  hosts.add(os.hostname().toLowerCase());
  return hosts;
}

/** The Host header's name when it names this server on its port, else null. */
export function hostName(req: IncomingMessage, gate: Gate): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?$/.exec(req.headers.host ?? '');
  if (!m) return null;
  const name = m[1]!.toLowerCase();
  const port = m[2] === undefined ? (gate.scheme === 'https' ? 443 : 80) : Number(m[2]);
  return gate.hosts.has(name) && port === gate.port ? name : null;
}

/** Cookies by name (a name given twice keeps every value). */
export function parseCookies(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (header ?? '').split(';').map((p) => p.trim())) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

export const cookieName = (port: number) => `sr-studio-token-${port}`;

/** The Set-Cookie value that hands the page its session. */
export function sessionCookie(gate: Gate): string {
  return `${cookieName(gate.port)}=${gate.token}; HttpOnly; SameSite=Strict; Path=/${gate.scheme === 'https' ? '; Secure' : ''}`;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a request: the Host header first (421); then, for requests that act (the WebSocket
 * upgrade, uploads), an Origin header must be this server's own; then the token (403).
 */
export function admit(req: IncomingMessage, gate: Gate): Verdict {
  const host = hostName(req, gate);
  if (host === null)
    return {
      ok: false,
      status: 421,
      message:
        'Misdirected request: this is not an address SR Studio answers to; open the address it printed when it started.\n',
    };
  const origin = req.headers.origin?.toLowerCase();
  const own = `${gate.scheme}://${host}${gate.port === (gate.scheme === 'https' ? 443 : 80) ? '' : `:${gate.port}`}`;
  const acts = (req.method !== 'GET' && req.method !== 'HEAD') || req.headers.upgrade !== undefined;
  if (acts && origin !== undefined && origin !== own)
    return { ok: false, status: 403, message: 'Forbidden: requests from other sites are refused.\n' };
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
  if (sameToken(query, gate.token)) return { ok: true, fromQuery: true };
  const cookies = parseCookies(req.headers.cookie).get(cookieName(gate.port)) ?? [];
  if (cookies.some((c) => sameToken(c, gate.token))) return { ok: true, fromQuery: false };
  return {
    ok: false,
    status: 403,
    message: 'Forbidden: open the address SR Studio printed when it started (it carries the session token).\n',
  };
}
