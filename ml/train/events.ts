import type { RgbImage } from '../image.ts';
import type { ErrorData } from '../errors.ts';
import type { BestScores } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import type { LossParts } from './engine.ts';

/** What a training run reports, in order; the CLI, the worker and the app all consume this stream. */
export interface ValidationScores {
  readonly psnrY: number;
  readonly ssimY: number;
  /** The detail measure (ml/metrics.ts): mean |∇Y| of the output over the ground truth's. */
  readonly detail: number;
  readonly bicubicPsnrY: number;
  readonly bicubicSsimY: number;
  readonly bicubicDetail: number;
  readonly images: ReadonlyArray<{ name: string; psnrY: number; ssimY: number; detail: number; bicubicPsnrY: number }>;
}

export type TrainEvent =
  | {
      type: 'started';
      config: TrainConfig;
      parameters: number;
      iteration: number;
      continued: boolean;
      trainImages: number;
      valImages: number;
    }
  | {
      type: 'progress';
      iteration: number;
      loss: number;
      lr: number;
      itPerSec: number;
      elapsedMs: number;
      etaMs: number;
      /** A perceptual run's parts of the loss. */
      parts?: LossParts | undefined;
    }
  | ({ type: 'validation'; iteration: number } & ValidationScores)
  | { type: 'preview'; iteration: number; image: RgbImage; path?: string | undefined }
  | { type: 'checkpoint'; iteration: number; path: string; best: boolean }
  | { type: 'warning'; iteration: number; message: string }
  | { type: 'paused'; iteration: number }
  | { type: 'resumed'; iteration: number }
  | {
      /** The run ended: it trained all its iterations (finished), or was cancelled (stopped, with a checkpoint). */
      type: 'end';
      iteration: number;
      reason: 'finished' | 'cancelled';
      elapsedMs: number;
      best: BestScores | null;
      last: ValidationScores | null;
      modelPath?: string | undefined;
      msPerIteration: number;
    }
  /** It stopped on an error (`error`, as data for each front end to word); `message` is the command line's sentence. */
  | { type: 'failed'; iteration: number; message: string; error: ErrorData };

export type TrainEventType = TrainEvent['type'];

/**
 * Pause, resume (un-pause) and cancel a running training from outside (CLI signal, worker message,
 * button). Resuming is not continuing: a run is continued from its checkpoint by a new job.
 */
export class TrainControl {
  #paused = false;
  #cancelled = false;
  #wake: (() => void) | undefined;

  get paused(): boolean {
    return this.#paused;
  }
  get cancelled(): boolean {
    return this.#cancelled;
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }
  cancel(): void {
    this.#cancelled = true;
    this.#wake?.();
  }
  /** Resolves once not paused (or cancelled). */
  async whilePaused(): Promise<void> {
    while (this.#paused && !this.#cancelled) await new Promise<void>((r) => (this.#wake = r));
    this.#wake = undefined;
  }
}
