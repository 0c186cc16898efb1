// A stand-in engine worker for tests: reports ready, then dies on the first job it is sent.
import { parentPort, workerData } from 'node:worker_threads';

const started = (purpose) => ({
  ok: true,
  choice: workerData.backends[purpose],
  name: workerData.backends[purpose],
  device: 'test',
  why: 'test',
  validation: null,
});
parentPort.postMessage({ type: 'ready', backend: { upscale: started('upscale'), train: started('train') } });
parentPort.on('message', () => process.exit(3));
