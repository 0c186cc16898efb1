/**
 * Perceptual training on the ONNX Runtime engine behind the one trainer: the discriminator trains
 * beside the network and is part of every checkpoint, so a run continued from one goes on
 * bit-identically (network, its Adam and EMA, and the discriminator's weights, vectors and Adam);
 * a refused step changes neither; validations carry the detail measure and the model is the latest
 * validated weights; the tfjs engine refuses the objective in one clear error. Real photos.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetSource } from '../../../ml/dataset.ts';
import { UserError } from '../../../ml/errors.ts';
import { initialWeights } from '../../../ml/network.ts';
import { evaluatorFor } from '../../../ml/node/evaluator.ts';
import { onnxEngine } from '../../../ml/node/onnx-trainer.ts';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../../../ml/train/checkpoint.ts';
import { makeTrainConfig, type TrainConfig } from '../../../ml/train/config.ts';
import { discLayout, discLayers, type DiscriminatorState } from '../../../ml/train/discriminator.ts';
import { tfjsEngine, type StepEngine } from '../../../ml/train/engine.ts';
import { TrainControl, type TrainEvent } from '../../../ml/train/events.ts';
import { train, type TrainOptions } from '../../../ml/train/trainer.ts';
import { prepareValImages } from '../../../ml/train/validation.ts';
import { useBackend } from '../../helpers/backends.ts';
import { photo } from '../../helpers/photos.ts';
import { MemoryStore, collect, ofType, photoSource } from './memory-store.ts';

const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;

let source: DatasetSource;
const onnx = onnxEngine({ threads: 2 });

function config(over: Record<string, unknown> = {}): TrainConfig {
  return makeTrainConfig({
    preset: 'tiny',
    scale: 2,
    iterations: 8,
    batch: 4,
    patch: 12,
    lr: 2e-3,
    warmup: 2,
    seed: 7,
    checkpointEvery: 1000,
    objective: 'perceptual',
    advWeight: 0.5,
    emaDecay: 0.9,
    ...over,
  } as Parameters<typeof makeTrainConfig>[0]);
}

function run(o: Partial<TrainOptions> & { config: TrainConfig }): AsyncGenerator<TrainEvent> {
  return train({ data: source, val: [], store: new MemoryStore(), engine: onnx, ...o });
}

const decode = (bytes: Uint8Array) => decodeCheckpoint(bytes, 'test checkpoint');

function assertSame(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: different names`);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    assert.equal(x.length, y.length, `${what}: ${name} has another size`);
    for (let i = 0; i < x.length; i++)
      if (x[i] !== y[i]) assert.fail(`${what}: ${name}[${i}] differs: ${x[i]} vs ${y[i]}`);
  }
}

function assertSameDisc(a: DiscriminatorState, b: DiscriminatorState, what: string): void {
  assertSame(a.weights, b.weights, `${what}: discriminator weights`);
  assertSame(a.u, b.u, `${what}: discriminator vectors u`);
  assertSame(a.adam.moments, b.adam.moments, `${what}: discriminator Adam moments`);
  assert.equal(a.adam.step, b.adam.step, `${what}: discriminator Adam step`);
}

before(async () => {
  await useBackend('wasm');
  source = await photoSource();
});

describe('perceptual training on ONNX Runtime', { skip }, () => {
  test('cancel at 4 and continue: iterations 5–8, their loss parts, and the final network, EMA and discriminator are bit-identical to an unbroken run', async () => {
    const cfg = config({ checkpointEvery: 4 });
    const storeA = new MemoryStore();
    const a = ofType(await collect(run({ config: cfg, store: storeA })), 'progress');
    assert.equal(a.length, 8);
    for (const p of a) {
      const parts = p.parts!;
      assert.ok(parts, 'a perceptual step reports its parts');
      for (const v of [parts.pixel, parts.adversarial, parts.discriminator]) assert.ok(Number.isFinite(v) && v > 0);
      assert.ok(Math.abs(p.loss - (parts.pixel + 0.5 * parts.adversarial)) <= 1e-6 * p.loss);
    }
    const control = new TrainControl();
    const storeB = new MemoryStore();
    await collect(run({ config: cfg, store: storeB, control }), (e) => {
      if (e.type === 'progress' && e.iteration === 4) control.cancel();
    });
    const ckpt = decode((await storeB.readLatestCheckpoint())!.bytes);
    assert.equal(ckpt.state.iteration, 4);
    assert.equal(ckpt.discriminator?.adam.step, 4);
    const storeC = new MemoryStore();
    const rest = ofType(await collect(run({ config: cfg, store: storeC, from: ckpt })), 'progress');
    assert.deepEqual(
      rest.map((p) => p.iteration),
      [5, 6, 7, 8],
    );
    assert.deepEqual(
      rest.map((p) => [p.loss, p.parts]),
      a.slice(4).map((p) => [p.loss, p.parts]),
    );
    const [x, y] = [decode(storeA.checkpointAt(8)), decode(storeC.checkpointAt(8))];
    assertSame(y.weights, x.weights, 'final weights');
    assertSame(y.adam, x.adam, 'final Adam moments');
    assertSame(y.ema!, x.ema!, 'final EMA');
    assertSameDisc(y.discriminator!, x.discriminator!, 'final');
    assert.equal(y.state.discAdamStep, 8);
    // The discriminator did train: its weights are not the ones it started with.
    const start = decode(storeB.checkpointAt(4)).discriminator!;
    assert.notDeepEqual(x.discriminator!.weights.get('conv0.weight'), start.weights.get('conv0.weight'));
  });

  test('checkpoints hold the whole discriminator; a pixel run’s hold none, and a perceptual one without it is refused', async () => {
    const store = new MemoryStore();
    await collect(run({ config: config({ iterations: 2 }), store }));
    const c = decode(store.checkpointAt(2));
    const layout = discLayout(discLayers());
    assert.deepEqual(
      [...c.discriminator!.weights.keys()],
      layout.map((e) => e.name),
    );
    assert.deepEqual(
      [...c.discriminator!.u.keys()],
      layout.filter((e) => e.rows).map((e) => e.name),
    );
    for (const e of layout) assert.equal(c.discriminator!.weights.get(e.name)!.length, e.size);
    assert.throws(
      () => decode(encodeCheckpoint({ ...c, discriminator: undefined })),
      (e: unknown) =>
        e instanceof UserError && e.code === 'weights-mismatch' && /disc\.model\.conv0\.weight/.test(e.message),
    );
    const pixel = new MemoryStore();
    await collect(run({ config: config({ iterations: 2, objective: 'pixel', advWeight: undefined }), store: pixel }));
    assert.equal(decode(pixel.checkpointAt(2)).discriminator, undefined);
  });

  test('a refused step (NaN input, or a loss above the bound) changes neither the network nor the discriminator', async () => {
    const cfg = config();
    const engine = await onnx({ config: cfg, weights: initialWeights(cfg.network, 3), ema: undefined, adam: null });
    try {
      const side = cfg.patch * 2;
      const hr = (await photo('val/coffee.png', side, side, 40, 30)).rgb;
      const good = {
        lr: new Float32Array(cfg.batch * cfg.patch * cfg.patch * 3).fill(0.5),
        hr: Float32Array.from({ length: cfg.batch * side * side * 3 }, (_, i) => hr[i % hr.length]!),
        picks: [],
      };
      assert.ok((await engine.step(good, 1e-3, Infinity)).ok);
      const snapshot = async (e: StepEngine) => ({
        w: await e.weights(),
        adam: await e.adamState(),
        d: (await e.discriminatorState!())!,
      });
      const before = await snapshot(engine);
      const r1 = await engine.step({ ...good, lr: good.lr.map((v, i) => (i === 7 ? NaN : v)) }, 1e-3, Infinity);
      assert.ok(!r1.ok && !r1.diverged);
      // A NaN in the real patches: the pixel loss's targets and the discriminator's real input.
      const r2 = await engine.step({ ...good, hr: good.hr.map((v, i) => (i === 11 ? NaN : v)) }, 1e-3, Infinity);
      assert.ok(!r2.ok && !r2.diverged, JSON.stringify(r2));
      const r3 = await engine.step(good, 1e-3, 1e-9);
      assert.ok(!r3.ok && r3.diverged);
      const after = await snapshot(engine);
      assertSame(after.w, before.w, 'weights');
      assertSame(new Map(after.adam.moments), new Map(before.adam.moments), 'Adam moments');
      assert.equal(after.adam.step, 1);
      assertSameDisc(after.d, before.d, 'after refused steps');
    } finally {
      await engine.dispose();
    }
  });

  test('validations carry the detail measure, and every validation’s weights become the model (the latest, not the highest PSNR)', async () => {
    const img = await photo('val/coffee.png', 96, 96, 100, 60);
    const val = prepareValImages([{ name: 'coffee', image: img }], 2);
    const store = new MemoryStore();
    const evaluator = await evaluatorFor('onnx');
    const events = await collect(run({ config: config({ iterations: 6, valEvery: 2 }), store, val, evaluator }));
    const vals = ofType(events, 'validation');
    assert.deepEqual(
      vals.map((v) => v.iteration),
      [2, 4, 6],
    );
    for (const v of vals) {
      assert.ok(v.detail > 0.2 && v.detail < 2, `detail ${v.detail}`);
      assert.ok(v.bicubicDetail > 0.2 && v.bicubicDetail < v.detail + 1);
      assert.equal(v.images[0]!.detail, v.detail);
    }
    assert.equal(store.models.length, 3, 'a model at every validation');
    const end = ofType(events, 'end')[0]!;
    assert.equal(end.best!.iteration, 6);
    assert.equal(end.best!.detail, vals[2]!.detail);
    const recorded = store.metrics.filter((m) => 'val' in m).map((m) => (m.val as { detail: number }).detail);
    assert.deepEqual(
      recorded,
      vals.map((v) => v.detail),
    );
    assert.ok(
      store.metrics.some((m) => 'parts' in m),
      'metrics.jsonl records the loss parts',
    );
  });

  test('the tfjs engine refuses the perceptual objective with one error naming it and the backend', async () => {
    const cfg = config();
    await assert.rejects(
      tfjsEngine()({ config: cfg, weights: initialWeights(cfg.network, 1), ema: undefined, adam: null }),
      (e: unknown) =>
        e instanceof UserError &&
        e.code === 'objective-needs-onnx' &&
        e.facts.backend === 'wasm' &&
        /--backend onnx/.test(e.message),
    );
  });
});
