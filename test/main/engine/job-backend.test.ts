/**
 * Which backend a job runs on (main/engine/job-backend.ts): its purpose's, except that auto trains
 * the perceptual objective on ONNX Runtime; and, through the real worker, a perceptual training on
 * auto that trains there and says so, while one on a tfjs backend named in Settings is refused in
 * the app's words.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackendSettings, JobResult } from '../../../main/api.ts';
import { jobBackend } from '../../../main/engine/job-backend.ts';
import type { JobRequest, TrainSpec } from '../../../main/engine/protocol.ts';
import { EngineHost } from '../../../main/host/engine-host.ts';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import { decodeModel } from '../../../ml/weights.ts';
import { DATA, EventLog, tempDir } from '../helpers.ts';

const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
const noOnnx = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;

const settings = (objective?: 'pixel' | 'perceptual') => ({
  preset: 'tiny' as const,
  scale: 2 as const,
  activation: 'tanhexp' as const,
  iterations: 4,
  batch: 2,
  patch: 12,
  valEvery: 2,
  previewEvery: 2,
  ...(objective ? { objective } : {}),
});
const train = (parent: string, objective?: 'pixel' | 'perceptual'): TrainSpec => ({
  data: path.join(DATA, 'tiny'),
  val: null,
  settings: settings(objective),
  run: { kind: 'new', parent },
});
const job = (spec: TrainSpec): JobRequest => ({ type: 'train', jobId: 'j', spec });

describe('jobBackend', () => {
  const auto: BackendSettings = { upscale: 'auto', train: 'auto' };
  test('auto trains a perceptual run or comparison on ONNX Runtime; everything else on its purpose’s choice', () => {
    assert.deepEqual(jobBackend(job(train('/r', 'perceptual')), auto), { purpose: 'train', choice: 'onnx' });
    assert.deepEqual(jobBackend(job(train('/r', 'pixel')), auto), { purpose: 'train', choice: 'auto' });
    assert.deepEqual(jobBackend(job(train('/r')), auto), { purpose: 'train', choice: 'auto' });
    const compare: JobRequest = {
      type: 'compare',
      jobId: 'c',
      spec: { data: '/d', acts: ['swish', 'tanhexp'], settings: settings('perceptual'), seeds: 1, dir: '/o' },
    };
    assert.deepEqual(jobBackend(compare, auto), { purpose: 'train', choice: 'onnx' });
    const upscale: JobRequest = {
      type: 'upscale',
      jobId: 'u',
      spec: { files: ['/a.png'], model: '/m.safetensors', format: 'png', outputDir: null, overwrite: false },
    };
    assert.deepEqual(jobBackend(upscale, auto), { purpose: 'upscale', choice: 'auto' });
  });

  test('a backend named in Settings stays as named, for the engine to refuse the objective there', () => {
    const named: BackendSettings = { upscale: 'onnx', train: 'wasm' };
    assert.deepEqual(jobBackend(job(train('/r', 'perceptual')), named), { purpose: 'train', choice: 'wasm' });
  });
});

describe('a perceptual training through the worker', () => {
  let dir = '';
  const log = new EventLog();
  let auto: EngineHost;
  let wasm: EngineHost;
  const options = { threads: 0, emit: log.emit, previewIntervalMs: 0 };

  before(async () => {
    dir = await tempDir();
    auto = new EngineHost({ ...options, backends: { upscale: 'wasm', train: 'auto' } });
    wasm = new EngineHost({ ...options, backends: { upscale: 'wasm', train: 'wasm' } });
  });
  after(async () => {
    await Promise.all([auto.close(), wasm.close()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('on auto it trains on ONNX Runtime and says so; its model records the objective', { skip: noOnnx }, async () => {
    const jobId = auto.startJob({ type: 'train', spec: train(dir, 'perceptual') });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const messages = log.of('job:progress', jobId).map((p) => p.message);
    assert.ok(
      messages.some((m) => /^Starting a new perceptual run in .* \(on ONNX Runtime [^)]*\(CPU\)\)/.test(m)),
      messages.join('\n'),
    );
    const detail = log.of('job:metrics', jobId).flatMap((m) => (m.detail === undefined ? [] : [m.detail]));
    assert.equal(detail.length, 2, 'each validation carries the detail measure');
    const { summary, result } = end.payload as { summary: string; result: JobResult };
    assert.match(
      summary,
      /; the model is the latest validated weights: iteration 4, validation PSNR-Y [\d.]+ dB, detail [\d.]+\.$/,
    );
    assert.ok(result.kind === 'train' && result.modelPath);
    const model = decodeModel(await fs.readFile(result.modelPath), result.modelPath);
    assert.equal(model.training?.objective, 'perceptual');
    assert.equal(model.training?.advWeight, 0.1);
  });

  test('on a tfjs backend named in Settings it is refused, naming the setting to change', async () => {
    const jobId = wasm.startJob({ type: 'train', spec: train(dir, 'perceptual') });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:error');
    assert.equal(
      (end.payload as { message: string }).message,
      'The perceptual objective trains on ONNX Runtime only, not on wasm; choose ONNX Runtime as the training backend in Settings.',
    );
  });
});
