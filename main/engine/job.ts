/** What every job in the worker gets, and small helpers the jobs share. */
import { errors, isUserError } from '../../ml/errors.ts';
import type { TrainControl } from '../../ml/train/events.ts';
import type { BackendStatus } from '../api.ts';
import type { WorkerEvent } from './protocol.ts';

export interface JobContext {
  /** The request id every event of this job carries. */
  readonly id: number;
  readonly post: (e: WorkerEvent) => void;
  /** Aborted by a cancel request (upscaling and other tiled work). */
  readonly signal: AbortSignal;
  /** Pause, resume and cancel for training (cancel saves a checkpoint). */
  readonly control: TrainControl;
  readonly previewIntervalMs: number;
  readonly backend: BackendStatus;
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
 * The one sentence a user sees for an error: a UserError's message as is; anything else (a bug) by
 * its first line, with the stack logged to stderr for whoever debugs it.
 */
export function messageOf(e: unknown): string {
  if (isUserError(e)) return e.message;
  console.error(e);
  const first = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  return `The engine failed unexpectedly: ${first || 'unknown error'}.`.replace(/\.\.$/, '.');
}

export const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** Throws unless the backend in use has every kernel training needs. */
export function assertCanTrain(b: BackendStatus): void {
  const probe = b.probes.find((p) => p.name === b.name);
  if (probe && !probe.canTrain) {
    throw errors.badArgument(`The ${b.name} backend cannot train; choose another backend in the settings.`);
  }
}
