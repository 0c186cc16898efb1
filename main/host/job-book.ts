/**
 * What the host remembers of each job it holds, so that a page that reloads (or a second window)
 * can re-attach: its kind and spec, its state, and the events a view draws it from. Training keeps
 * every validation point and up to MAX_LOSS_POINTS loss points (thinned evenly beyond that), the
 * latest preview and the latest progress; an upscale keeps each file's result, with the
 * images of the newest IMAGES_KEPT only. A job is forgotten when it ends (job:done or job:error).
 */
import type { Events, JobId, JobInfo, JobKind, ReplayedEvent } from '../api.ts';

export const MAX_LOSS_POINTS = 4000;
export const IMAGES_KEPT = 10;

interface Entry {
  kind: JobKind;
  spec: JobInfo['spec'];
  state: JobInfo['state'];
  events: ReplayedEvent[];
  losses: number;
}

const isLoss = (e: ReplayedEvent) => e.channel === 'job:metrics' && e.payload.loss !== undefined;

export class JobBook {
  readonly #jobs = new Map<JobId, Entry>();
  readonly #waiting = new Map<JobId, Array<(failed: boolean) => void>>();
  /** Places held by requests that are still checking their job before starting it. */
  #reserved = 0;

  /**
   * Holds a place for a job whose request is still being checked, so that requests arriving
   * meanwhile count it; the returned function gives the place back (once the job is started and
   * in the book, or its start failed).
   */
  reserve(): () => void {
    this.#reserved++;
    let held = true;
    return () => {
      if (held) this.#reserved--;
      held = false;
    };
  }

  start(jobId: JobId, kind: JobKind, spec: JobInfo['spec']): void {
    this.#jobs.set(jobId, { kind, spec, state: 'queued', events: [], losses: 0 });
  }

  /** Resolves once the job ends: true when it failed (job:error); a job not held counts as failed. */
  failed(jobId: JobId): Promise<boolean> {
    if (!this.#jobs.has(jobId)) return Promise.resolve(true);
    return new Promise((resolve) => this.#waiting.set(jobId, [...(this.#waiting.get(jobId) ?? []), resolve]));
  }

  /** Sees every event the host sends to the page. */
  record<C extends keyof Events>(channel: C, payload: Events[C]): void {
    const jobId = (payload as { jobId?: JobId }).jobId;
    const job = jobId === undefined ? undefined : this.#jobs.get(jobId);
    if (!job) return;
    const e = { channel, payload } as ReplayedEvent;
    switch (e.channel) {
      case 'job:state':
        job.state = e.payload.state;
        this.#replace(job, e, (x) => x.channel === 'job:state');
        return;
      case 'job:progress':
        this.#replace(job, e, (x) => x.channel === 'job:progress');
        return;
      case 'job:preview': {
        // Upscale tiles are not kept (the file's result follows); a training preview replaces the last.
        if (e.payload.file !== undefined) return;
        this.#replace(job, e, (x) => x.channel === 'job:preview');
        return;
      }
      case 'job:metrics':
        job.events.push(e);
        if (isLoss(e) && ++job.losses > MAX_LOSS_POINTS) this.#thinLosses(job);
        return;
      case 'job:file-done': {
        job.events.push(e);
        const done = job.events.filter((x) => x.channel === 'job:file-done');
        const old = done.at(-IMAGES_KEPT - 1);
        if (old && old.channel === 'job:file-done' && old.payload.result.dataUrl) {
          old.payload.result = { dataUrl: '', width: old.payload.result.width, height: old.payload.result.height };
        }
        return;
      }
      case 'job:file-error':
        job.events.push(e);
        return;
    }
    if (channel === 'job:done' || channel === 'job:error') {
      this.#jobs.delete(jobId!);
      for (const resolve of this.#waiting.get(jobId!) ?? []) resolve(channel === 'job:error');
      this.#waiting.delete(jobId!);
    }
  }

  #replace(job: Entry, e: ReplayedEvent, same: (x: ReplayedEvent) => boolean): void {
    const i = job.events.findIndex(same);
    if (i >= 0) job.events.splice(i, 1);
    job.events.push(e);
  }

  /** Every other loss point goes, so the curve keeps its shape at half the points. */
  #thinLosses(job: Entry): void {
    let k = 0;
    job.events = job.events.filter((x) => !isLoss(x) || k++ % 2 === 0);
    job.losses = job.events.filter(isLoss).length;
  }

  /** Jobs started and not yet ended, and places reserved for jobs about to start. */
  get size(): number {
    return this.#jobs.size + this.#reserved;
  }

  list(): JobInfo[] {
    return [...this.#jobs].map(([jobId, j]) => ({
      jobId,
      kind: j.kind,
      state: j.state,
      spec: j.spec,
      events: [...j.events],
    }));
  }
}
