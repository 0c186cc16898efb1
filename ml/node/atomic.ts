import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { errors, fsError, isUserError } from '../errors.ts';

/**
 * Atomic writes: the bytes go to a hidden temp file in the target's folder, are flushed to disk,
 * and the temp file is renamed over the target. A reader sees the old file or the new one, never
 * a partial one; on any failure the temp file is removed and the target is untouched.
 */
export function tempPathFor(target: string): string {
  const tail = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // A name that would pass the file system's limit is cut short: the rename gives the real one.
  return path.join(path.dirname(target), `.${clipBytes(path.basename(target), NAME_MAX - 1 - tail.length)}${tail}`);
}

/** The longest file name most file systems take, in bytes (ext4, XFS, Btrfs, APFS; NTFS in UTF-16 units). */
export const NAME_MAX = 255;

/** `name` cut to at most `max` bytes of UTF-8, never inside a character. */
function clipBytes(name: string, max: number): string {
  const bytes = Buffer.from(name);
  if (bytes.length <= max) return name;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // a continuation byte: back to the character's start
  return bytes.subarray(0, end).toString();
}

/**
 * Creates a folder and its missing parents, one level at a time: Node's own recursive mkdir never
 * returns on some pseudo-filesystems (it retries forever under /proc), and this ends in one user
 * error instead, naming the folder that could not be made.
 */
export async function ensureDir(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let cur = target; ; cur = path.dirname(cur)) {
    let st;
    try {
      st = await fs.stat(cur);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(cur) !== cur) {
        missing.push(cur);
        continue;
      }
      throw fsError(e, target);
    }
    if (st.isDirectory()) break;
    throw errors.unwritableOutput(
      target,
      cur === target ? 'it is a file, not a folder' : `${JSON.stringify(cur)} is a file, not a folder`,
    );
  }
  for (const d of missing.reverse()) {
    try {
      await fs.mkdir(d);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'EEXIST' && (await fs.stat(d).catch(() => undefined))?.isDirectory()) continue;
      // ENOENT with the parent in place: a filesystem where folders cannot be made (/proc, /sys).
      throw code === 'ENOENT' ? errors.unwritableOutput(d, 'folders cannot be created there') : fsError(e, d);
    }
  }
}

export interface AtomicOptions {
  /**
   * false: never replace an existing target. The temp file is then hard-linked into place, which
   * fails if the target exists, so of two writers racing for one name only one succeeds (the other
   * gets output-exists). Where hard links are not supported (FAT), it checks, then renames.
   */
  readonly replace?: boolean;
}

async function commit(tmp: string, target: string, replace: boolean): Promise<void> {
  if (replace) return fs.rename(tmp, target);
  try {
    await fs.link(tmp, target);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EEXIST') throw errors.outputExists(target);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
    if (
      await fs.access(target).then(
        () => true,
        () => false,
      )
    )
      throw errors.outputExists(target);
    return fs.rename(tmp, target);
  }
  await fs.rm(tmp, { force: true });
}

/** `write` fills the temp path it is given; the folder is created if needed. */
export async function atomicWrite(
  target: string,
  write: (tmp: string) => Promise<unknown>,
  opts: AtomicOptions = {},
): Promise<void> {
  await ensureDir(path.dirname(target));
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    await commit(tmp, target, opts.replace ?? true);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (isUserError(e)) throw e;
    const code = (e as { code?: unknown } | undefined)?.code;
    throw code === 'ENOENT' ? errors.unwritableOutput(target, 'its folder has gone') : fsError(e, target);
  }
}

export function writeFileAtomic(target: string, data: Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  return atomicWrite(
    target,
    async (tmp) => {
      const fh = await fs.open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    opts,
  );
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Whether a process of this machine with that id is running. A killed process whose parent has not
 * reaped it yet (a zombie, Linux's state Z or X) still answers signal 0, but runs no more.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    // The state follows the command name in parentheses, which may itself hold spaces or ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // gone between the two looks
  }
}

/**
 * Removes the temp files that writes killed midway left in `dir` (their writer's process is gone);
 * those of live writers are left alone. Returns how many went. A folder that cannot be read is skipped.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    const pid = Number(m?.[1]);
    if (!m || pid === process.pid || alive(pid)) continue;
    await fs.rm(path.join(dir, n), { force: true }).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
