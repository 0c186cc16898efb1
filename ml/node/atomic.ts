import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError, isUserError } from '../errors.ts';

/**
 * Atomic writes: the bytes go to a hidden temp file in the target's folder, are flushed to disk,
 * and the temp file is renamed over the target. A reader sees the old file or the new one, never
 * a partial one; on any failure the temp file is removed and the target is untouched.
 */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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
    throw errors.unwritableOutput(target, cur === target ? 'it is a file, not a folder' : `${JSON.stringify(cur)} is a file, not a folder`);
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

/** `write` fills the temp path it is given; the folder is created if needed. */
export async function atomicWrite(target: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  await ensureDir(path.dirname(target));
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (isUserError(e)) throw e;
    const code = (e as { code?: unknown } | undefined)?.code;
    throw code === 'ENOENT' ? errors.unwritableOutput(target, 'its folder has gone') : fsError(e, target);
  }
}

export function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  return atomicWrite(target, async (tmp) => {
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}
