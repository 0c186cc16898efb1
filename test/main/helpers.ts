/** Shared set-up for the main/ tests: temp folders, a tiny model file, an event recorder. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendReport, BackendStatus, EventChannel, Events, FeatureMapsResult } from '../../main/api.ts';
import type { Emit, Engine, EngineConfig, JobInput } from '../../main/host/engine-host.ts';
import { initialWeights, presetConfig, type Scale } from '../../ml/network.ts';
import type { ActivationName } from '../../ml/activations.ts';
import { saveModelFile } from '../../ml/node/models.ts';

export const DATA = path.resolve(import.meta.dirname, '../../photos');
export const COFFEE = path.join(DATA, 'tiny/coffee_64x64.png');
export const MOTORCYCLE = path.join(DATA, 'tiny/motorcycle_200x150.png');

export async function tempDir(prefix = 'sr-studio-main-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** What `sr-studio new-model --preset tiny` writes: freshly initialised weights. */
export async function tinyModel(
  file: string,
  scale: Scale = 2,
  activation: ActivationName = 'tanhexp',
  seed = 0,
): Promise<string> {
  const config = presetConfig('tiny', scale, activation);
  await saveModelFile(file, config, initialWeights(config, seed));
  return file;
}

export type Recorded = { [C in EventChannel]: { channel: C; payload: Events[C] } }[EventChannel];

/** Records events and lets a test wait for one that matches. */
export class EventLog {
  readonly events: Recorded[] = [];
  #waiters: Array<{ test: (e: Recorded) => boolean; resolve: (e: Recorded) => void }> = [];

  readonly emit = <C extends EventChannel>(channel: C, payload: Events[C]): void => {
    const e = { channel, payload } as Recorded;
    this.events.push(e);
    this.#waiters = this.#waiters.filter((w) => (w.test(e) ? (w.resolve(e), false) : true));
  };

  of<C extends EventChannel>(channel: C, jobId?: string): Array<Events[C]> {
    return this.events
      .filter((e) => e.channel === channel && (!jobId || (e.payload as { jobId?: string }).jobId === jobId))
      .map((e) => e.payload as Events[C]);
  }

  forJob(jobId: string): Recorded[] {
    return this.events.filter((e) => (e.payload as { jobId?: string }).jobId === jobId);
  }

  /** The first event (already seen or still to come) that passes `test`. */
  wait(test: (e: Recorded) => boolean, timeoutMs = 120_000): Promise<Recorded> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for an event; got ${this.events.map((e) => e.channel).join(', ')}`)),
        timeoutMs,
      );
      this.#waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Waits for the job's job:done or job:error. */
  end(jobId: string, timeoutMs?: number): Promise<Recorded> {
    return this.wait(
      (e) => (e.channel === 'job:done' || e.channel === 'job:error') && e.payload.jobId === jobId,
      timeoutMs,
    );
  }
}

/** An engine that runs nothing: it records jobs and lets the test emit events as the worker would. */
export class StubEngine implements Engine {
  readonly jobs: JobInput[] = [];
  readonly controls: Array<{ jobId: string; action: string }> = [];
  emit: Emit = () => undefined;
  config: EngineConfig = { backends: { upscale: 'auto', train: 'auto' }, threads: null };
  busy = false;
  closed = false;
  readonly factory = (emit: Emit, config: EngineConfig): Engine => {
    this.emit = emit;
    this.config = config;
    return this;
  };
  async backend(): Promise<BackendStatus> {
    const cpu = { ok: true, name: 'cpu', device: 'plain JavaScript', why: 'cpu (stub)', validation: null } as const;
    return {
      upscale: { ...cpu, choice: this.config.backends.upscale },
      train: { ...cpu, choice: this.config.backends.train },
    };
  }
  async probe(): Promise<BackendReport> {
    return {
      probes: [],
      auto: { upscale: { name: 'cpu', why: 'cpu (stub)' }, train: { name: 'cpu', why: 'cpu (stub)' } },
    };
  }
  startJob(job: JobInput): string {
    this.jobs.push(job);
    return `job-${this.jobs.length}`;
  }
  async call(job: Extract<JobInput, { type: 'features' }>): Promise<FeatureMapsResult> {
    this.jobs.push(job);
    return [];
  }
  control(jobId: string, action: 'pause' | 'resume' | 'cancel'): void {
    if (!/^job-\d+$/.test(jobId))
      throw new Error(`No job with the id ${JSON.stringify(jobId)} is running; it may have finished already.`);
    this.controls.push({ jobId, action });
  }
  async configure(config: EngineConfig): Promise<void> {
    this.config = config;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
