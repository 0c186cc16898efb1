/**
 * The engine worker (worker_threads): starts the tfjs backend once, reports it, then runs jobs one
 * at a time in arrival order. Controls act at once: pause/resume on the running job's TrainControl,
 * cancel on its AbortController and TrainControl (a queued job is dropped with a done event).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../../ml/errors.ts';
import { initBackend, probeBackends } from '../../ml/node/backends.ts';
import { TrainControl } from '../../ml/train/events.ts';
import type { BackendStatus } from '../api.ts';
import { runCompare, runCompareModels } from './compare-job.ts';
import { runFeatures } from './features.ts';
import { messageOf, type JobContext } from './job.ts';
import type { JobRequest, JobType, WorkerEvent, WorkerOptions, WorkerRequest } from './protocol.ts';
import { runTrain } from './train-job.ts';
import { runUpscale } from './upscale-job.ts';

type Runner<T extends JobType> = (spec: Extract<JobRequest, { type: T }>['spec'], ctx: JobContext) => Promise<void>;
const RUNNERS: { [T in JobType]: Runner<T> } = {
  upscale: runUpscale,
  train: runTrain,
  compare: runCompare,
  'compare-models': runCompareModels,
  features: runFeatures,
};

if (!parentPort) throw new Error('main/engine/worker.ts must run in a worker thread');
const port = parentPort;
const options = workerData as WorkerOptions;
const post = (e: WorkerEvent) => port.postMessage(e);

async function startBackend(): Promise<BackendStatus> {
  const selection = await initBackend(options.backend, 'inference');
  return { name: selection.name, device: selection.device, why: selection.why, probes: await probeBackends() };
}

const backend = startBackend();
backend.then(
  (b) => post({ type: 'ready', backend: b }),
  (e: unknown) => post({ type: 'init-error', message: messageOf(e) }),
);

const queue: JobRequest[] = [];
let running: { id: number; abort: AbortController; control: TrainControl } | undefined;

port.on('message', (m: WorkerRequest) => {
  switch (m.type) {
    case 'pause':
      if (running?.id === m.id) running.control.pause();
      break;
    case 'resume':
      if (running?.id === m.id) running.control.resume();
      break;
    case 'cancel': {
      if (running?.id === m.id) {
        running.abort.abort();
        running.control.cancel();
      }
      const i = queue.findIndex((q) => q.id === m.id);
      if (i >= 0) {
        queue.splice(i, 1);
        post({ type: 'done', id: m.id, summary: 'Cancelled before it started.', result: { cancelled: true } });
      }
      break;
    }
    default:
      queue.push(m);
      void pump();
  }
});

async function pump(): Promise<void> {
  if (running) return;
  const job = queue.shift();
  if (!job) return;
  const abort = new AbortController();
  const control = new TrainControl();
  running = { id: job.id, abort, control };
  try {
    const b = await backend;
    const ctx: JobContext = { id: job.id, post, signal: abort.signal, control, previewIntervalMs: options.previewIntervalMs, backend: b };
    await (RUNNERS[job.type] as Runner<JobType>)(job.spec, ctx);
  } catch (e) {
    if (isUserError(e) && e.code === 'cancelled') post({ type: 'done', id: job.id, summary: e.message, result: { cancelled: true } });
    else post({ type: 'error', id: job.id, message: messageOf(e) });
  } finally {
    running = undefined;
  }
  void pump();
}
