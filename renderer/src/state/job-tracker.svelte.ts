import type { JobEvent } from '../api/jobs.ts';
import type { Events, JobId, JobInfo } from '../api/types.ts';
import type { Services } from './services.ts';

/**
 * One engine job's lifecycle as a view shows it, the same for every session that runs jobs: the
 * job it follows (started here, or taken over after a reload), its progress line, and how it
 * ended (a summary, or an error). The session hears each event (`onEvent`) and decides what it
 * means for it; `end` lets the job go.
 */
export class JobTracker {
  readonly #app: Pick<Services, 'api' | 'jobs' | 'attempt'>;
  readonly #onEvent: (e: JobEvent) => void;
  #jobId = $state<JobId | null>(null);
  #fraction = $state(0);
  #message = $state('');
  #summary = $state<string | null>(null);
  #error = $state<string | null>(null);
  #release: (() => void) | null = null;

  constructor(app: Pick<Services, 'api' | 'jobs' | 'attempt'>, onEvent: (e: JobEvent) => void) {
    this.#app = app;
    this.#onEvent = onEvent;
  }

  get jobId(): JobId | null {
    return this.#jobId;
  }
  get running(): boolean {
    return this.#jobId !== null;
  }
  get fraction(): number {
    return this.#fraction;
  }
  set fraction(f: number) {
    this.#fraction = f;
  }
  get message(): string {
    return this.#message;
  }
  set message(m: string) {
    this.#message = m;
  }
  get summary(): string | null {
    return this.#summary;
  }
  set summary(s: string | null) {
    this.#summary = s;
  }
  get error(): string | null {
    return this.#error;
  }
  set error(e: string | null) {
    this.#error = e;
  }

  /** Forgets how the last job ended, for a new one: no summary or error, at the start. */
  reset(message = 'Starting…'): void {
    this.#summary = this.#error = null;
    this.#fraction = 0;
    this.#message = message;
  }

  /** Follows a job this page started: its events (those that came early first) go to the session. */
  follow(jobId: JobId): void {
    this.#jobId = jobId;
    this.#listen(jobId, () => this.#app.jobs.claim(jobId, this.#onEvent));
  }

  /** Takes over a job the engine is running (after a reload): what it reported so far, then its events. */
  attach(job: JobInfo): void {
    this.#jobId = job.jobId;
    this.#listen(job.jobId, () => this.#app.jobs.attach(job, this.#onEvent));
  }

  #listen(jobId: JobId, listen: () => () => void): void {
    const release = listen();
    // A job whose end was among the events replayed has been let go already.
    if (this.#jobId === jobId) this.#release = release;
    else release();
  }

  /** The progress line follows the job's progress. */
  progress(p: Events['job:progress']): void {
    this.#fraction = p.fraction;
    this.#message = p.message;
  }

  /** Asks the engine to pause, resume or cancel the job; null when there is none or it refused (said in a toast). */
  async control<A extends 'pause' | 'resume' | 'cancel'>(action: A) {
    const jobId = this.#jobId;
    if (!jobId) return null;
    return this.#app.attempt(this.#app.api.request(`job:${action}`, { jobId }));
  }

  /** The job is over: its events are no longer heard. */
  end(): void {
    this.#release?.();
    this.#release = null;
    this.#jobId = null;
  }
}

/** A session that runs jobs: its progress line and how its job ended, as its tracker has them. */
export abstract class JobSession {
  protected abstract readonly job: JobTracker;

  get running(): boolean {
    return this.job.running;
  }
  get fraction(): number {
    return this.job.fraction;
  }
  get message(): string {
    return this.job.message;
  }
  get summary(): string | null {
    return this.job.summary;
  }
  get error(): string | null {
    return this.job.error;
  }
}
