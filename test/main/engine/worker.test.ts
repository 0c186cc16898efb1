/**
 * The engine worker for real: EngineHost starts main/engine/worker-entry.mjs on the wasm backend and
 * runs upscale jobs of real photos with a freshly initialised tiny model (as `new-model` makes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { EngineHost } from '../../../main/host/engine-host.ts';
import { COFFEE, EventLog, MOTORCYCLE, tinyModel } from '../helpers.ts';
import { startWasmEngine, stopWasmEngine } from './wasm-engine.ts';
import { tensorflowInstalled } from '../../helpers/backends.ts';

let dir = '';
let model = '';
let log: EventLog;
let host: EngineHost;

before(async () => {
  ({ dir, log, host } = await startWasmEngine());
  model = await tinyModel(path.join(dir, 'tiny_x2.safetensors'));
});

after(() => stopWasmEngine({ host, dir }));

const upscale = (files: string[], outputDir: string, tile = 32) =>
  host.startJob({ type: 'upscale', spec: { files, model: model, format: 'png', outputDir, overwrite: false, tile } });

describe('engine worker', () => {
  test('reports the backend it started for each purpose, and probes on request', async () => {
    const b = await host.backend();
    for (const p of [b.upscale, b.train]) {
      assert.ok(p.ok, JSON.stringify(p));
      assert.equal(p.name, 'wasm');
      assert.equal(p.choice, 'wasm');
      assert.match(p.why, /^wasm — WebAssembly/);
    }
    const report = await host.probe();
    assert.ok(report.probes.some((p) => p.name === 'wasm' && p.available));
    assert.ok(report.probes.some((p) => p.name === 'cpu' && p.available));
    // auto makes the same choice for both purposes on a machine without a hardware GPU (onnx when installed).
    if (!report.probes.some((p) => p.available && p.gpu))
      assert.equal(report.auto.train.name, report.auto.upscale.name);
  });

  test('upscales a photo: progress, tile previews, file-done, done, in that order', async () => {
    const out = path.join(dir, 'out1');
    await fs.mkdir(out);
    const jobId = upscale([COFFEE], out);
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done', JSON.stringify(end.payload));
    const kinds = log.forJob(jobId).map((e) => e.channel);
    assert.deepEqual(kinds.slice(0, 2), ['job:state', 'job:progress'], 'it says it runs, then how far');
    assert.equal(log.of('job:state', jobId)[0]!.state, 'running');
    assert.equal(kinds.at(-1), 'job:done');
    const fileDone = kinds.indexOf('job:file-done');
    assert.ok(fileDone > 0 && kinds.lastIndexOf('job:preview') < fileDone, kinds.join(' '));
    assert.equal(kinds.filter((k) => k === 'job:file-done').length, 1);

    // 64×64 input in 32-pixel tiles: four 64×64 output tiles covering the 128×128 result.
    const previews = log.of('job:preview', jobId);
    assert.equal(previews.length, 4);
    const covered = new Set(previews.map((p) => `${p.x},${p.y}`));
    assert.deepEqual([...covered].sort(), ['0,0', '0,64', '64,0', '64,64']);
    for (const p of previews) {
      assert.equal(p.file, COFFEE);
      assert.deepEqual([p.width, p.height, p.fullWidth, p.fullHeight], [64, 64, 128, 128]);
      assert.match(p.image.dataUrl, /^data:image\/png;base64,/);
      const png = Buffer.from(p.image.dataUrl.split(',')[1]!, 'base64');
      const meta = await sharp(png).metadata();
      assert.deepEqual([meta.width, meta.height], [64, 64]);
    }
    const fractions = log.of('job:progress', jobId).map((p) => p.fraction);
    assert.deepEqual(
      fractions,
      [...fractions].sort((a, b) => a - b),
      'progress never goes back',
    );

    const done = log.of('job:file-done', jobId)[0]!;
    assert.equal(done.output, path.join(out, 'coffee_64x64_x2.png'));
    assert.deepEqual([done.width, done.height], [128, 128]);
    const meta = await sharp(done.output).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 128]);
    assert.match(done.result.dataUrl, /^data:image\/png;base64,/);
  });

  test("an animated GIF is upscaled from its first frame, and its file-done says so; a still photo's says nothing", async () => {
    const out = path.join(dir, 'out-anim');
    await fs.mkdir(out);
    const anim = path.join(dir, 'anim.gif');
    const second = await sharp(COFFEE).negate().png().toBuffer();
    await sharp([COFFEE, second], { join: { animated: true } })
      .gif()
      .toFile(anim);
    assert.equal((await sharp(anim).metadata()).pages, 2, 'the fixture has two frames');
    const jobId = upscale([anim, COFFEE], out);
    assert.equal((await log.end(jobId)).channel, 'job:done');
    const done = log.of('job:file-done', jobId);
    assert.equal(done.length, 2);
    assert.match(done.find((d) => d.file === anim)!.warning ?? '', /anim\.gif.*first/);
    assert.equal(done.find((d) => d.file === COFFEE)!.warning, undefined);
  });

  test('a corrupt file gives file-error and the rest of the batch completes', async () => {
    const out = path.join(dir, 'out2');
    await fs.mkdir(out);
    const broken = path.join(dir, 'broken.png');
    const bytes = await fs.readFile(COFFEE);
    await fs.writeFile(broken, bytes.subarray(0, 200));
    const jobId = upscale([broken, COFFEE], out);
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done');
    const errors = log.of('job:file-error', jobId);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.file, broken);
    assert.match(errors[0]!.message, /broken\.png/);
    assert.doesNotMatch(errors[0]!.message, /\n|at .*\.ts/, 'one sentence, no stack');
    assert.equal(log.of('job:file-done', jobId).length, 1);
    assert.deepEqual(await fs.readdir(out), ['coffee_64x64_x2.png']);
    assert.match((end.payload as { summary: string }).summary, /1 upscaled, 1 failed/);
  });

  test("an unreadable photo's job:file-error carries its code and the file as data, beside the app's sentence", async () => {
    const out = path.join(dir, 'out-unreadable');
    await fs.mkdir(out);
    const notImage = path.join(dir, 'notes.png');
    await fs.writeFile(notImage, 'these are notes, not pixels');
    const jobId = upscale([notImage, COFFEE], out);
    assert.equal((await log.end(jobId)).channel, 'job:done');
    const [error, ...more] = log.of('job:file-error', jobId);
    assert.equal(more.length, 0);
    assert.equal(error!.file, notImage);
    assert.equal(error!.code, 'unreadable-image');
    assert.equal((error!.facts as { file?: string }).file, notImage, 'the file it is about, as a fact');
    assert.equal(typeof (error!.facts as { why?: unknown }).why, 'string');
    // The sentence is the app's: it names no command-line flag.
    assert.match(
      error!.message,
      /notes\.png" could not be read as an image \(.+\); check that it is a complete JPEG, PNG/,
    );
    assert.doesNotMatch(error!.message, /(^|\s)-{1,2}[a-z]/);
  });

  test('cancel mid-job stops at the next tile and leaves no output', async () => {
    const out = path.join(dir, 'out3');
    await fs.mkdir(out);
    // 200×150 in 8-pixel tiles: 475 tiles, far more than can finish before the cancel lands.
    const jobId = upscale([MOTORCYCLE, COFFEE], out, 8);
    await log.wait((e) => e.channel === 'job:preview' && e.payload.jobId === jobId);
    host.control(jobId, 'cancel');
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done');
    assert.deepEqual((end.payload as { result: { cancelled: boolean } }).result.cancelled, true);
    assert.equal(log.of('job:file-done', jobId).length, 0);
    assert.deepEqual(await fs.readdir(out), [], 'no output and no temp file');
    assert.throws(() => host.control(jobId, 'cancel'), /No job/);
  });

  test('a job after a cancelled one runs normally', async () => {
    const out = path.join(dir, 'out4');
    await fs.mkdir(out);
    const jobId = upscale([COFFEE], out, 64);
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:done');
    assert.equal(log.of('job:preview', jobId).length, 1);
  });

  test('a bad model file is one job:error', async () => {
    const bad = path.join(dir, 'bad.safetensors');
    await fs.writeFile(bad, 'not weights');
    const jobId = host.startJob({
      type: 'upscale',
      spec: { files: [COFFEE], model: bad, format: 'png', outputDir: dir, overwrite: false },
    });
    const end = await log.end(jobId);
    assert.equal(end.channel, 'job:error');
    assert.match((end.payload as { message: string }).message, /bad\.safetensors.*not a valid SR Studio weights file/);
    const { code, facts } = end.payload as { code?: string; facts?: { file?: string } };
    assert.equal(code, 'bad-weights');
    assert.equal(facts?.file, bad);
  });

  test('when the next job starts, the jobs still waiting are told what they wait for now', async () => {
    const out = path.join(dir, 'out5');
    await fs.mkdir(out);
    // 475 tiles: still running when the other two arrive.
    const first = upscale([MOTORCYCLE], out, 8);
    const second = host.startJob({
      type: 'compare-models',
      spec: {
        modelA: model,
        modelB: model,
        image: COFFEE,
        groundTruth: false,
        outDir: path.join(dir, 'compare-models'),
      },
    });
    const third = upscale([COFFEE], out, 64);
    await log.wait((e) => e.channel === 'job:preview' && e.payload.jobId === first);
    const waits = () =>
      log
        .of('job:state', third)
        .filter((s) => s.state === 'queued')
        .map((s) => s.message);
    assert.equal(waits().at(-1), 'Waiting for the running upscaling to finish…');
    host.control(first, 'cancel');
    assert.equal((await log.end(first)).channel, 'job:done');
    assert.equal((await log.end(second)).channel, 'job:done');
    assert.equal(waits().at(-1), 'Waiting for the running model comparison to finish…', waits().join(' | '));
    assert.equal((await log.end(third)).channel, 'job:done');
  });
});

describe('engine worker with a backend that cannot start', {
  skip: tensorflowInstalled && 'the TensorFlow library is installed here',
}, () => {
  test('the status and every job for it name the backend and the reason, worded once', async () => {
    const failLog = new EventLog();
    // TensorFlow's C library is not installed here (npm cannot fetch it offline), so it cannot start.
    const failing = new EngineHost({
      backends: { upscale: 'wasm', train: 'tensorflow' },
      threads: 0,
      emit: failLog.emit,
      previewIntervalMs: 0,
    });
    try {
      const sentence =
        /^The tensorflow backend could not start \((?!undefined\)).+\); choose another backend in Settings\.$/;
      const b = await failing.backend();
      assert.ok(b.upscale.ok, JSON.stringify(b.upscale));
      assert.ok(!b.train.ok, JSON.stringify(b.train));
      const status = b.train.error;
      assert.match(status, sentence);
      const spec = {
        data: dir,
        val: null,
        settings: { preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 1, degrade: 'none' },
        run: { kind: 'new', parent: dir },
      } as const;
      for (let i = 0; i < 2; i++) {
        const jobId = failing.startJob({ type: 'train', spec });
        const end = await failLog.end(jobId);
        assert.equal(end.channel, 'job:error');
        const message = (end.payload as { message: string }).message;
        assert.match(message, sentence);
        assert.doesNotMatch(message, /undefined/);
        assert.equal(message, status, 'the same sentence as the status');
        const { code, facts } = end.payload as { code?: string; facts?: { backend?: string } };
        assert.equal(code, 'backend-failed');
        assert.equal(facts?.backend, 'tensorflow');
      }
      await assert.rejects(
        failing.call({ type: 'features', spec: { models: [model, model], image: COFFEE, layer: 0, maxSide: 64 } }),
        (e: Error) => e.message === status,
      );
    } finally {
      await failing.close();
    }
  });
});

describe('engine worker on ONNX Runtime', {
  skip:
    !process.env.CI &&
    !(await import('onnxruntime-node').then(
      () => true,
      () => false,
    )) &&
    'onnxruntime-node is not installed',
}, () => {
  test('upscales in the worker thread through ONNX Runtime, giving the wasm result to within one level', async () => {
    const onnxLog = new EventLog();
    const onnx = new EngineHost({
      backends: { upscale: 'onnx', train: 'wasm' },
      threads: 0,
      emit: onnxLog.emit,
      previewIntervalMs: 0,
    });
    try {
      const b = (await onnx.backend()).upscale;
      assert.ok(b.ok && b.name === 'onnx', JSON.stringify(b));
      assert.match(b.device, /ONNX Runtime/);
      const outs = [path.join(dir, 'ort-onnx'), path.join(dir, 'ort-wasm')];
      for (const o of outs) await fs.mkdir(o);
      const spec = (outputDir: string) => ({
        files: [MOTORCYCLE],
        model: model,
        format: 'png' as const,
        outputDir,
        overwrite: false,
        tile: 48,
      });
      const a = onnx.startJob({ type: 'upscale', spec: spec(outs[0]!) });
      assert.equal((await onnxLog.end(a)).channel, 'job:done');
      assert.equal(onnxLog.of('job:file-done', a).length, 1);
      const w = host.startJob({ type: 'upscale', spec: spec(outs[1]!) });
      assert.equal((await log.end(w)).channel, 'job:done');
      const [x, y] = await Promise.all(
        [onnxLog.of('job:file-done', a)[0]!.output, log.of('job:file-done', w)[0]!.output].map((f) =>
          sharp(f).raw().toBuffer(),
        ),
      );
      assert.equal(x!.length, y!.length);
      let max = 0;
      for (let i = 0; i < x!.length; i++) max = Math.max(max, Math.abs(x![i]! - y![i]!));
      assert.ok(max <= 1, `max difference ${max} levels`);
    } finally {
      await onnx.close();
    }
  });
});
