/** What every job in the worker gets, and small helpers the jobs share. */
import { firstLine, isUserError } from '../../ml/errors.ts';
import type { TrainControl } from '../../ml/train/events.ts';
import type { Events, JobChannel, JobId, PurposeBackend } from '../api.ts';
import type { JobError, WorkerEvent } from './protocol.ts';

export interface JobContext {
  /** The job's id (the host's, the one the page knows it by), which every event of it carries. */
  readonly jobId: JobId;
  readonly post: (e: WorkerEvent) => void;
  /** Posts one of this job's events for the page, as the page gets it. */
  readonly emit: <C extends JobChannel>(channel: C, payload: Omit<Events[C], 'jobId'>) => void;
  /** Aborted by a cancel request (upscaling and other tiled work). */
  readonly signal: AbortSignal;
  /** Pause, resume and cancel for training (cancel saves a checkpoint). */
  readonly control: TrainControl;
  readonly previewIntervalMs: number;
  /** The backend of this job's purpose, already the active one. */
  readonly backend: Extract<PurposeBackend, { ok: true }>;
  /** Helper threads for training (the setting; null: one per extra core on CPU backends). */
  readonly threads: number | null;
  /** ONNX Runtime threads for upscaling: fewer while a training runs beside (undefined: one per core). */
  readonly inferenceThreads?: number | undefined;
}

/** Lets through at most one call per `ms`; `force` always passes (and restarts the interval). */
export class Throttle {
  #last = -Infinity;
  constructor(readonly ms: number) {}
  ready(force = false): boolean {
    const now = performance.now();
    if (!force && now - this.#last < this.ms) return false;
    this.#last = now;
    return true;
  }
}

/**
 * An error for the host to word: a UserError's code, facts and message; anything else (a bug) by
 * its first line, with the stack logged to stderr for whoever debugs it.
 */
export function errorOf(e: unknown): JobError {
  if (isUserError(e)) return e.data;
  console.error(e);
  return { code: 'internal', facts: { why: firstLine(e) } };
}

export const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;
