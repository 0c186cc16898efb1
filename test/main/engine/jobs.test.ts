/**
 * Training, feature maps and model comparison through the real worker (wasm), kept tiny: a few
 * iterations of the tiny preset on the small photos. Plus the host's restart of a dying worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EngineHost } from '../../../main/host/engine-host.ts';
import { decodeModel } from '../../../ml/weights.ts';
import type { FeaturesResult } from '../../../main/engine/protocol.ts';
import { COFFEE, DATA, EventLog, tempDir, tinyModel } from '../helpers.ts';

let dir = '';
let log: EventLog;
let host: EngineHost;

before(async () => {
  dir = await tempDir();
  log = new EventLog();
  host = new EngineHost({ backend: 'wasm', emit: log.emit, previewIntervalMs: 0 });
});

after(async () => {
  await host.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const trainSpec = (outDir: string, iterations: number) => ({
  data: path.join(DATA, 'tiny'),
  val: null,
  preset: 'tiny' as const,
  scale: 2 as const,
  activation: 'tanhexp' as const,
  iterations,
  outDir,
  tweaks: { batch: 2, patch: 12, valEvery: 4, previewEvery: 4 },
});

describe('engine jobs', () => {
  test('train forwards metrics, validation and previews, then done with the model path', async () => {
    const jobId = host.startJob({ type: 'train', spec: trainSpec(path.join(dir, 'run'), 8) });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const metrics = log.of('job:metrics', jobId);
    assert.deepEqual(metrics.filter((m) => m.loss !== undefined).map((m) => m.iteration), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(metrics.some((m) => m.psnrY !== undefined && m.bicubicPsnrY !== undefined), 'validation metrics');
    assert.ok(log.of('job:preview', jobId).length >= 1, 'a training preview');
    const result = (end.payload as { result: { reason: string; modelPath: string } }).result;
    assert.equal(result.reason, 'completed');
    await fs.access(result.modelPath);
  });

  test('a train job with degraded inputs records them in the run and its model; the folder resumes only with the same setting', async () => {
    const out = path.join(dir, 'run-photo');
    const jobId = host.startJob({ type: 'train', spec: { ...trainSpec(out, 4), degrade: 'photo' } });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    assert.equal(JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8')).degrade, 'photo');
    const { modelPath } = (end.payload as { result: { modelPath: string } }).result;
    assert.equal(decodeModel(await fs.readFile(modelPath), modelPath).training?.degrade, 'photo');
    const again = host.startJob({ type: 'train', spec: trainSpec(out, 6) });
    const refusal = await log.end(again);
    assert.equal(refusal.channel, 'job:error');
    assert.match((refusal.payload as { message: string }).message, /trained with the photo training inputs/);
  });

  test('cancelling training saves a checkpoint; the same folder resumes', async () => {
    const out = path.join(dir, 'run2');
    const jobId = host.startJob({ type: 'train', spec: trainSpec(out, 100_000) });
    await log.wait((e) => e.channel === 'job:metrics' && e.payload.jobId === jobId && e.payload.iteration >= 2);
    host.control(jobId, 'cancel');
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done');
    const { reason, iteration } = (end.payload as { result: { reason: string; iteration: number } }).result;
    assert.equal(reason, 'cancelled');
    assert.ok((await fs.readdir(path.join(out, 'checkpoints'))).some((f) => f.startsWith('ckpt_')));
    const again = host.startJob({ type: 'train', spec: trainSpec(out, iteration + 2) });
    const end2 = await log.end(again);
    assert.equal(end2.channel, 'job:done', JSON.stringify(end2.payload));
    assert.match(log.of('job:progress', again).map((p) => p.message).join('\n'), /resuming/);
  });

  test('compare trains both activations and reports, with the report files written', async () => {
    const out = path.join(dir, 'cmp');
    const spec = { data: path.join(DATA, 'tiny'), val: path.join(DATA, 'tiny'), acts: ['swish', 'tanhexp'] as const, preset: 'tiny' as const, scale: 2 as const, iterations: 2, seeds: 1, outDir: out };
    const jobId = host.startJob({ type: 'compare', spec });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const runs = new Set(log.of('job:metrics', jobId).map((m) => m.run));
    assert.deepEqual([...runs].sort(), ['swish seed 0', 'tanhexp seed 0']);
    const result = (end.payload as { result: { acts: string[]; runs: unknown[]; perAct: object; dir: string } }).result;
    assert.deepEqual(result.acts, ['swish', 'tanhexp']);
    assert.equal(result.runs.length, 2);
    assert.equal(result.dir, out);
    for (const f of ['report.md', 'report.json', 'contact_sheet.png']) await fs.access(path.join(out, f));
  });

  test('features returns each model’s layers, maps of the chosen layer and dead shares', async () => {
    const a = await tinyModel(path.join(dir, 'a.safetensors'), 2, 'tanhexp', 1);
    const b = await tinyModel(path.join(dir, 'b.safetensors'), 2, 'relu', 1);
    const result = (await host.call({ type: 'features', spec: { models: [a, b], image: COFFEE, layer: 1, maxSide: 32 } })) as FeaturesResult;
    assert.equal(result.length, 2);
    for (const r of result) {
      assert.deepEqual(r.layers, ['head', 'body.0.body.0.act', 'body.0.body.1.act', 'body.0.body.2.act']);
      assert.equal(r.maps.length, 16);
      assert.deepEqual([r.maps[0]!.width, r.maps[0]!.height], [32, 32]);
      assert.equal(r.deadShare.length, 4);
      for (const d of r.deadShare) assert.ok(d >= 0 && d <= 1);
    }
    assert.ok(result[1]!.deadShare[1]! > result[0]!.deadShare[1]!, 'ReLU zeroes more than TanhExp');
    await assert.rejects(host.call({ type: 'features', spec: { models: [a, b], image: COFFEE, layer: 9, maxSide: 32 } }), /Layer 9 does not exist/);
  });

  test('compare-models upscales the same crop with both models', async () => {
    const a = await tinyModel(path.join(dir, 'c.safetensors'), 2, 'tanhexp', 2);
    const b = await tinyModel(path.join(dir, 'd.safetensors'), 2, 'swish', 2);
    const jobId = host.startJob({ type: 'compare-models', spec: { modelA: a, modelB: b, image: COFFEE, maxSide: 48 } });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const r = (end.payload as { result: { crop: { width: number }; bicubic: { width: number }; a: { image: { width: number } }; b: { activation: string } } }).result;
    assert.deepEqual(Object.keys(r), ['a', 'b', 'bicubic', 'crop'], 'A and B first: the UI shows the first two images');
    assert.equal(r.crop.width, 48);
    assert.equal(r.bicubic.width, 96);
    assert.equal(r.a.image.width, 96);
    assert.equal(r.b.activation, 'swish');
  });

  test('a worker that dies gets job:error for its job and is restarted', async () => {
    const crashLog = new EventLog();
    const crashy = new EngineHost({ backend: 'cpu', emit: crashLog.emit, workerUrl: new URL('./crash-worker.mjs', import.meta.url) });
    try {
      await crashy.backend();
      const jobId = crashy.startJob({ type: 'upscale', spec: { files: [COFFEE], modelPath: 'x', format: 'png', outputDir: null, overwrite: false } });
      const end = await crashLog.end(jobId, 10_000);
      assert.equal(end.channel, 'job:error');
      assert.match((end.payload as { message: string }).message, /stopped unexpectedly.*restarted/);
      assert.equal((await crashy.backend()).name, 'cpu', 'a fresh worker is ready again');
    } finally {
      await crashy.close();
    }
  });
});
