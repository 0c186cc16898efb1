import { EVENT_CHANNELS } from '../../../main/channels.ts';
import type { JobChannel, JobEvent, JobId, JobInfo, StudioApi } from './types.ts';

export type { JobEvent };
export type JobListener = (event: JobEvent) => void;

const JOB_CHANNELS = EVENT_CHANNELS.filter((c): c is JobChannel => c.startsWith('job:'));

const EARLY_LIMIT = 2000;

/**
 * Routes job events to whoever started the job. Events can arrive before the start request has
 * answered with the job id (IPC events and replies travel separately), so events for unclaimed
 * jobs are kept and replayed when the owner claims the id.
 */
export class JobRouter {
  #owners = new Map<JobId, JobListener>();
  #early = new Map<JobId, JobEvent[]>();
  #earlyCount = 0;

  constructor(api: StudioApi) {
    for (const channel of JOB_CHANNELS) api.on(channel, (payload) => this.#route({ channel, payload } as JobEvent));
  }

  /**
   * Takes over a job the engine already holds (after a reload): what it reported so far is replayed
   * to `listener`, then its live events follow, as for a job this page started.
   */
  attach(job: JobInfo, listener: JobListener): () => void {
    for (const e of job.events) listener(e);
    return this.claim(job.jobId, listener);
  }

  /** Sends this job's events (including any that came early) to `listener` until released. */
  claim(jobId: JobId, listener: JobListener): () => void {
    this.#owners.set(jobId, listener);
    const early = this.#early.get(jobId) ?? [];
    this.#early.delete(jobId);
    this.#earlyCount -= early.length;
    for (const e of early) listener(e);
    return () => {
      if (this.#owners.get(jobId) === listener) this.#owners.delete(jobId);
    };
  }

  #route(event: JobEvent): void {
    const owner = this.#owners.get(event.payload.jobId);
    if (owner) {
      owner(event);
      return;
    }
    if (this.#earlyCount >= EARLY_LIMIT) {
      this.#early.clear();
      this.#earlyCount = 0;
    }
    const list = this.#early.get(event.payload.jobId) ?? [];
    list.push(event);
    this.#early.set(event.payload.jobId, list);
    this.#earlyCount++;
  }
}
