/**
 * Browser mode's upload inbox: `<data>/inbox/session-…/`, one folder per server run. A file comes
 * in two steps: `files:upload` (name and size) reserves room and answers a one-time address, and a
 * PUT to it streams the body to a hidden `.part` file that is then linked to its final name (never
 * replacing a file). Limits: a size per file, a total per session, a number of uploads at once.
 * At start, the uploads of earlier runs (and any `.part` left by a crash) are removed, and so are
 * the copies for download that earlier versions made in session folders; results that upscaling
 * wrote beside them stay.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '../../ml/errors.ts';
import { alive } from '../../ml/node/atomic.ts';
import type { UploadReply } from '../api.ts';
import type { UploadInbox } from '../host/context.ts';

export interface UploadLimits {
  /** Largest file accepted. */
  readonly fileBytes: number;
  /** Most bytes uploaded in one run of the server. */
  readonly sessionBytes: number;
  /** Uploads announced or under way at once. */
  readonly atOnce: number;
  /** How long an announced upload waits for its bytes, and for each chunk of them. */
  readonly idleMs: number;
}

const MiB = 1024 * 1024;
export const UPLOAD_LIMITS: UploadLimits = {
  fileBytes: 256 * MiB,
  sessionBytes: 4096 * MiB,
  atOnce: 6,
  idleMs: 60_000,
};
export const UPLOAD_PATH = '/upload/';

/** Written in each session folder: which server owns it, and which files in it are uploads. */
const OWNER = '.session.json';
const MANIFEST = '.uploads';
/** Session folders of servers running in this process (tests run several). */
const OPEN = new Set<string>();

interface Pending {
  readonly name: string;
  readonly bytes: number;
  timer: NodeJS.Timeout | undefined;
  req?: IncomingMessage;
}

/** "1.2 GB", "256 MB", "640 KB": sizes as people read them (powers of 1024, as file managers show). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Model files earlier versions made for download in a session folder: `downloads/<uuid>/<name>`. */
const DOWNLOADS = 'downloads';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Removes the copies for download an earlier version made in `dir` (downloads are now made in the
 * host's temp folder); a `downloads` folder holding anything else is someone's own and stays.
 */
async function removeOldDownloads(dir: string): Promise<number> {
  const folder = path.join(dir, DOWNLOADS);
  const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => undefined);
  if (!entries?.every((e) => e.isDirectory() && UUID.test(e.name))) return 0;
  await fs.rm(folder, { recursive: true, force: true });
  return entries.length;
}

/** Removes earlier runs' uploads and partial files (not those of a server that is still running). */
async function cleanEarlier(root: string, log: (line: string) => void): Promise<void> {
  let removed = 0;
  let downloads = 0;
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith('session-')) continue;
    const dir = path.join(root, name);
    if (OPEN.has(dir)) continue;
    const owner = await fs.readFile(path.join(dir, OWNER), 'utf8').then(
      (t) => JSON.parse(t) as { pid?: unknown },
      () => undefined,
    );
    if (typeof owner?.pid === 'number' && owner.pid !== process.pid && alive(owner.pid)) continue;
    downloads += await removeOldDownloads(dir).catch(() => 0);
    if (owner === undefined) continue; // from a version that kept no list of its uploads: left alone
    const listed = await fs.readFile(path.join(dir, MANIFEST), 'utf8').catch(() => '');
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    const doomed = new Set([
      ...listed.split('\n').filter((n) => n && n === path.basename(n)),
      ...entries.filter((n) => n.endsWith('.part')),
    ]);
    for (const f of doomed)
      if (
        await fs.rm(path.join(dir, f), { force: true }).then(
          () => true,
          () => false,
        )
      )
        removed++;
    const left = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n !== OWNER && n !== MANIFEST);
    if (left.length === 0) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    else await fs.rm(path.join(dir, MANIFEST), { force: true }).catch(() => undefined);
  }
  if (removed) log(`SR Studio: removed ${removed} upload(s) left from earlier runs.`);
  if (downloads) log(`SR Studio: removed ${downloads} model file(s) made for download by an earlier version.`);
}

function reply(res: ServerResponse, status: number, body: UploadReply): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    ...(status === 200 ? {} : { Connection: 'close' }),
  });
  res.end(JSON.stringify(body));
}

/** A stream that passes at most `max` bytes and fails past that. */
function capped(max: number): Transform & { seen: () => number } {
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      done(n > max ? new Error('longer than announced') : null, chunk);
    },
  });
  return Object.assign(t, { seen: () => n });
}

