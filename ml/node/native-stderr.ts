/**
 * Keeps a native library's messages on stderr (file descriptor 2) away from the user while it
 * starts: Dawn prints warnings such as "maxDynamicUniformBuffersPerPipelineLayout artificially
 * reduced…" from C++ when it opens an OpenGL device. Node has no dup2, so on Linux fd 2 is
 * re-pointed the POSIX way: reopen the current stderr through /proc/self/fd/2, close 2, open a
 * capture file (which takes the lowest free descriptor, 2), run, then close 2 and reopen the saved
 * one (which takes 2 again). What was captured is handed back; lines that are not the library's
 * are the caller's to pass on.
 *
 * Only on Linux, on the main thread of a process that does nothing else meanwhile (the CLI): a
 * worker thread shares descriptors with a host that may open files at the same moment. And only
 * where reopening gives back the same stream: a terminal, a pipe, or a file opened for appending
 * (`2>>log`). A file opened by `2>log` is shared with the shell at one offset that a reopened
 * descriptor would not advance, so later writers would overwrite what this process wrote: there,
 * and elsewhere, `fn` simply runs with stderr as it is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

/** Whether fd 2 can be reopened through /proc without changing where later writes land. */
function reopenable(): boolean {
  try {
    const st = fs.fstatSync(2);
    if (st.isFIFO() || st.isCharacterDevice()) return true;
    if (!st.isFile()) return false;
    const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/2', 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & 0o2000) !== 0; // O_APPEND
  } catch {
    return false;
  }
}

export async function captureNativeStderr<T>(fn: () => Promise<T>): Promise<{ value: T; captured: string }> {
  if (process.platform !== 'linux' || !isMainThread || !reopenable()) return { value: await fn(), captured: '' };
  let saved: number;
  try {
    saved = fs.openSync('/proc/self/fd/2', 'a');
  } catch {
    return { value: await fn(), captured: '' }; // a socket or a closed stderr: leave it alone
  }
  const file = path.join(os.tmpdir(), `.sr-studio-stderr-${process.pid}-${Date.now()}.txt`);
  fs.closeSync(2);
  const fd = fs.openSync(file, 'w+', 0o600);
  const restore = () => {
    fs.closeSync(fd);
    fs.openSync(`/proc/self/fd/${saved}`, 'a'); // takes descriptor 2 again
    fs.closeSync(saved);
  };
  if (fd !== 2) {
    // Descriptor 2 was taken in between (nothing here opens files meanwhile, but be safe).
    restore();
    fs.rmSync(file, { force: true });
    return { value: await fn(), captured: '' };
  }
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  restore();
  try {
    if (!outcome.ok) throw outcome.error;
    return { value: outcome.value, captured: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.rmSync(file, { force: true });
  }
}
