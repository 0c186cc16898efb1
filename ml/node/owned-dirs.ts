/**
 * Temp folders named for the process that owns them, `<prefix><pid>-<start>-XXXXXX` (start: when
 * the process began, as the system counts it, so a reused process id is not taken for its owner).
 * A process that is killed leaves its folders behind; the next one to make a folder of the same
 * kind removes those whose owner is gone. Folders of running processes are left alone.
 */
import { readFileSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive } from './atomic.ts';

/** When the process began (Linux: its start time in clock ticks since boot); undefined elsewhere or when it is gone. */
export function processStart(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces) start at field 3; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether the process that made a folder of that id and start is still running. */
function ownerRuns(pid: number, start: string): boolean {
  if (!alive(pid)) return false;
  const now = processStart(pid);
  return start === 'x' || now === undefined || now === start;
}

/** Removes the `prefix` folders in `root` whose owner is gone; returns their paths. */
export async function removeOrphanDirs(prefix: string, root = os.tmpdir()): Promise<string[]> {
  const name = new RegExp(`^${escapeRegExp(prefix)}(\\d+)-(\\d+|x)-[A-Za-z0-9]{6}$`);
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const n of await fs.readdir(root).catch(() => [] as string[])) {
    const m = name.exec(n);
    if (!m || ownerRuns(Number(m[1]), m[2]!)) continue;
    const dir = path.join(root, n);
    // Only real folders of this user: a shared temp folder holds other users' files too.
    const st = await fs.lstat(dir).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await fs.rm(dir, { recursive: true, force: true }).then(
      () => removed.push(dir),
      () => undefined,
    );
  }
  return removed;
}

/** A new folder in `root` owned by this process, after removing those of processes that are gone. */
export async function ownedTempDir(prefix: string, root = os.tmpdir()): Promise<string> {
  await removeOrphanDirs(prefix, root);
  return fs.mkdtemp(path.join(root, `${prefix}${process.pid}-${processStart(process.pid) ?? 'x'}-`));
}
