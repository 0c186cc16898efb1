/**
 * The training loop (`train()` in ml/train/trainer.ts) on the cpu backend, on real photos from
 * photos/tiny: its event stream, exact resume, the non-finite-step guard, cancel and
 * pause, tensor hygiene, and what a full disk leaves behind. Kept small (tiny preset, batch 4,
 * 12×12 LR patches, a few iterations) so the file runs in well under a minute on 2 cores.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetSource } from '../../../ml/dataset.ts';
import { errors, UserError, word } from '../../../ml/errors.ts';
import { parameterCount } from '../../../ml/network.ts';
import { loadTrainingData } from '../../../ml/node/training-data.ts';
import { describeDegrade } from '../../../ml/degrade.ts';
import { sharpJpeg } from '../../../ml/node/jpeg.ts';
import { MODEL_FILE, RunFolder } from '../../../ml/node/run-folder.ts';
import { decodeCheckpoint, type Checkpoint } from '../../../ml/train/checkpoint.ts';
import { learningRateAt, makeTrainConfig, type TrainConfig } from '../../../ml/train/config.ts';
import { TrainControl, type TrainEvent } from '../../../ml/train/events.ts';
import { train, type TrainOptions } from '../../../ml/train/trainer.ts';
import type { ValImage } from '../../../ml/train/validation.ts';
import { decodeModel } from '../../../ml/weights.ts';
import { wordForCli } from '../../../ml/wording.ts';
import { useBackend } from '../../helpers/backends.ts';
import { evaluatorFor } from '../../../ml/node/evaluator.ts';
import type { Evaluator } from '../../../ml/train/validation.ts';
import { MemoryStore, TINY, collect, ofType } from './memory-store.ts';

const PATCH = 12;
const BATCH = 4;

let trainSource: DatasetSource;
/** One held-out photo centre-cropped to 32×32 HR (cheap to validate on cpu). */
let smallVal: ValImage[];
/** The same photo cropped to 96×96 HR: big enough for the full 48-pixel preview crop at x2. */
let previewVal: ValImage[];
let tmpRoot = '';

function config(over: Partial<Record<keyof TrainConfig, unknown>> = {}): TrainConfig {
  return makeTrainConfig({
    preset: 'tiny',
    scale: 2,
    iterations: 12,
    batch: BATCH,
    patch: PATCH,
    lr: 2e-3,
    warmup: 2,
    seed: 7,
    valEvery: 1000,
    previewEvery: 1000,
    checkpointEvery: 1000,
    ...over,
  } as Parameters<typeof makeTrainConfig>[0]);
}

function run(o: Partial<TrainOptions> & { config: TrainConfig }): AsyncGenerator<TrainEvent> {
  return train({ data: trainSource, val: [], store: new MemoryStore(), ...o });
}

const decode = (bytes: Uint8Array) => decodeCheckpoint(bytes, 'test checkpoint');

