import type { Events, JobId, JobInfo, StudioApi } from './types.ts';

type JobChannel = 'job:progress' | 'job:state' | 'job:preview' | 'job:metrics' | 'job:file-done' | 'job:file-error' | 'job:done' | 'job:error';

/** One job event, discriminated by channel. */
export type JobEvent = { [C in JobChannel]: { channel: C; payload: Events[C] } }[JobChannel];
export type JobListener = (event: JobEvent) => void;

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
    api.on('job:progress', (payload) => this.#route({ channel: 'job:progress', payload }));
    api.on('job:state', (payload) => this.#route({ channel: 'job:state', payload }));
    api.on('job:preview', (payload) => this.#route({ channel: 'job:preview', payload }));
    api.on('job:metrics', (payload) => this.#route({ channel: 'job:metrics', payload }));
    api.on('job:file-done', (payload) => this.#route({ channel: 'job:file-done', payload }));
    api.on('job:file-error', (payload) => this.#route({ channel: 'job:file-error', payload }));
    api.on('job:done', (payload) => this.#route({ channel: 'job:done', payload }));
    api.on('job:error', (payload) => this.#route({ channel: 'job:error', payload }));
  }

  /**
   * Takes over a job the engine already holds (after a reload): what it reported so far is replayed
   * to `listener`, then its live events follow, as for a job this page started.
   */
  attach(job: JobInfo, listener: JobListener): () => void {
    for (const e of job.events) listener(e as JobEvent);
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
