// A stand-in engine worker for tests: reports ready, then dies on the first job it is sent.
import { parentPort, workerData } from 'node:worker_threads';

parentPort.postMessage({ type: 'ready', backend: { name: workerData.backend, device: 'test', why: 'test', probes: [] } });
parentPort.on('message', () => process.exit(3));
