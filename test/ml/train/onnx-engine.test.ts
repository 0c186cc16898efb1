/**
 * The ONNX Runtime training engine (ml/node/onnx-trainer.ts) behind the one trainer: the same
 * losses as the tfjs trainer on wasm from the same weights and batches, exact resume on its own,
 * checkpoints that continue on the other engine, refused steps that change nothing, the EMA, and no
 * leaked tensors or sessions, however the run ends. Real photos from photos/tiny.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetSource } from '../../../ml/dataset.ts';
import { initialWeights } from '../../../ml/network.ts';
import { onnxEngine } from '../../../ml/node/onnx-trainer.ts';
import { probeOnnxRuntime } from '../../../ml/node/onnx-runtime.ts';
import { decodeCheckpoint } from '../../../ml/train/checkpoint.ts';
import { makeTrainConfig, type TrainConfig } from '../../../ml/train/config.ts';
import type { StepEngine, StepEngineFactory } from '../../../ml/train/engine.ts';
import { TrainControl, type TrainEvent } from '../../../ml/train/events.ts';
import { train, type TrainOptions } from '../../../ml/train/trainer.ts';
import { useBackend } from '../../helpers/backends.ts';
import { MemoryStore, collect, ofType, photoSource } from './memory-store.ts';

const probe = await probeOnnxRuntime();
// onnxruntime-node is an optional dependency: CI installs it, so there its absence is a failure.
const skip = !probe.ok && !process.env.CI ? `ONNX Runtime unavailable: ${probe.reason}` : false;

let source: DatasetSource;

function config(over: Partial<Record<keyof TrainConfig | 'activation', unknown>> = {}): TrainConfig {
  return makeTrainConfig({
    preset: 'tiny',
    scale: 2,
    iterations: 12,
    batch: 4,
    patch: 12,
    lr: 2e-3,
    warmup: 2,
    seed: 7,
    checkpointEvery: 1000,
    ...over,
  } as Parameters<typeof makeTrainConfig>[0]);
}

const onnx = onnxEngine({ threads: 2 });

function run(o: Partial<TrainOptions> & { config: TrainConfig }): AsyncGenerator<TrainEvent> {
  return train({ data: source, val: [], store: new MemoryStore(), engine: onnx, ...o });
}

const decode = (bytes: Uint8Array) => decodeCheckpoint(bytes, 'test checkpoint');

function assertSame(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: different names`);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++)
      if (x[i] !== y[i]) assert.fail(`${what}: ${name}[${i}] differs: ${x[i]} vs ${y[i]}`);
  }
}

const worstRel = (a: readonly number[], b: readonly number[]) =>
  Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!)));

const cancelAt = (control: TrainControl, at: number) => (e: TrainEvent) => {
  if (e.type === 'progress' && e.iteration === at) control.cancel();
};

before(async () => {
  await useBackend('wasm');
  source = await photoSource();
});

describe('the ONNX Runtime engine', { skip }, () => {
  test("50 steps from the same weights and batches give the wasm trainer's losses within 1e-3, for TanhExp, Swish and Charbonnier", async () => {
    for (const [activation, loss] of [
      ['tanhexp', 'l1'],
      ['swish', 'l1'],
      ['tanhexp', 'charbonnier'],
    ] as const) {
      const cfg = config({ iterations: 50, activation, loss, warmup: 5 });
      const lossesOf = async (engine?: StepEngineFactory) =>
        ofType(await collect(run({ config: cfg, engine })), 'progress').map((p) => p.loss);
      const ours = await lossesOf(onnx);
      const wasm = await lossesOf(undefined);
      assert.equal(ours.length, 50);
      const worst = worstRel(ours, wasm);
      assert.ok(worst <= 1e-3, `${activation} ${loss}: worst relative difference ${worst}`);
      // The losses really moved (equal losses of a network that never learns would prove little).
      assert.ok(
        Math.min(...ours.slice(40)) < ours[0]! * 0.9,
        `${activation} ${loss}: the loss went from ${ours[0]} to ${ours.at(-1)}`,
      );
    }
  });

  test('cancel at 6 and from: iterations 7–12 and the final weights, moments and EMA are bit-identical to an unbroken run', async () => {
    const cfg = config({ checkpointEvery: 6, emaDecay: 0.9 });
    const storeA = new MemoryStore();
    const a = ofType(await collect(run({ config: cfg, store: storeA })), 'progress').map((p) => p.loss);
    const control = new TrainControl();
    const storeB = new MemoryStore();
    await collect(run({ config: cfg, store: storeB, control }), cancelAt(control, 6));
    const ckpt = decode((await storeB.readLatestCheckpoint())!.bytes);
    assert.equal(ckpt.state.iteration, 6);
    const storeC = new MemoryStore();
    const rest = ofType(await collect(run({ config: cfg, store: storeC, from: ckpt })), 'progress');
    assert.deepEqual(
      rest.map((p) => p.iteration),
      [7, 8, 9, 10, 11, 12],
    );
    assert.deepEqual(
      rest.map((p) => p.loss),
      a.slice(6),
    );
    const [x, y] = [decode(storeA.checkpointAt(12)), decode(storeC.checkpointAt(12))];
    assertSame(y.weights, x.weights, 'final weights');
    assertSame(y.adam, x.adam, 'final Adam moments');
    assertSame(y.ema!, x.ema!, 'final EMA');
    assert.equal(y.state.adamStep, 12);
  });

  test('a run started on wasm continues on ONNX Runtime from its checkpoint, and back, as if it had not changed engine', async () => {
    const cfg = config({ checkpointEvery: 6 });
    const unbroken = ofType(await collect(run({ config: cfg, engine: undefined })), 'progress').map((p) => p.loss);
    for (const [first, second] of [
      [undefined, onnx],
      [onnx, undefined],
    ] as const) {
      const control = new TrainControl();
      const store = new MemoryStore();
      await collect(run({ config: cfg, store, control, engine: first }), cancelAt(control, 6));
      const ckpt = decode((await store.readLatestCheckpoint())!.bytes);
      const rest = ofType(await collect(run({ config: cfg, from: ckpt, engine: second })), 'progress').map(
        (p) => p.loss,
      );
      assert.equal(rest.length, 6);
      const worst = worstRel(rest, unbroken.slice(6));
      assert.ok(worst <= 1e-3, `${first ? 'onnx → wasm' : 'wasm → onnx'}: worst relative difference ${worst}`);
    }
  });

  test("a refused step (NaN input, or a loss above the bound) changes neither the weights nor Adam's state", async () => {
    const cfg = config({ emaDecay: 0.9 });
    const engine = await onnx({ config: cfg, weights: initialWeights(cfg.network, 3), ema: undefined, adam: null });
    try {
      const { batch, patch } = cfg;
      const side = patch * 2;
      const good = {
        lr: new Float32Array(batch * patch * patch * 3).fill(0.5),
        hr: new Float32Array(batch * side * side * 3).fill(0.25),
        picks: [],
      };
      assert.ok((await engine.step(good, 1e-3, Infinity)).ok);
      const snapshot = async (e: StepEngine) => ({
        w: await e.weights(),
        ema: (await e.emaWeights())!,
        adam: await e.adamState(),
      });
      const before = await snapshot(engine);
      const poisoned = { ...good, lr: good.lr.map((v, i) => (i === 7 ? NaN : v)) };
      const r1 = await engine.step(poisoned, 1e-3, Infinity);
      assert.ok(!r1.ok && !r1.diverged && Number.isNaN(r1.loss));
      const r2 = await engine.step(good, 1e-3, 1e-9);
      assert.ok(!r2.ok && r2.diverged && r2.loss > 1e-9);
      const after = await snapshot(engine);
      assertSame(after.w, before.w, 'weights');
      assertSame(after.ema, before.ema, 'EMA');
      assertSame(new Map(after.adam.moments), new Map(before.adam.moments), 'Adam moments');
      assert.equal(after.adam.step, 1);
      // The EMA moved by exactly one update: e = 0.9·e0 + 0.1·w in float32, from e0 = the initial weights.
      const w0 = initialWeights(cfg.network, 3);
      for (const [name, e] of after.ema) {
        const w = after.w.get(name)!;
        const e0 = w0.get(name)!;
        for (let i = 0; i < e.length; i += 17) {
          const want = Math.fround(Math.fround(e0[i]! * Math.fround(0.9)) + Math.fround(w[i]! * Math.fround(1 - 0.9)));
          assert.ok(
            Math.abs(e[i]! - want) <= 2e-7 * Math.max(1, Math.abs(want)),
            `${name}[${i}]: EMA ${e[i]}, expected ${want}`,
          );
        }
      }
    } finally {
      await engine.dispose();
    }
  });

  test('no tensors or sessions are left behind when a run completes, is cancelled, fails, or its consumer stops early', async () => {
    let opened = 0;
    let closed = 0;
    const counted: StepEngineFactory = async (s) => {
      const e = await onnx(s);
      opened++;
      return {
        parameterCount: e.parameterCount,
        step: (b, lr, max) => e.step(b, lr, max),
        weights: () => e.weights(),
        emaWeights: () => e.emaWeights(),
        adamState: () => e.adamState(),
        load: (w, ema, adam) => e.load(w, ema, adam),
        dispose: async () => {
          closed++;
          await e.dispose();
        },
      };
    };
    const tensors = tf.memory().numTensors;
    await collect(run({ config: config({ iterations: 4 }), engine: counted }));
    const control = new TrainControl();
    await collect(run({ config: config({ iterations: 6 }), engine: counted, control }), cancelAt(control, 2));
    const failed = await collect(
      run({
        config: config({ iterations: 6 }),
        engine: counted,
        maxBadSteps: 2,
        batchHook: (i, b) => (i >= 1 ? { ...b, lr: b.lr.map(() => NaN) } : b),
      }),
    );
    assert.equal(failed.at(-1)?.type, 'failed');
    for await (const e of run({ config: config({ iterations: 6 }), engine: counted }))
      if (e.type === 'progress' && e.iteration === 2) break;
    assert.equal(opened, 4);
    assert.equal(closed, 4, 'every session is released');
    assert.equal(tf.memory().numTensors, tensors, 'training on ONNX Runtime holds no tfjs tensors');
  });
});