/** Exact (bitwise, via ===) equality of two parameter maps, naming the first difference. */
function assertSameArrays(
  a: ReadonlyMap<string, Float32Array>,
  b: ReadonlyMap<string, Float32Array>,
  what: string,
): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: different tensor names`);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    assert.equal(x.length, y.length, `${what}: ${name} has a different size`);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) {
        assert.fail(`${what}: ${name}[${i}] differs: ${x[i]} vs ${y[i]}`);
      }
    }
  }
}

function assertDifferentArrays(
  a: ReadonlyMap<string, Float32Array>,
  b: ReadonlyMap<string, Float32Array>,
  what: string,
): void {
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return;
  }
  assert.fail(`${what}: expected the weights to differ`);
}

before(async () => {
  await useBackend('cpu');
  const small = await loadTrainingData({ data: TINY, scale: 2, patch: PATCH, seed: 0, valMaxSide: 32 });
  const big = await loadTrainingData({ data: TINY, scale: 2, patch: PATCH, seed: 0, valMaxSide: 96 });
  trainSource = small.train;
  smallVal = small.val;
  previewVal = big.val;
  assert.ok(trainSource.size >= 3, 'expected the tiny photos to give at least 3 training images');
  assert.equal(smallVal.length, 1);
  assert.deepEqual([previewVal[0]!.hr.width, previewVal[0]!.hr.height], [96, 96]);
  tmpRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-trainer-'));
});

after(async () => {
  if (tmpRoot) await fsp.rm(tmpRoot, { recursive: true, force: true });
});

describe('event stream', () => {
  // One 6-iteration run with validation, a preview and a checkpoint every 3 iterations; each test
  // below checks one kind of event, or what reached the store.
  const cfg = config({ iterations: 6, valEvery: 3, previewEvery: 3, checkpointEvery: 3 });
  const store = new MemoryStore();
  let events: TrainEvent[] = [];
  before(async () => {
    events = await collect(run({ config: cfg, val: previewVal, store }));
  });

  test('started first, once: iteration 0, not resumed, the image counts, parameters and config', () => {
    const first = events[0]!;
    assert.equal(first.type, 'started');
    assert.ok(first.type === 'started');
    assert.equal(first.iteration, 0);
    assert.equal(first.continued, false);
    assert.equal(first.trainImages, trainSource.size);
    assert.equal(first.valImages, 1);
    assert.equal(first.parameters, parameterCount(cfg.network));
    assert.deepEqual(first.config, cfg);
    assert.equal(ofType(events, 'started').length, 1);
  });

  test('finished last, once: completed at iteration 6 with its speed, best and last scores; no warning or failure', () => {
    const last = events.at(-1)!;
    assert.ok(last.type === 'end', `last event is ${last.type}`);
    assert.equal(last.reason, 'finished');
    assert.equal(last.iteration, 6);
    assert.equal(ofType(events, 'end').length, 1);
    assert.ok(last.msPerIteration > 0);
    assert.ok(last.best && last.best.iteration >= 3, 'a best score is reported');
    assert.equal(last.last?.psnrY, ofType(events, 'validation').at(-1)!.psnrY);
    assert.equal(ofType(events, 'warning').length + ofType(events, 'failed').length, 0);
  });

  test('progress every iteration: a finite loss, the scheduled learning rate, speed, and an ETA of 0 at the end', () => {
    const progress = ofType(events, 'progress');
    assert.deepEqual(
      progress.map((p) => p.iteration),
      [1, 2, 3, 4, 5, 6],
    );
    for (const p of progress) {
      assert.ok(Number.isFinite(p.loss) && p.loss > 0, `loss ${p.loss}`);
      assert.equal(p.lr, learningRateAt(cfg, p.iteration - 1), `lr at iteration ${p.iteration} follows the schedule`);
      assert.ok(p.itPerSec > 0 && p.elapsedMs > 0 && p.etaMs >= 0);
    }
    assert.equal(progress.at(-1)!.etaMs, 0);
  });

  test('validation at 3 and 6: PSNR-Y and SSIM-Y of the network and of bicubic, per image', () => {
    const vals = ofType(events, 'validation');
    assert.deepEqual(
      vals.map((v) => v.iteration),
      [3, 6],
    );
    for (const v of vals) {
      assert.ok(v.psnrY > 15 && v.psnrY < 60, `psnrY ${v.psnrY}`);
      assert.ok(v.ssimY > 0 && v.ssimY <= 1, `ssimY ${v.ssimY}`);
      assert.ok(v.bicubicPsnrY > 15 && v.bicubicPsnrY < 60 && v.bicubicSsimY > 0 && v.bicubicSsimY <= 1);
      assert.equal(v.images.length, 1);
      assert.equal(v.images[0]!.name, previewVal[0]!.name);
      assert.equal(v.images[0]!.psnrY, v.psnrY);
      assert.equal(v.bicubicPsnrY, previewVal[0]!.bicubic.psnrY);
    }
  });

  test('previews at 3 and 6: bicubic | network | ground truth, the last third the HR crop itself, stored', () => {
    const previews = ofType(events, 'preview');
    assert.deepEqual(
      previews.map((p) => p.iteration),
      [3, 6],
    );
    const side = 48;
    for (const p of previews) {
      assert.equal(p.image.width, 3 * side * 2 + 8, 'bicubic | network | ground truth, with two 4-pixel gaps');
      assert.equal(p.image.height, side * 2);
      assert.equal(p.image.rgb.length, p.image.width * p.image.height * 3);
      assert.ok(p.image.rgb.every((v) => v >= -0.5 && v <= 1.5 && Number.isFinite(v)));
    }
    // The ground-truth third of the strip is the HR crop itself.
    const strip = previews[0]!.image;
    const hr = previewVal[0]!.hr;
    const gtX = 2 * (96 + 4);
    for (const [x, y] of [
      [0, 0],
      [50, 20],
      [95, 95],
    ] as const) {
      for (let c = 0; c < 3; c++)
        assert.equal(strip.rgb[(y * strip.width + gtX + x) * 3 + c], hr.rgb[(y * 96 + x) * 3 + c]);
    }
    assert.deepEqual(
      store.previews.map((p) => p.iteration),
      [3, 6],
    );
  });

  test('checkpoints at 3 and 6, in the store; the last one is at iteration 6', () => {
    const ckpts = ofType(events, 'checkpoint');
    assert.deepEqual([...new Set(ckpts.map((c) => c.iteration))], [3, 6]);
    for (const c of ckpts) assert.match(c.path, /^memory:ckpt_/);
    assert.equal(decode(store.checkpointAt(6)).state.iteration, 6);
  });

  test('within an iteration: progress, then validation, preview, checkpoint', () => {
    const order = events
      .filter((e) => 'iteration' in e && e.iteration === 3 && e.type !== 'started')
      .map((e) => e.type);
    assert.deepEqual(order, ['progress', 'validation', 'preview', 'checkpoint']);
  });

  test('the store gets the config, every validation, progress every 10 iterations and at the end, and the best model', () => {
    const progress = ofType(events, 'progress');
    assert.equal(store.configs.length, 1);
    assert.deepEqual(store.configs[0], cfg);
    const valRecords = store.metrics.filter((m) => 'val' in m);
    assert.deepEqual(
      valRecords.map((m) => m.iteration),
      [3, 6],
    );
    const progressRecords = store.metrics.filter((m) => 'loss' in m);
    assert.deepEqual(
      progressRecords.map((m) => m.iteration),
      [6],
      'progress is logged every 10 iterations and at the end',
    );
    assert.equal(progressRecords[0]!.loss, progress.at(-1)!.loss);
    assert.ok(store.models.length >= 1, 'the best model is exported');
    const model = decodeModel(store.models.at(-1)!, 'model');
    assert.deepEqual(model.config, cfg.network);
  });
});

/** Run A: N = 12 iterations without a break, checkpoints every 6. Computed once, shared. */
let unbroken: Promise<{ losses: number[]; final: Checkpoint; store: MemoryStore }> | undefined;
const resumeConfig = () => config({ iterations: 12, checkpointEvery: 6 });
function runUnbroken() {
  unbroken ??= (async () => {
    const store = new MemoryStore();
    const events = await collect(run({ config: resumeConfig(), store }));
    assert.equal(events.at(-1)?.type, 'end');
    return { losses: ofType(events, 'progress').map((p) => p.loss), final: decode(store.checkpointAt(12)), store };
  })();
  return unbroken;
}

/** Stops a run right after iteration `at` via the control, as a user pressing Cancel would. */
function cancelAt(control: TrainControl, at: number) {
  return (e: TrainEvent) => {
    if (e.type === 'progress' && e.iteration === at) control.cancel();
  };
}

describe('resume', () => {
  test('cancel at 6 and resume from the checkpoint: iterations 7–12 and the final weights are bit-identical to an unbroken run', async () => {
    const a = await runUnbroken();
    assert.equal(a.losses.length, 12);

    const control = new TrainControl();
    const storeB = new MemoryStore();
    const first = await collect(run({ config: resumeConfig(), store: storeB, control }), cancelAt(control, 6));
    assert.deepEqual(
      ofType(first, 'progress').map((p) => p.loss),
      a.losses.slice(0, 6),
      'the first 6 iterations already match',
    );
    const stop = first.at(-1)!;
    assert.ok(stop.type === 'end' && stop.reason === 'cancelled' && stop.iteration === 6);

    const ckpt = decode((await storeB.readLatestCheckpoint())!.bytes);
    assert.equal(ckpt.state.iteration, 6);
    assert.equal(ckpt.state.adamStep, 6);
    // The checkpoint taken at 6 in the unbroken run holds the same state.
    const a6 = decode(a.store.checkpointAt(6));
    assertSameArrays(ckpt.weights, a6.weights, 'weights at 6');
    assertSameArrays(ckpt.adam, a6.adam, 'Adam moments at 6');
    assert.deepEqual(ckpt.state.rng, a6.state.rng);

    const storeC = new MemoryStore();
    const rest = await collect(run({ config: ckpt.state.config, store: storeC, from: ckpt }));
    const started = rest[0]!;
    assert.ok(started.type === 'started' && started.continued && started.iteration === 6);
    assert.equal(storeC.configs.length, 0, 'a resumed run does not rewrite its config');
    const losses = ofType(rest, 'progress');
    assert.deepEqual(
      losses.map((p) => p.iteration),
      [7, 8, 9, 10, 11, 12],
    );
    for (let i = 0; i < 6; i++) assert.equal(losses[i]!.loss, a.losses[6 + i], `loss at iteration ${7 + i}`);
    const end = rest.at(-1)!;
    assert.ok(end.type === 'end' && end.reason === 'finished' && end.iteration === 12);

    const finalB = decode(storeC.checkpointAt(12));
    assertSameArrays(finalB.weights, a.final.weights, 'final weights');
    assertSameArrays(finalB.adam, a.final.adam, 'final Adam moments');
    assert.equal(finalB.state.adamStep, 12);
    assert.deepEqual(finalB.state.rng, a.final.state.rng);
    // Training did move the weights (so the comparison above is not vacuous).
    assertDifferentArrays(finalB.weights, ckpt.weights, 'weights 6 → 12');
  });

  test('the same through a RunFolder on disk: RunFolder.open(dir) resumes bit-identically, and the model file holds the final weights', async () => {
    const a = await runUnbroken();
    const dir = path.join(tmpRoot, 'resume-run');
    const cfg = resumeConfig();
    const folder = await RunFolder.create(dir, cfg.keepCheckpoints);
    const control = new TrainControl();
    const first = await collect(run({ config: cfg, store: folder, control }), cancelAt(control, 6));
    assert.equal(first.at(-1)?.type, 'end');
    assert.deepEqual(
      JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8')),
      JSON.parse(JSON.stringify(cfg)),
    );

    const opened = await RunFolder.open(dir);
    assert.deepEqual(opened.config, cfg);
    assert.equal(opened.checkpoint?.state.iteration, 6);
    const rest = await collect(run({ config: opened.config, store: opened.folder, from: opened.checkpoint }));
    const losses = ofType(rest, 'progress').map((p) => p.loss);
    assert.deepEqual(losses, a.losses.slice(6));

    const files = (await fsp.readdir(path.join(dir, 'checkpoints'))).sort();
    assert.deepEqual(files, ['ckpt_0000006.safetensors', 'ckpt_0000012.safetensors']);
    const final = decode(await fsp.readFile(path.join(dir, 'checkpoints', 'ckpt_0000012.safetensors')));
    assertSameArrays(final.weights, a.final.weights, 'final weights on disk');
    const model = decodeModel(await fsp.readFile(path.join(dir, MODEL_FILE)), MODEL_FILE, cfg.network);
    assertSameArrays(new Map(model.weights), a.final.weights, 'model_best.safetensors');
    assert.equal(model.training?.iterations, 12);
    const metrics = (await fsp.readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(metrics.some((m) => m.iteration === 12 && m.loss === a.losses[11]));
  });
});

describe('resume with degradations', () => {
  test('photo degradations (blur, kernels, noise, JPEG through sharp): cancel at 6 and resume is bit-identical to an unbroken run, and differs from clean training', async () => {
    const cfg = resumeConfig();
    const photo = { ...cfg, degrade: 'photo' as const };
    const store = new MemoryStore();
    const all = await collect(run({ config: photo, store, jpeg: sharpJpeg }));
    const losses = ofType(all, 'progress').map((p) => p.loss);
    assert.equal(losses.length, 12);
    const clean = await runUnbroken();
    assert.notDeepEqual(losses, clean.losses, 'the degraded batches are other batches');

    const control = new TrainControl();
    const storeB = new MemoryStore();
    await collect(run({ config: photo, store: storeB, control, jpeg: sharpJpeg }), cancelAt(control, 6));
    const ckpt = decode((await storeB.readLatestCheckpoint())!.bytes);
    assert.equal(ckpt.state.config.degrade, 'photo', 'the checkpoint carries the setting');
    const storeC = new MemoryStore();
    const rest = await collect(run({ config: ckpt.state.config, store: storeC, from: ckpt, jpeg: sharpJpeg }));
    assert.deepEqual(
      ofType(rest, 'progress').map((p) => p.loss),
      losses.slice(6),
    );
    const final = decode(store.checkpointAt(12));
    const resumedFinal = decode(storeC.checkpointAt(12));
    assertSameArrays(resumedFinal.weights, final.weights, 'final weights');
    assert.deepEqual(resumedFinal.state.rng, final.state.rng);
    const model = decodeModel(store.models.at(-1)!, 'model', photo.network);
    assert.equal(model.training?.degrade, 'photo', 'the exported model records its degradations');
    assert.equal(model.training?.degradations, describeDegrade('photo'), 'and their ranges');
  });

  test('a degraded run without a JPEG encoder fails at once, naming what is missing', async () => {
    await assert.rejects(collect(run({ config: { ...resumeConfig(), degrade: 'photo' } })), /JPEG encoder/);
  });
});

/** Every registered tfjs variable's values (the network's weights and Adam's moments), by name. */
function snapshotVariables(): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of Object.entries(tf.engine().state.registeredVariables)) {
    if (!v.isDisposed) out.set(name, Float32Array.from(v.dataSync() as Float32Array));
  }
  return out;
}

describe('non-finite steps', () => {
  test('one poisoned batch: the weights are untouched, a warning is emitted, the learning rate halves and training continues', async () => {
    const cfg = config({ iterations: 6, checkpointEvery: 1 });
    const store = new MemoryStore();
    const k = 4; // the poisoned step: hook index k − 1, reported as iteration k
    let before: Map<string, Float32Array> | undefined;
    let afterBad: Map<string, Float32Array> | undefined;
    const events = await collect(
      run({
        config: cfg,
        store,
        batchHook: (i, batch) => {
          if (i === k - 1) {
            before = snapshotVariables();
            const lr = batch.lr.slice();
            lr[5] = NaN;
            return { ...batch, lr };
          }
          if (i === k) afterBad = snapshotVariables();
          return batch;
        },
      }),
    );
    assert.ok(before && afterBad);
    assert.ok(
      before.size >= 2 * [...decode(store.checkpointAt(1)).weights.keys()].length,
      'the snapshot covers the weights and Adam moments',
    );
    assertSameArrays(afterBad, before, 'variables across the skipped step');

    const warnings = ofType(events, 'warning');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.iteration, k);
    assert.match(warnings[0]!.message, /not finite/);
    assert.match(warnings[0]!.message, /halved/);
    assert.doesNotMatch(warnings[0]!.message, /\n/);

    const progress = ofType(events, 'progress');
    assert.deepEqual(
      progress.map((p) => p.iteration),
      [1, 2, 3, 5, 6],
      'no progress for the skipped step, then it goes on',
    );
    for (const p of progress) {
      assert.ok(Number.isFinite(p.loss));
      const scale = p.iteration < k ? 1 : 0.5;
      assert.equal(p.lr, learningRateAt(cfg, p.iteration - 1) * scale, `lr at iteration ${p.iteration}`);
    }
    const end = events.at(-1)!;
    assert.ok(end.type === 'end' && end.reason === 'finished' && end.iteration === 6);

    // The checkpoints agree: nothing written for the skipped step, Adam counted only real steps.
    assert.ok(!store.checkpointWrites.some((c) => c.iteration === k));
    const c3 = decode(store.checkpointAt(k - 1));
    const c5 = decode(store.checkpointAt(k + 1));
    assert.equal(c3.state.adamStep, k - 1);
    assert.equal(c3.state.lrScale, 1);
    assert.equal(c5.state.adamStep, k);
    assert.equal(c5.state.lrScale, 0.5);
    assertDifferentArrays(c5.weights, c3.weights, 'training resumed after the bad step');
    assert.equal(decode(store.checkpointAt(6)).state.lrScale, 0.5);
  });

  test('every batch poisoned from some iteration on: after maxBadSteps a failed event, and the last good checkpoint is kept as the model', async () => {
    const cfg = config({ iterations: 20, checkpointEvery: 2 });
    const store = new MemoryStore();
    const events = await collect(
      run({
        config: cfg,
        store,
        maxBadSteps: 3,
        batchHook: (i, batch) => (i >= 2 ? { ...batch, lr: batch.lr.map(() => NaN) } : batch),
      }),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['started', 'progress', 'progress', 'checkpoint', 'warning', 'warning', 'warning', 'failed'],
    );
    assert.deepEqual(
      ofType(events, 'warning').map((w) => w.iteration),
      [3, 4, 5],
    );
    const failed = events.at(-1)!;
    assert.ok(failed.type === 'failed');
    assert.equal(failed.iteration, 5);
    // One sentence, one line, that says what happened, what was kept and what to try.
    assert.doesNotMatch(failed.message, /\n/);
    assert.match(failed.message, /^Training stopped: 3 steps in a row/);
    assert.match(failed.message, /checkpoint \(iteration 2\)/);
    assert.match(failed.message, /--lr/);
    // The same as data, for each front end to word: the command line's sentence is its message.
    assert.deepEqual(failed.error, { code: 'training-diverged', facts: { steps: 3, kept: 2 } });
    assert.equal(failed.message, word(wordForCli, failed.error));
    assert.equal(
      failed.message.split(/[.!?](?:\s|$)/).filter((s) => s.trim()).length,
      1,
      `one sentence: ${failed.message}`,
    );

    assert.equal(store.models.length, 1, 'the kept model is exported once');
    const model = decodeModel(store.models[0]!, 'model', cfg.network);
    assertSameArrays(
      new Map(model.weights),
      decode(store.checkpointAt(2)).weights,
      'model file vs the last good checkpoint',
    );
  });

  test('with EMA on, the model kept after a failure is the last good checkpoint’s EMA weights', async () => {
    const cfg = config({ iterations: 20, checkpointEvery: 2, emaDecay: 0.5 });
    const store = new MemoryStore();
    // Iterations 1–3 are good (checkpoint at 2 only), then 4 and 5 are not.
    const events = await collect(
      run({
        config: cfg,
        store,
        maxBadSteps: 2,
        batchHook: (i, b) => (i >= 3 ? { ...b, lr: b.lr.map(() => NaN) } : b),
      }),
    );
    const failed = events.at(-1)!;
    assert.ok(failed.type === 'failed' && failed.iteration === 5, failed.type);
    assert.match(failed.message, /checkpoint \(iteration 2\)/);
    const c2 = decode(store.checkpointAt(2));
    assert.ok(c2.ema, 'the checkpoint holds the EMA weights');
    const model = decodeModel(store.models.at(-1)!, 'model', cfg.network);
    assertSameArrays(new Map(model.weights), c2.ema, 'model file vs the checkpoint’s EMA weights');
  });

  test('with no checkpoint yet, the failure says so and exports nothing', async () => {
    const cfg = config({ iterations: 20 });
    const store = new MemoryStore();
    const events = await collect(
      run({ config: cfg, store, maxBadSteps: 2, batchHook: (_, b) => ({ ...b, hr: b.hr.map(() => Infinity) }) }),
    );
    const failed = events.at(-1)!;
    assert.ok(failed.type === 'failed', failed.type);
    assert.equal(failed.iteration, 2);
    assert.match(failed.message, /no checkpoint had been saved yet/);
    assert.equal(store.models.length, 0);
  });
});

describe('control', () => {
  test('cancel mid-run: a checkpoint at the current iteration, then finished with reason cancelled', async () => {
    const cfg = config({ iterations: 10 });
    const control = new TrainControl();
    const store = new MemoryStore();
    const events = await collect(run({ config: cfg, store, control }), cancelAt(control, 3));
    assert.deepEqual(
      events.slice(-3).map((e) => e.type),
      ['progress', 'checkpoint', 'end'],
    );
    const [p, c, f] = events.slice(-3);
    assert.ok(p?.type === 'progress' && p.iteration === 3);
    assert.ok(c?.type === 'checkpoint' && c.iteration === 3 && !c.best);
    assert.ok(f?.type === 'end' && f.reason === 'cancelled' && f.iteration === 3);
    const saved = decode(store.checkpointAt(3));
    assert.equal(saved.state.iteration, 3);
    assert.equal(saved.state.adamStep, 3);
    assert.equal(store.models.length, 1, 'a cancelled run without validation still exports its model');
  });

  test('pause stops progress until resume; paused and resumed events mark it', async () => {
    const cfg = config({ iterations: 4 });
    const control = new TrainControl();
    let resumeCalledAfter = -1;
    let pausedAt = 0;
    let lastProgress = 0;
    const events = await collect(run({ config: cfg, control }), (e) => {
      if (e.type === 'progress') lastProgress = e.iteration;
      if (e.type === 'progress' && e.iteration === 2) control.pause();
      if (e.type === 'paused') {
        pausedAt = performance.now();
        setTimeout(() => {
          resumeCalledAfter = lastProgress;
          control.resume();
        }, 150);
      }
      if (e.type === 'resumed') assert.ok(performance.now() - pausedAt >= 140, 'resumed only once resume() was called');
    });
    const types = events.map((e) => e.type);
    const ip = types.indexOf('paused');
    assert.ok(ip > 0, types.join(' '));
    assert.equal(types[ip + 1], 'resumed', 'nothing happens between paused and resumed');
    assert.equal(resumeCalledAfter, 2, 'no progress while paused');
    const paused = events[ip]!;
    assert.ok(paused.type === 'paused' && paused.iteration === 2);
    const resumed = events[ip + 1]!;
    assert.ok(resumed.type === 'resumed' && resumed.iteration === 2);
    assert.deepEqual(
      ofType(events, 'progress').map((p) => p.iteration),
      [1, 2, 3, 4],
    );
    assert.ok(events.at(-1)?.type === 'end');
  });

  test('cancel while paused ends the run with a checkpoint and no resumed event', async () => {
    const cfg = config({ iterations: 5 });
    const control = new TrainControl();
    const store = new MemoryStore();
    const events = await collect(run({ config: cfg, control, store }), (e) => {
      if (e.type === 'progress' && e.iteration === 1) control.pause();
      if (e.type === 'paused') setTimeout(() => control.cancel(), 50);
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ['started', 'progress', 'paused', 'checkpoint', 'end'],
    );
    const f = events.at(-1)!;
    assert.ok(f.type === 'end' && f.reason === 'cancelled' && f.iteration === 1);
    assert.equal(decode(store.checkpointAt(1)).state.iteration, 1);
  });
});

describe('tensor hygiene', () => {
  test('no tensors leak: equal counts at two progress events, and back to the start when the generator ends', async () => {
    const cfg = config({ iterations: 6, valEvery: 2, previewEvery: 2, checkpointEvery: 2 });
    const before = tf.memory().numTensors;
    const counts = new Map<number, number>();
    const events = await collect(run({ config: cfg, val: smallVal }), (e) => {
      if (e.type === 'progress') counts.set(e.iteration, tf.memory().numTensors);
    });
    assert.equal(events.at(-1)?.type, 'end');
    assert.ok(counts.get(3)! > before, 'the network and optimizer are alive during the run');
    assert.equal(counts.get(5), counts.get(3), 'no growth per step (validation, previews and checkpoints in between)');
    assert.equal(tf.memory().numTensors, before);
  });

  test('no leaks when the run is cancelled, fails, or the consumer stops early', async () => {
    const before = tf.memory().numTensors;
    const control = new TrainControl();
    await collect(run({ config: config({ iterations: 6 }), control }), cancelAt(control, 2));
    assert.equal(tf.memory().numTensors, before, 'after cancel');

    await collect(
      run({
        config: config({ iterations: 6 }),
        maxBadSteps: 2,
        batchHook: (i, b) => (i >= 1 ? { ...b, lr: b.lr.map(() => NaN) } : b),
      }),
    );
    assert.equal(tf.memory().numTensors, before, 'after failure');

    for await (const e of run({ config: config({ iterations: 6 }) }))
      if (e.type === 'progress' && e.iteration === 2) break;
    assert.equal(tf.memory().numTensors, before, 'after the consumer broke out of the loop');
  });
});

describe('a full disk while writing a checkpoint', () => {
  class FullAtSecondCheckpoint extends RunFolder {
    calls = 0;
    override async writeCheckpoint(iteration: number, bytes: Uint8Array, best: boolean): Promise<string> {
      if (++this.calls === 2)
        throw errors.diskFull(
          path.join(this.dir, 'checkpoints', `ckpt_${String(iteration).padStart(7, '0')}.safetensors`),
        );
      return super.writeCheckpoint(iteration, bytes, best);
    }
  }

  async function assertFirstCheckpointIntact(dir: string) {
    const files = (await fsp.readdir(path.join(dir, 'checkpoints'))).sort();
    assert.deepEqual(files, ['ckpt_0000002.safetensors'], 'only the first checkpoint, and no temp files');
    const opened = await RunFolder.open(dir);
    assert.equal(opened.checkpoint?.state.iteration, 2);
    assert.equal(opened.checkpoint?.state.adamStep, 2);
  }

  test('the store throws disk-full at the 2nd checkpoint: the generator throws that error, the 1st checkpoint is intact', async () => {
    const dir = path.join(tmpRoot, 'full-store');
    const cfg = config({ iterations: 6, checkpointEvery: 2 });
    const store = new FullAtSecondCheckpoint(dir, cfg.keepCheckpoints);
    await RunFolder.create(dir, cfg.keepCheckpoints);
    const before = tf.memory().numTensors;
    const seen: TrainEvent[] = [];
    await assert.rejects(
      collect(run({ config: cfg, store }), (e) => seen.push(e)),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.equal(e.code, 'disk-full');
        assert.match(e.message, /ckpt_0000004\.safetensors/);
        return true;
      },
    );
    assert.deepEqual(
      ofType(seen, 'checkpoint').map((c) => c.iteration),
      [2],
    );
    assert.equal(tf.memory().numTensors, before, 'tensors released when the generator throws');
    await assertFirstCheckpointIntact(dir);
  });

  test('a real ENOSPC half-way through the write: disk-full, the temp file is gone, the 1st checkpoint is intact', async () => {
    const dir = path.join(tmpRoot, 'full-fs');
    const cfg = config({ iterations: 6, checkpointEvery: 2 });
    const folder = await RunFolder.create(dir, cfg.keepCheckpoints);
    const realOpen = fsp.open;
    let failed = 0;
    // The filesystem runs out of space while the 2nd checkpoint's temp file is being written.
    fsp.open = (async (file: Parameters<typeof realOpen>[0], ...rest: unknown[]) => {
      const fh = await (realOpen as (...a: unknown[]) => ReturnType<typeof realOpen>)(file, ...rest);
      if (!/ckpt_0000004\.safetensors\.[^/]*\.tmp$/.test(String(file))) return fh;
      failed++;
      return new Proxy(fh, {
        get(target, prop) {
          if (prop === 'writeFile') {
            return async (data: Uint8Array) => {
              await target.writeFile(data.subarray(0, data.length >> 1));
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
                code: 'ENOSPC',
                errno: -28,
                syscall: 'write',
              });
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    }) as typeof realOpen;
    try {
      await assert.rejects(collect(run({ config: cfg, store: folder })), (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.equal(e.code, 'disk-full');
        assert.match(e.message, /ckpt_0000004\.safetensors/);
        return true;
      });
    } finally {
      fsp.open = realOpen;
    }
    assert.equal(failed, 1, 'the failure was injected into the checkpoint write');
    await assertFirstCheckpointIntact(dir);
  });
});

const onnxEvaluator = await evaluatorFor('cpu');

describe('validation on another runtime', {
  skip: !onnxEvaluator && !process.env.CI && 'onnxruntime-node is not installed',
}, () => {
  test('validation and previews run on ONNX Runtime with the current weights, once per iteration, scoring as the network does', async () => {
    const cfg = config({ iterations: 4, valEvery: 2, previewEvery: 2 });
    assert.ok(onnxEvaluator, 'ONNX Runtime is there');
    assert.match(onnxEvaluator.name, /^ONNX Runtime \d/);
    const opened: Array<ReadonlyMap<string, Float32Array>> = [];
    let live = 0;
    const counting: Evaluator = {
      name: onnxEvaluator.name,
      async open(c, w) {
        opened.push(w);
        const m = await onnxEvaluator.open(c, w);
        live++;
        return {
          scale: m.scale,
          receptiveRadius: m.receptiveRadius,
          defaultTile: m.defaultTile,
          clamped: m.clamped,
          run: m.run.bind(m),
          dispose: async () => (live--, await m.dispose()),
        };
      },
    };
    const withEval = await collect(run({ config: cfg, val: previewVal, evaluator: counting }));
    const plain = await collect(run({ config: cfg, val: previewVal }));
    // Iterations 2 and 4 validate and preview: one model each time, closed again.
    assert.equal(opened.length, 2);
    assert.equal(live, 0, 'every model the evaluator opened was disposed');
    const a = ofType(withEval, 'validation');
    const b = ofType(plain, 'validation');
    assert.deepEqual(
      a.map((v) => v.iteration),
      [2, 4],
    );
    for (const [k, v] of a.entries()) {
      // The same weights on another runtime: the same scores up to float rounding (8-bit outputs).
      assert.ok(Math.abs(v.psnrY - b[k]!.psnrY) < 0.05, `PSNR ${v.psnrY} vs ${b[k]!.psnrY}`);
      assert.ok(Math.abs(v.ssimY - b[k]!.ssimY) < 1e-3, `SSIM ${v.ssimY} vs ${b[k]!.ssimY}`);
    }
    assert.equal(ofType(withEval, 'preview').length, 2);
    // The weights handed over are the training weights of that moment: they change between calls.
    assertDifferentArrays(opened[0]!, opened[1]!, 'weights at iterations 2 and 4');
  });
});
