/**
 * An engine worker (worker_threads): the host runs two, one for trainings and comparisons and one
 * for the short jobs (upscaling, model comparison, feature maps), so neither waits for the other.
 * Each starts a backend per purpose (upscaling; training and the rest of the tensor work), all at
 * once when it reports them (`report`), else with the first job that needs it; then it runs jobs
 * one at a time in arrival order, switching tfjs to the job's purpose first. Controls act at once:
 * pause/resume on the running job's TrainControl, cancel on its AbortController and TrainControl
 * (a queued job is dropped with a done event). A probe request is answered beside any running job.
 */
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { chooseBackend, type BackendChoice, type Purpose } from '../../ml/backend-choice.ts';
import { isUserError } from '../../ml/errors.ts';
import { activateBackend, initBackend, probeBackends } from '../../ml/node/backends.ts';
import { evaluatorFor } from '../../ml/node/evaluator.ts';
import { TrainControl } from '../../ml/train/events.ts';
import { runCompare, runCompareModels } from './compare-job.ts';
import { runFeatures } from './features.ts';
import { errorOf, type JobContext } from './job.ts';
import { jobBackend } from './job-backend.ts';
import type { JobId } from '../api.ts';
import type { JobRequest, JobType, WorkerBackend, WorkerEvent, WorkerOptions, WorkerRequest } from './protocol.ts';
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

/** A failure keeps the engine's error (code and facts) for the host to word. */
async function startPurpose(purpose: Purpose, choice: BackendChoice): Promise<WorkerBackend> {
  try {
    const s = await initBackend(choice, purpose);
    const evaluator = purpose === 'train' ? await evaluatorFor(s.name) : undefined;
    return { ok: true, choice, name: s.name, device: s.device, why: s.why, validation: evaluator?.name ?? null };
  } catch (e) {
    return { ok: false, choice, error: errorOf(e) };
  }
}

// One after the other: each switches tfjs's global backend while it starts.
const started = new Map<string, Promise<WorkerBackend>>();
let starting: Promise<unknown> = Promise.resolve();
/** The purpose's backend as Settings choose it, or another choice for it (a perceptual training's ONNX Runtime). */
function backendFor(purpose: Purpose, choice: BackendChoice = options.backends[purpose]): Promise<WorkerBackend> {
  const key = `${purpose}:${choice}`;
  let b = started.get(key);
  if (!b) {
    b = starting.then(() => startPurpose(purpose, choice));
    starting = b;
    started.set(key, b);
  }
  return b;
}
if (options.report) {
  Promise.all([backendFor('upscale'), backendFor('train')]).then(
    ([upscale, train]) => post({ type: 'ready', backend: { upscale, train } }),
    (e: unknown) => post({ type: 'init-error', error: errorOf(e) }),
  );
}

/** A training runs in the other engine thread (the host says so): upscaling leaves it half the cores. */
let trainingBeside = false;
const besideThreads = () => Math.max(1, Math.floor(availableParallelism() / 2));

async function probe(jobId: JobId): Promise<void> {
  try {
    const probes = await probeBackends();
    const auto = (p: Purpose) => {
      const s = chooseBackend('auto', p, probes);
      return { name: s.name, why: s.why };
    };
    post({ type: 'answer', jobId, result: { probes, auto: { upscale: auto('upscale'), train: auto('train') } } });
  } catch (e) {
    post({ type: 'error', jobId, error: errorOf(e) });
  }
}

const LABEL: { [T in JobType]: string } = {
  upscale: 'upscaling',
  train: 'training',
  compare: 'comparison',
  'compare-models': 'model comparison',
  features: 'feature maps',
};

const queue: JobRequest[] = [];
let running: { job: JobRequest; abort: AbortController; control: TrainControl } | undefined;

/** Tells each queued job what it waits for: a paused training waits for the user, not for time. */
function announceQueue(): void {
  if (!running) return;
  const what = LABEL[running.job.type];
  const message = running.control.paused
    ? `Waiting for the paused ${what}: resume or cancel it to go on.`
    : `Waiting for the running ${what} to finish…`;
  for (const q of queue) post({ channel: 'job:state', payload: { jobId: q.jobId, state: 'queued', message } });
}

port.on('message', (m: WorkerRequest) => {
  switch (m.type) {
    case 'pause':
    case 'resume':
      // The training says when it has really paused (after the step in hand) or resumed.
      if (running?.job.jobId === m.jobId) {
        if (m.type === 'pause') running.control.pause();
        else running.control.resume();
      }
      break;
    case 'cancel': {
      if (running?.job.jobId === m.jobId) {
        running.abort.abort();
        running.control.cancel();
      }
      const i = queue.findIndex((q) => q.jobId === m.jobId);
      if (i >= 0) {
        queue.splice(i, 1);
        post({
          channel: 'job:done',
          payload: { jobId: m.jobId, summary: 'Cancelled before it started.', result: { kind: 'cancelled' } },
        });
      }
      break;
    }
    case 'probe':
      void probe(m.jobId);
      break;
    case 'beside':
      trainingBeside = m.training;
      break;
    default:
      queue.push(m);
      announceQueue();
      void pump();
  }
});

async function pump(): Promise<void> {
  if (running) return;
  const job = queue.shift();
  if (!job) return;
  const abort = new AbortController();
  const control = new TrainControl();
  running = { job, abort, control };
  try {
    const { purpose, choice } = jobBackend(job, options.backends);
    let b = await backendFor(purpose);
    // Another choice than the purpose's own (auto's ONNX Runtime for a perceptual training), unless auto picked it anyway.
    if (choice !== options.backends[purpose] && !(b.ok && b.name === choice)) b = await backendFor(purpose, choice);
    if (!b.ok) {
      post({ type: 'error', jobId: job.jobId, error: b.error });
      return;
    }
    // A change of the running job's state changes what the queued ones wait for, and so does its start.
    const postAndAnnounce = (e: WorkerEvent) => {
      post(e);
      if ('channel' in e && e.channel === 'job:state') announceQueue();
    };
    postAndAnnounce({ channel: 'job:state', payload: { jobId: job.jobId, state: 'running', message: 'Starting…' } });
    await activateBackend(b.name);
    const emit: JobContext['emit'] = (channel, payload) =>
      postAndAnnounce({ channel, payload: { ...payload, jobId: job.jobId } } as never);
    const ctx: JobContext = {
      jobId: job.jobId,
      post: postAndAnnounce,
      emit,
      signal: abort.signal,
      control,
      previewIntervalMs: options.previewIntervalMs,
      backend: b,
      threads: options.threads,
      inferenceThreads: trainingBeside ? besideThreads() : undefined,
    };
    await (RUNNERS[job.type] as Runner<JobType>)(job.spec, ctx);
  } catch (e) {
    if (isUserError(e) && e.code === 'cancelled')
      post({ channel: 'job:done', payload: { jobId: job.jobId, summary: e.message, result: { kind: 'cancelled' } } });
    else post({ type: 'error', jobId: job.jobId, error: errorOf(e) });
  } finally {
    running = undefined;
  }
  void pump();
}