/** Whether two plain files hold the same bytes (read side by side, a MiB at a time). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.lstat(a), fs.lstat(b).catch(() => undefined)]);
  if (!sb?.isFile() || sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([fs.open(a, 'r'), fs.open(b, 'r')]);
  try {
    const [ba, bb] = [Buffer.alloc(1 << 20), Buffer.alloc(1 << 20)];
    for (let at = 0; at < sa.size; ) {
      const [ra, rb] = await Promise.all([ha.read(ba, 0, ba.length, at), hb.read(bb, 0, bb.length, at)]);
      if (
        ra.bytesRead === 0 ||
        ra.bytesRead !== rb.bytesRead ||
        !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))
      )
        return false;
      at += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([ha.close(), hb.close()]);
  }
}

export class Uploads implements UploadInbox {
  readonly dir: string;
  readonly limits: UploadLimits;
  readonly #pending = new Map<string, Pending>();
  /** Told of each saved upload, with the name it was dropped with (messages show that name). */
  readonly #saved: (file: string, name: string) => void;
  #used = 0;
  #closed = false;

  private constructor(dir: string, limits: UploadLimits, saved: (file: string, name: string) => void) {
    this.dir = dir;
    this.limits = limits;
    this.#saved = saved;
  }

  /** Cleans up after earlier runs and makes this run's folder under `root`. */
  static async open(
    root: string,
    opts: {
      limits?: Partial<UploadLimits> | undefined;
      saved: (file: string, name: string) => void;
      log: (line: string) => void;
    },
  ): Promise<Uploads> {
    await fs.mkdir(root, { recursive: true });
    await cleanEarlier(root, opts.log);
    const dir = await fs.mkdtemp(path.join(root, 'session-'));
    await fs.writeFile(
      path.join(dir, OWNER),
      JSON.stringify({ pid: process.pid, started: new Date().toISOString() }) + '\n',
    );
    OPEN.add(dir);
    return new Uploads(dir, { ...UPLOAD_LIMITS, ...opts.limits }, opts.saved);
  }

  #reserved(): number {
    let n = 0;
    for (const p of this.#pending.values()) n += p.bytes;
    return n;
  }

  begin(name: string, bytes: number): { url: string } {
    const l = this.limits;
    if (bytes > l.fileBytes) {
      const size =
        formatBytes(bytes) === formatBytes(l.fileBytes) ? `just over ${formatBytes(bytes)}` : formatBytes(bytes);
      throw errors.badArgument(
        `Browser mode takes files of up to ${formatBytes(l.fileBytes)}, and ${name} is ${size}; upscale it with "sr-studio upscale" on the machine that runs SR Studio instead.`,
      );
    }
    if (this.#pending.size >= l.atOnce)
      throw errors.badArgument(
        `${l.atOnce} uploads are already under way; wait for one to finish, then add ${name} again.`,
      );
    if (this.#used + this.#reserved() + bytes > l.sessionBytes) {
      throw errors.badArgument(
        `The upload folder is full (${formatBytes(l.sessionBytes)} of uploads since SR Studio started, ${name} does not fit); restart SR Studio to clear it.`,
      );
    }
    const id = randomBytes(18).toString('base64url');
    const pending: Pending = { name, bytes, timer: undefined };
    pending.timer = setTimeout(() => this.#pending.delete(id), l.idleMs);
    pending.timer.unref();
    this.#pending.set(id, pending);
    return { url: `${UPLOAD_PATH}${id}` };
  }

  /** The PUT of an announced upload (the request is already authenticated). */
  async receive(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = this.#pending.get(id);
    if (req.method !== 'PUT') return reply(res, 405, { ok: false, error: 'Uploads are sent with PUT.' });
    if (!p || p.req || this.#closed)
      return reply(res, 404, { ok: false, error: 'This upload was not announced or has expired; add the file again.' });
    const length = Number(req.headers['content-length']);
    if (req.headers['content-length'] === undefined || length !== p.bytes) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      return reply(res, 400, {
        ok: false,
        error: `The upload of ${p.name} did not come with the size it was announced with; add the file again.`,
      });
    }
    clearTimeout(p.timer);
    p.req = req;
    const part = path.join(this.dir, `.${id}.part`);
    const counter = capped(p.bytes);
    req.setTimeout(this.limits.idleMs, () => req.destroy(new Error('the upload stalled')));
    let answer: [number, UploadReply] | null;
    try {
      await pipeline(req, counter, createWriteStream(part, { flags: 'wx' }));
      if (counter.seen() !== p.bytes) throw new Error('shorter than announced');
      const dest = await this.#link(part, p.name);
      this.#used += p.bytes;
      await fs.appendFile(path.join(this.dir, MANIFEST), `${path.basename(dest)}\n`);
      this.#saved(dest, p.name);
      answer = [200, { ok: true, file: { path: dest, name: path.basename(dest), bytes: p.bytes } }];
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOSPC' || code === 'EDQUOT')
        answer = [
          507,
          {
            ok: false,
            error: `The disk is full, so ${p.name} could not be saved; free some space, then add the file again.`,
          },
        ];
      else
        answer = req.destroyed
          ? null
          : [400, { ok: false, error: `The upload of ${p.name} was cut short; add the file again.` }];
    }
    this.#pending.delete(id);
    await fs.rm(part, { force: true }).catch(() => undefined);
    if (answer) reply(res, ...answer);
    else res.destroy();
  }

  /**
   * Gives the received file its name, or `name (2)`, `name (3)`…; a link never replaces a file. The
   * same bytes under a name already taken are that file (added twice, it is one file, and its result
   * one result).
   */
  async #link(part: string, name: string): Promise<string> {
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let k = 1; k < 10_000; k++) {
      const dest = path.join(this.dir, k === 1 ? name : `${stem} (${k})${ext}`);
      try {
        await fs.link(part, dest).catch((e: { code?: string }) => {
          // File systems without hard links (FAT, some network shares): an exclusive copy instead.
          if (e.code === 'EEXIST') throw e;
          return fs.copyFile(part, dest, fsConstants.COPYFILE_EXCL);
        });
        return dest;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
        if (await sameBytes(part, dest)) return dest;
      }
    }
    throw errors.badArgument(`Too many uploads are named ${JSON.stringify(name)}; rename the file first.`);
  }

  /** Stops uploads under way (their partial files go); the folder goes too if nothing was uploaded. */
  async close(): Promise<void> {
    this.#closed = true;
    OPEN.delete(this.dir);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.req?.destroy();
    }
    this.#pending.clear();
    const left = (await fs.readdir(this.dir).catch(() => [] as string[])).filter(
      (n) => n !== OWNER && !n.endsWith('.part'),
    );
    if (left.length === 0) await fs.rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
