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

/** `write` fills the temp path it is given; the folder is created if needed. */
export async function atomicWrite(target: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  const dir = path.dirname(target);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, dir);
  }
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
