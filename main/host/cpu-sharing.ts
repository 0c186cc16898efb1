/**
 * The training thread and the short jobs' thread share the CPU. While a short job (an upscale, a
 * model comparison, feature maps) runs beside a running training, the training is slower, and its
 * progress says so: at once when the sharing starts and ends, and in each message while it lasts
 * (so a page that re-attaches sees it too). It also says whether a training runs, for the short
 * jobs' thread count.
 */
import type { JobId } from '../api.ts';
import type { JobType, RequestEvent } from '../engine/protocol.ts';

type Progress = Extract<RequestEvent, { channel: 'job:progress' }>;

/** Which jobs run in the training thread; the others are short jobs. */
export const TRAINING_JOBS: ReadonlySet<JobType> = new Set<JobType>(['train', 'compare']);

const SHORT_LABEL: { [T in JobType]: string } = {
  upscale: 'an upscale',
  'compare-models': 'a model comparison',
  features: 'feature maps',
  train: 'a training',
  compare: 'a comparison',
};

export const sharingNote = (label: string) => `sharing the CPU with ${label}, so slower until it finishes`;

function withNote(message: string, label: string): string {
  const note = sharingNote(label);
  return message ? `${message} (${note})` : note[0]!.toUpperCase() + note.slice(1);
}

interface Training {
  readonly jobId: JobId;
  running: boolean;
  last: { fraction: number; message: string } | undefined;
}

export interface SharingOutput {
  /** A progress event for the training, to be passed on like the worker's own. */
  progress(e: Progress): void;
  /** A training started or stopped running (paused, ended). */
  trainingRuns(running: boolean): void;
}

export class CpuSharing {
  readonly #out: SharingOutput;
  #training: Training | undefined;
  #short: { readonly jobId: JobId; readonly label: string } | undefined;
  /** The short job named in the training's progress now. */
  #noted: string | undefined;

  constructor(out: SharingOutput) {
    this.#out = out;
  }

  get trainingRuns(): boolean {
    return this.#training?.running ?? false;
  }

  /** Passes on a job's event (a training's progress with the note while it shares), then any change. */
  see(type: JobType, e: RequestEvent, pass: (e: RequestEvent) => void): void {
    const was = this.trainingRuns;
    if (!('channel' in e)) {
      // answers and errors say nothing of the sharing
    } else if (e.channel === 'job:state' && e.payload.state !== 'queued') {
      const { jobId, state } = e.payload;
      if (TRAINING_JOBS.has(type)) {
        const last = this.#training?.jobId === jobId ? this.#training.last : undefined;
        this.#training = { jobId, running: state === 'running', last };
      } else if (state === 'running') this.#short = { jobId, label: SHORT_LABEL[type] };
    } else if (e.channel === 'job:progress' && this.#training && this.#training.jobId === e.payload.jobId) {
      this.#training.last = { fraction: e.payload.fraction, message: e.payload.message };
      if (this.#noted)
        e = { channel: 'job:progress', payload: { ...e.payload, message: withNote(e.payload.message, this.#noted) } };
    }
    pass(e);
    this.#update(was);
  }

  /** The job ended (done, error, answer, or its thread stopped). */
  ended(jobId: JobId): void {
    const was = this.trainingRuns;
    if (this.#training?.jobId === jobId) this.#training = undefined;
    if (this.#short?.jobId === jobId) this.#short = undefined;
    this.#update(was);
  }

  #update(was: boolean): void {
    const t = this.#training;
    if (this.trainingRuns !== was) this.#out.trainingRuns(this.trainingRuns);
    const note = t?.running && this.#short ? this.#short.label : undefined;
    if (note === this.#noted) return;
    this.#noted = note;
    // A paused training says so itself; it hears of the sharing again when it resumes.
    if (!t?.running) return;
    const last = t.last ?? { fraction: 0, message: '' };
    this.#out.progress({
      channel: 'job:progress',
      payload: {
        jobId: t.jobId,
        fraction: last.fraction,
        message: note ? withNote(last.message, note) : last.message || 'Training',
      },
    });
  }
}
