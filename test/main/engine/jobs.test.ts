/**
 * Training, feature maps and model comparison through the real worker (wasm), kept tiny: a few
 * iterations of the tiny preset on the small photos. Plus the host's restart of a dying worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { EngineHost } from '../../../main/host/engine-host.ts';
import { decodeModel } from '../../../ml/weights.ts';
import type { JobResult } from '../../../main/api.ts';
import { wordForApp } from '../../../main/host/wording.ts';
import { word, type ErrorData } from '../../../ml/errors.ts';
import { SETTING_RANGES } from '../../../ml/train/ranges.ts';
import { wordForCli } from '../../../ml/wording.ts';
import { COFFEE, DATA, EventLog, MOTORCYCLE, tinyModel } from '../helpers.ts';
import { startWasmEngine, stopWasmEngine } from './wasm-engine.ts';

/** The job's typed result, of the kind expected. */
function resultOf<K extends JobResult['kind']>(payload: unknown, kind: K): Extract<JobResult, { kind: K }> {
  const r = (payload as { result: JobResult }).result;
  assert.equal(r.kind, kind, JSON.stringify(r));
  return r as Extract<JobResult, { kind: K }>;
}

let dir = '';
let log: EventLog;
let host: EngineHost;

before(async () => {
  ({ dir, log, host } = await startWasmEngine());
});

after(() => stopWasmEngine({ host, dir }));

const trainSpec = (
  run: { kind: 'new'; parent: string } | { kind: 'continue'; dir: string },
  iterations: number,
  degrade?: 'photo' | 'none',
) => ({
  data: path.join(DATA, 'tiny'),
  val: null,
  settings: {
    preset: 'tiny' as const,
    scale: 2 as const,
    activation: 'tanhexp' as const,
    iterations,
    batch: 2,
    patch: 12,
    valEvery: 4,
    previewEvery: 4,
    degrade: degrade ?? 'none',
  },
  run,
});

