/**
 * For the tests that race a request against a name being swapped: a thread that keeps swapping a
 * name between a real file (or folder) and a symlink leading elsewhere, and a bounded race of
 * requests against it.
 */
import { Worker } from 'node:worker_threads';

export interface SwapTimes {
  /** How long the swapped name stays inside, then outside, in ms. */
  readonly insideMs: number;
  readonly outsideMs: number;
}

/** Each state holds a moment, so requests meet both (the inside one longer, so that many are answered). */
export const SWAP_TIMES: SwapTimes = { insideMs: 1, outsideMs: 0.1 };

/**
 * Swaps in another thread until the returned function is called (it waits for the thread to end).
 * file: `name` is by turns a hard link to `inside` and a symlink to `target` (each renamed into
 * place, so it always exists). folder: `name` is by turns the real folder and a symlink to `target`.
 */
export function swapper(
  kind: 'file' | 'folder',
  name: string,
  inside: string,
  target: string,
  times: SwapTimes = SWAP_TIMES,
): () => Promise<void> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const fs = require('node:fs');
    const { workerData: w } = require('node:worker_threads');
    const stop = new Int32Array(w.stop);
    const away = w.name + '.away';
    const hold = (ms) => Atomics.wait(stop, 0, 0, ms);
    for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
      try {
        if (w.kind === 'file') {
          fs.rmSync(away, { force: true });
          if (i % 2) fs.symlinkSync(w.target, away); else fs.linkSync(w.inside, away);
          fs.renameSync(away, w.name);
          hold(i % 2 ? w.outsideMs : w.insideMs);
        } else {
          fs.renameSync(w.name, away);
          fs.symlinkSync(w.target, w.name);
          hold(w.outsideMs);
          fs.unlinkSync(w.name);
          fs.renameSync(away, w.name);
          hold(w.insideMs);
        }
      } catch {}
    }
    if (w.kind === 'file') { fs.rmSync(w.name, { force: true }); fs.linkSync(w.inside, w.name); }
    if (w.kind === 'folder' && !fs.existsSync(w.name)) fs.renameSync(away, w.name);`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { kind, name, inside, target, stop: stop.buffer, ...times },
  });
  return async () => {
    Atomics.store(stop, 0, 1);
    await new Promise((r) => worker.once('exit', r));
  };
}

export interface RaceLimits {
  /** Requests at most, and the most time they may take. */
  readonly rounds: number;
  readonly maxMs: number;
  /** Requests under way at once. */
  readonly atOnce: number;
}

export const RACE: RaceLimits = { rounds: 600, maxMs: 5000, atOnce: 8 };

/** Runs `once(i)` up to `rounds` times (`atOnce` at a time) or for `maxMs`, whichever ends first; returns how many ran. */
export async function race(once: (i: number) => Promise<void>, limits: RaceLimits = RACE): Promise<number> {
  const end = Date.now() + limits.maxMs;
  let next = 0;
  const lane = async () => {
    while (next < limits.rounds && Date.now() < end) await once(next++);
  };
  await Promise.all(Array.from({ length: limits.atOnce }, lane));
  return next;
}