describe('engine jobs', () => {
  test('train forwards metrics, validation and previews, then done with the model path', async () => {
    const parent = path.join(dir, 'runs');
    await fs.mkdir(parent);
    const jobId = host.startJob({ type: 'train', spec: trainSpec({ kind: 'new', parent }, 8) });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const metrics = log.of('job:metrics', jobId);
    assert.deepEqual(
      metrics.filter((m) => m.loss !== undefined).map((m) => m.iteration),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(
      metrics.some((m) => m.psnrY !== undefined && m.bicubicPsnrY !== undefined),
      'validation metrics',
    );
    assert.ok(log.of('job:preview', jobId).length >= 1, 'a training preview');
    const result = resultOf(end.payload, 'train');
    assert.equal(result.reason, 'finished');
    assert.equal(path.dirname(result.runDir), parent, 'a new folder in the parent');
    assert.match(path.basename(result.runDir), /^tiny_x2_tanhexp_p12b2_it8_s0_\d{8}-\d{6}$/);
    await fs.access(result.modelPath!);
    // A second start with the same settings makes another folder; it never reuses the first.
    const second = host.startJob({ type: 'train', spec: trainSpec({ kind: 'new', parent }, 8) });
    const again = resultOf((await log.end(second)).payload, 'train');
    assert.notEqual(again.runDir, result.runDir);
    assert.equal(
      log.of('job:metrics', second).filter((m) => m.loss !== undefined).length,
      8,
      'it trained all 8 iterations anew',
    );
  });

  test('a train job with degraded inputs records them in the run and its model; the folder resumes only with the same setting', async () => {
    const jobId = host.startJob({ type: 'train', spec: trainSpec({ kind: 'new', parent: dir }, 4, 'photo') });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const { modelPath, runDir } = resultOf(end.payload, 'train');
    assert.equal(JSON.parse(await fs.readFile(path.join(runDir, 'config.json'), 'utf8')).degrade, 'photo');
    assert.equal(decodeModel(await fs.readFile(modelPath!), modelPath!).training?.degrade, 'photo');
    const again = host.startJob({ type: 'train', spec: trainSpec({ kind: 'continue', dir: runDir }, 6) });
    const refusal = await log.end(again);
    assert.equal(refusal.channel, 'job:error');
    assert.match((refusal.payload as { message: string }).message, /was trained with the photo training inputs/);
  });

  test('cancelling training saves a checkpoint; continuing the run goes on from it', async () => {
    const jobId = host.startJob({ type: 'train', spec: trainSpec({ kind: 'new', parent: dir }, 100_000) });
    await log.wait((e) => e.channel === 'job:metrics' && e.payload.jobId === jobId && e.payload.iteration >= 2);
    host.control(jobId, 'cancel');
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done');
    const { reason, iteration, runDir } = resultOf(end.payload, 'train');
    assert.equal(reason, 'cancelled');
    assert.match(end.payload.summary, new RegExp(`^Stopped at iteration ${iteration} \\(checkpoint saved\\)`));
    assert.ok((await fs.readdir(path.join(runDir, 'checkpoints'))).some((f) => f.startsWith('ckpt_')));
    const again = host.startJob({ type: 'train', spec: trainSpec({ kind: 'continue', dir: runDir }, iteration + 2) });
    const end2 = await log.end(again);
    assert.equal(end2.channel, 'job:done', JSON.stringify(end2.payload));
    assert.match(
      log
        .of('job:progress', again)
        .map((p) => p.message)
        .join('\n'),
      new RegExp(`Continuing from iteration ${iteration}`),
    );
    assert.deepEqual(
      log
        .of('job:metrics', again)
        .filter((m) => m.loss !== undefined)
        .map((m) => m.iteration),
      [iteration + 1, iteration + 2],
    );
  });

  test('compare trains both activations and reports, with the report files written', async () => {
    const out = path.join(dir, 'cmp');
    const spec = {
      data: path.join(DATA, 'tiny'),
      val: path.join(DATA, 'tiny'),
      acts: ['swish', 'tanhexp'] as const,
      settings: { preset: 'tiny' as const, scale: 2 as const, iterations: 2, previewEvery: 1 },
      seeds: 1,
      dir: out,
    };
    const jobId = host.startJob({ type: 'compare', spec });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    // Each point names its run's activation and seed as fields.
    const metrics = log.of('job:metrics', jobId);
    const runs = new Set(metrics.map((m) => `${m.act}/${m.seed}`));
    assert.deepEqual([...runs].sort(), ['swish/0', 'tanhexp/0']);
    // Its runs' previews are made by the trainer but not sent: the Compare view does not show them.
    assert.equal(log.of('job:preview', jobId).length, 0);
    // The time left is the whole comparison's: the first run's last step still has the second run to go.
    const losses = (act: string) => metrics.filter((m) => m.act === act && m.loss !== undefined);
    assert.ok(losses('swish').at(-1)!.etaMs! > 0, JSON.stringify(losses('swish')));
    assert.equal(losses('tanhexp').at(-1)!.etaMs, 0);
    const result = resultOf(end.payload, 'compare');
    assert.deepEqual(result.acts, ['swish', 'tanhexp']);
    assert.equal(result.runs.length, 2);
    assert.equal(result.dir, out);
    // The first seed's trained models, for the whole-image panes.
    assert.deepEqual(Object.keys(result.models), ['swish', 'tanhexp']);
    for (const m of Object.values(result.models)) await fs.access(m);
    for (const f of ['report.md', 'report.json', 'contact_sheet.png']) await fs.access(path.join(out, f));
  });

  test('a comparison whose one run diverges goes on, and the page hears of it in the app’s words', async () => {
    // A learning rate of 1 (the most the settings allow) sends the relu run's loss off course on
    // these photos until the trainer gives up on it; the swish run trains on.
    const spec = {
      data: path.join(DATA, 'tiny'),
      val: path.join(DATA, 'tiny'),
      acts: ['relu', 'swish'] as const,
      settings: { preset: 'tiny' as const, scale: 2 as const, iterations: 16, lr: SETTING_RANGES.lr[1] },
      seeds: 1,
      dir: path.join(dir, 'cmp-diverged'),
    };
    const jobId = host.startJob({ type: 'compare', spec });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const failed = log.of('job:progress', jobId).filter((p) => p.code !== undefined);
    assert.equal(failed.length, 1, JSON.stringify(failed));
    const [line] = failed;
    assert.equal(line!.code, 'training-diverged');
    assert.equal(line!.fraction, 0);
    // The run's name, then the app's sentence for the error, which names no command-line flag.
    const error = { code: line!.code, facts: line!.facts } as ErrorData;
    assert.equal(line!.message, `relu seed 0: ${wordForApp(error)}`);
    assert.doesNotMatch(line!.message, /--/);
    assert.notEqual(wordForApp(error), word(wordForCli, error));
    assert.ok(log.of('job:progress', jobId).every((p) => !/--lr/.test(p.message)));
  });

  test('features returns each model’s layers, maps of the chosen layer and dead shares', async () => {
    const a = await tinyModel(path.join(dir, 'a.safetensors'), 2, 'tanhexp', 1);
    const b = await tinyModel(path.join(dir, 'b.safetensors'), 2, 'relu', 1);
    const result = await host.call({
      type: 'features',
      spec: { models: [a, b], image: COFFEE, layer: 1, maxSide: 32 },
    });
    assert.equal(result.length, 2);
    for (const r of result) {
      assert.deepEqual(r.layers, ['head', 'body.0.body.0.act', 'body.0.body.1.act', 'body.0.body.2.act']);
      assert.equal(r.maps.length, 16);
      assert.deepEqual([r.maps[0]!.width, r.maps[0]!.height], [32, 32]);
      assert.equal(r.deadShare.length, 4);
      for (const d of r.deadShare) assert.ok(d >= 0 && d <= 1);
    }
    assert.ok(result[1]!.deadShare[1]! > result[0]!.deadShare[1]!, 'ReLU zeroes more than TanhExp');
    await assert.rejects(
      host.call({ type: 'features', spec: { models: [a, b], image: COFFEE, layer: 9, maxSide: 32 } }),
      /Layer 9 does not exist/,
    );
  });

  test('compare-models upscales the whole image with both models into files, or its reduction against it as ground truth', async () => {
    const a = await tinyModel(path.join(dir, 'c.safetensors'), 2, 'tanhexp', 2);
    const b = await tinyModel(path.join(dir, 'd.safetensors'), 2, 'swish', 2);
    const run = async (groundTruth: boolean, outDir: string) => {
      const jobId = host.startJob({
        type: 'compare-models',
        spec: { modelA: a, modelB: b, image: MOTORCYCLE, groundTruth, outDir },
      });
      const end = await log.end(jobId);
      assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
      return resultOf(end.payload, 'compare-models');
    };
    const plain = await run(false, path.join(dir, 'cm1'));
    assert.deepEqual(Object.keys(plain), ['kind', 'a', 'b', 'scale', 'input', 'truth', 'bicubic']);
    assert.deepEqual(plain.input, { file: MOTORCYCLE, width: 200, height: 150 });
    assert.equal(plain.truth, null);
    assert.equal(plain.b.activation, 'swish');
    for (const o of [plain.a, plain.b]) {
      assert.deepEqual([o.width, o.height], [400, 300]);
      assert.deepEqual([(await sharp(o.file).metadata()).width, (await sharp(o.file).metadata()).height], [400, 300]);
      assert.equal(o.psnrY, undefined);
    }
    // The output is the Upscale view's for the same model.
    const out = path.join(dir, 'cm-up');
    await fs.mkdir(out);
    const up = host.startJob({
      type: 'upscale',
      spec: { files: [MOTORCYCLE], model: a, format: 'png', outputDir: out, overwrite: false },
    });
    assert.equal((await log.end(up)).channel, 'job:done');
    assert.deepEqual(
      await sharp(plain.a.file).raw().toBuffer(),
      await sharp(path.join(out, 'motorcycle_200x150_x2.png')).raw().toBuffer(),
    );

    const truth = await run(true, path.join(dir, 'cm2'));
    assert.deepEqual(
      [truth.input.width, truth.input.height, truth.truth?.width, truth.truth?.height],
      [100, 75, 200, 150],
    );
    assert.deepEqual(
      [(await sharp(truth.truth!.file).metadata()).width, (await sharp(truth.input.file).metadata()).width],
      [200, 100],
    );
    for (const o of [truth.a, truth.b]) {
      assert.deepEqual([o.width, o.height], [200, 150]);
      assert.ok(o.psnrY! > 10 && o.psnrY! < 60 && o.ssimY! > 0 && o.ssimY! <= 1, JSON.stringify(o));
    }
    assert.ok(truth.bicubic!.psnrY > 20, JSON.stringify(truth.bicubic));
  });

  test('a worker that dies gets job:error for its job and is restarted', async () => {
    const crashLog = new EventLog();
    const crashy = new EngineHost({
      backends: { upscale: 'cpu', train: 'cpu' },
      threads: 0,
      emit: crashLog.emit,
      workerUrl: new URL('./crash-worker.mjs', import.meta.url),
    });
    try {
      await crashy.backend();
      const jobId = crashy.startJob({
        type: 'upscale',
        spec: { files: [COFFEE], model: 'x', format: 'png', outputDir: null, overwrite: false },
      });
      const end = await crashLog.end(jobId, 10_000);
      assert.equal(end.channel, 'job:error');
      assert.match((end.payload as { message: string }).message, /stopped unexpectedly.*restarted/);
      const again = (await crashy.backend()).upscale;
      assert.ok(again.ok && again.name === 'cpu', 'a fresh worker is ready again');
    } finally {
      await crashy.close();
    }
  });
});
