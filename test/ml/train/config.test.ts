/**
 * The training configuration (ml/train/config.ts): defaults, validation, the learning-rate
 * schedule and run names. Pure: no tfjs backend needed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVATION_NAMES } from '../../../ml/activations.ts';
import { UserError } from '../../../ml/errors.ts';
import { PRESETS, presetConfig } from '../../../ml/network.ts';
import { replacesBest } from '../../../ml/train/best.ts';
import {
  DEFAULT_ADV_WEIGHT,
  DEFAULT_LR,
  INIT_LR,
  PERCEPTUAL_LR,
  TRAIN_DEFAULTS,
  learningRateAt,
  makeTrainConfig,
  parseTrainConfig,
  runName,
  type TrainConfig,
} from '../../../ml/train/config.ts';

const close = (a: number, b: number, rel = 1e-12) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

describe('makeTrainConfig defaults', () => {
  test('an empty input gives the tiny x2 TanhExp network and the documented defaults', () => {
    const c = makeTrainConfig({});
    assert.deepEqual(c.network, presetConfig('tiny', 2, 'tanhexp'));
    assert.equal(c.preset, 'tiny');
    for (const [k, v] of Object.entries(TRAIN_DEFAULTS)) {
      if (k === 'valEvery' || k === 'previewEvery') continue;
      assert.equal(c[k as keyof TrainConfig], v, k);
    }
    assert.equal(c.lr, DEFAULT_LR.tanhexp);
  });

  test('validation and previews default to about 10 and 20 a run, capped by the defaults, at least every 10', () => {
    const at = (iterations: number) => {
      const c = makeTrainConfig({ iterations });
      return [c.valEvery, c.previewEvery];
    };
    assert.deepEqual(at(2000), [200, 100]);
    assert.deepEqual(at(50_000), [TRAIN_DEFAULTS.valEvery, TRAIN_DEFAULTS.previewEvery]);
    assert.deepEqual(at(110), [11, 10]);
    assert.deepEqual(at(6), [6, 6]);
    assert.equal(makeTrainConfig({ iterations: 2000, valEvery: 7 }).valEvery, 7);
  });

  test('the default learning rate depends on the activation, and TanhExp’s is lower than Swish’s', () => {
    assert.ok(DEFAULT_LR.tanhexp < DEFAULT_LR.swish, `${DEFAULT_LR.tanhexp} vs ${DEFAULT_LR.swish}`);
    for (const activation of ACTIVATION_NAMES) {
      const c = makeTrainConfig({ activation });
      assert.equal(c.network.activation, activation);
      assert.equal(c.lr, DEFAULT_LR[activation], activation);
      assert.ok(c.lr > 0 && c.lr < 1e-2);
    }
    assert.ok(makeTrainConfig({ activation: 'tanhexp' }).lr < makeTrainConfig({ activation: 'swish' }).lr);
    // An explicit lr wins over the default.
    assert.equal(makeTrainConfig({ activation: 'swish', lr: 1e-3 }).lr, 1e-3);
  });

  test('preset and scale pick the network; a custom shape has no preset name', () => {
    const c = makeTrainConfig({ preset: 'light', scale: 4, activation: 'mish' });
    assert.deepEqual(c.network, { ...PRESETS.light, scale: 4, activation: 'mish' });
    assert.equal(c.preset, 'light');
    const custom = makeTrainConfig({ network: { scale: 3, features: 8, groups: 1, blocks: 1, activation: 'relu' } });
    assert.equal(custom.preset, undefined);
    assert.equal(custom.network.features, 8);
  });

  test('a config survives a JSON round trip (run folder, checkpoint)', () => {
    const c = makeTrainConfig({
      preset: 'standard',
      scale: 3,
      iterations: 77,
      emaDecay: 0.999,
      loss: 'charbonnier',
      augment: false,
      seed: 5,
    });
    assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(c))), c);
  });
});

describe('makeTrainConfig validation', () => {
  /** Throws a bad-argument UserError whose message names `field`. */
  function rejects(input: Parameters<typeof makeTrainConfig>[0], field: RegExp | string) {
    assert.throws(
      () => makeTrainConfig(input),
      (e: unknown) => {
        assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
        assert.equal(e.code, 'bad-argument');
        if (typeof field === 'string') assert.ok(e.message.includes(field), `"${e.message}" should name ${field}`);
        else assert.match(e.message, field);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      },
      JSON.stringify(input),
    );
  }

  const cases: Array<[string, Record<string, unknown>]> = [
    ['iterations', { iterations: 0 }],
    ['iterations', { iterations: 1.5 }],
    ['batch', { batch: 0 }],
    ['batch', { batch: '4' }],
    ['patch', { patch: 4 }],
    ['patch', { patch: 1000 }],
    ['lr', { lr: 0 }],
    ['lr', { lr: 2 }],
    ['lr', { lr: NaN }],
    ['warmup', { warmup: -1 }],
    ['minLrRatio', { minLrRatio: 1.5 }],
    ['clipNorm', { clipNorm: 0 }],
    ['emaDecay', { emaDecay: 1 }],
    ['loss', { loss: 'l2' }],
    ['seed', { seed: -1 }],
    ['seed', { seed: 2 ** 31 }],
    ['valEvery', { valEvery: 0 }],
    ['previewEvery', { previewEvery: 0 }],
    ['checkpointEvery', { checkpointEvery: 0 }],
    ['keepCheckpoints', { keepCheckpoints: 0 }],
    ['valMaxSide', { valMaxSide: -8 }],
  ];
  for (const [field, input] of cases) {
    test(`${JSON.stringify(input)} is refused, naming ${field}`, () => {
      rejects(input as Parameters<typeof makeTrainConfig>[0], new RegExp(`\\b${field}\\b`));
    });
  }

  test('unknown preset, activation or scale are refused with the choices', () => {
    rejects({ preset: 'huge' as 'tiny' }, /preset "huge".*tiny, light or standard/);
    rejects({ activation: 'gelu' }, /activation "gelu".*tanhexp/);
    rejects({ scale: 5 }, /scale 5/);
    rejects({ network: { scale: 2, features: 0, groups: 1, blocks: 1, activation: 'relu' } }, /feature count/);
  });

  test('init: absent from scratch, kept through JSON, checked, and a run started from a model defaults to the lower peak rate', () => {
    assert.equal('init' in makeTrainConfig({}), false);
    const init = { model: 'tanhexp_x2', loaded: 'all', sha256: 'ab'.repeat(32) } as const;
    for (const activation of ACTIVATION_NAMES)
      assert.equal(makeTrainConfig({ activation, init }).lr, INIT_LR, activation);
    assert.equal(INIT_LR, 1e-4);
    assert.equal(makeTrainConfig({ init, lr: 3e-4 }).lr, 3e-4, 'an explicit lr wins');
    const c = makeTrainConfig({ init: { model: '/m/x.safetensors', loaded: 'all but the upsampler' } });
    assert.deepEqual(c.init, { model: '/m/x.safetensors', loaded: 'all but the upsampler' });
    assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(makeTrainConfig({ init })))).init, init);
    rejects({ init: { model: '', loaded: 'all' } }, /init\.model/);
    rejects({ init: { model: 'm', loaded: 'some' } }, /init\.loaded/);
    rejects({ init: { model: 'm', loaded: 'all', sha256: 'xyz' } }, /init\.sha256/);
    rejects({ init: 'tanhexp_x2' }, /init\.model/);
  });

  test('parseTrainConfig refuses what is not an object', () => {
    assert.throws(() => parseTrainConfig(null), UserError);
    assert.throws(() => parseTrainConfig('x'), UserError);
  });
});

describe('learningRateAt', () => {
  const cfg = makeTrainConfig({ iterations: 1000, warmup: 100, lr: 4e-4, minLrRatio: 0.05 });
  const lrs = Array.from({ length: cfg.iterations }, (_, i) => learningRateAt(cfg, i));

  test('warm-up ramps linearly from lr/warmup up to the peak lr at its end', () => {
    assert.ok(close(lrs[0]!, cfg.lr / cfg.warmup));
    const step = lrs[1]! - lrs[0]!;
    for (let i = 1; i < cfg.warmup; i++) assert.ok(close(lrs[i]! - lrs[i - 1]!, step, 1e-9), `step ${i}`);
    assert.ok(close(lrs[cfg.warmup - 1]!, cfg.lr), `end of warm-up: ${lrs[cfg.warmup - 1]}`);
    assert.ok(close(lrs[cfg.warmup]!, cfg.lr), `first cosine step: ${lrs[cfg.warmup]}`);
    assert.equal(Math.max(...lrs), lrs[cfg.warmup - 1], 'the peak is at the end of the warm-up');
    assert.ok(Math.max(...lrs) <= cfg.lr * (1 + 1e-12));
  });

  test('after the warm-up it decreases monotonically and reaches lr × minLrRatio at the last iteration', () => {
    for (let i = cfg.warmup + 1; i < cfg.iterations; i++)
      assert.ok(lrs[i]! < lrs[i - 1]!, `iteration ${i}: ${lrs[i]} ≥ ${lrs[i - 1]}`);
    const floor = cfg.lr * cfg.minLrRatio;
    assert.ok(close(lrs.at(-1)!, floor), `last iteration: ${lrs.at(-1)} vs ${floor}`);
    assert.ok(
      lrs.slice(cfg.warmup).every((v) => v >= floor * (1 - 1e-12)),
      'never below the floor after the warm-up',
    );
    // Half-way through the cosine it is half-way between peak and floor.
    const mid = cfg.warmup + (cfg.iterations - 1 - cfg.warmup) / 2;
    assert.ok(close(learningRateAt(cfg, mid), (cfg.lr + floor) / 2, 1e-9));
  });

  test('short runs and no warm-up still start at the peak and end at the floor', () => {
    for (const [iterations, warmup] of [
      [12, 2],
      [5, 0],
      [2, 0],
    ] as const) {
      const c = makeTrainConfig({ iterations, warmup, lr: 1e-3, minLrRatio: 0.1 });
      const first = learningRateAt(c, warmup);
      const last = learningRateAt(c, iterations - 1);
      assert.ok(close(first, c.lr), `${iterations}/${warmup}: first after warm-up ${first}`);
      assert.ok(close(last, c.lr * c.minLrRatio), `${iterations}/${warmup}: last ${last}`);
    }
    const one = makeTrainConfig({ iterations: 1, warmup: 0, lr: 1e-3 });
    assert.ok(Number.isFinite(learningRateAt(one, 0)) && learningRateAt(one, 0) > 0);
  });
});

test('runName encodes the settings', () => {
  const c = makeTrainConfig({
    preset: 'light',
    scale: 3,
    activation: 'swish',
    patch: 24,
    batch: 8,
    iterations: 500,
    seed: 9,
  });
  assert.equal(runName(c), 'light_x3_swish_p24b8_it500_s9');
  const custom = makeTrainConfig({ network: { scale: 2, features: 8, groups: 2, blocks: 1, activation: 'relu' } });
  assert.match(runName(custom), /^f8g2b1_x2_relu_/);
});

test('degrade: none by default (also for configs saved before the setting existed), a preset name, or a clear error; in the run name', () => {
  assert.equal(makeTrainConfig({}).degrade, 'none');
  const saved = JSON.parse(JSON.stringify(makeTrainConfig({ preset: 'light' }))) as Record<string, unknown>;
  delete saved.degrade;
  assert.equal(parseTrainConfig(saved).degrade, 'none');
  const photo = makeTrainConfig({ preset: 'light', scale: 2, degrade: 'photo', iterations: 500 });
  assert.equal(photo.degrade, 'photo');
  assert.equal(parseTrainConfig(JSON.parse(JSON.stringify(photo))).degrade, 'photo');
  assert.equal(runName(photo), 'light_x2_tanhexp_photo_p32b16_it500_s0');
  assert.throws(
    () => makeTrainConfig({ degrade: 'jpeg' }),
    (e: unknown) =>
      e instanceof UserError && /Unknown degradation "jpeg"; use none, photo, photo-heavy\./.test(e.message),
  );
});

describe('the objective', () => {
  test('pixel by default, also for configs saved before it existed, with no adversarial weight', () => {
    const c = makeTrainConfig({ preset: 'light', scale: 4 });
    assert.equal(c.objective, 'pixel');
    assert.equal('advWeight' in c, false);
    const saved = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
    delete saved.objective;
    assert.deepEqual(parseTrainConfig(saved), c);
    assert.equal(runName(c), 'light_x4_tanhexp_p32b16_it2000_s0');
  });

  test('perceptual: Real-ESRGAN’s adversarial weight and learning rate by default, kept through JSON, in the run name', () => {
    const c = makeTrainConfig({ preset: 'tiny', scale: 4, objective: 'perceptual', degrade: 'photo' });
    assert.equal(c.objective, 'perceptual');
    assert.equal(c.advWeight, DEFAULT_ADV_WEIGHT);
    assert.equal(DEFAULT_ADV_WEIGHT, 0.1);
    assert.equal(c.lr, PERCEPTUAL_LR);
    assert.equal(PERCEPTUAL_LR, 1e-4);
    assert.ok(c.lr < DEFAULT_LR.tanhexp);
    assert.equal(makeTrainConfig({ objective: 'perceptual', lr: 3e-4 }).lr, 3e-4, 'an explicit lr wins');
    const w = makeTrainConfig({ objective: 'perceptual', advWeight: 0.02 });
    assert.equal(w.advWeight, 0.02);
    assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(w))), w);
    assert.equal(runName(c), 'tiny_x4_tanhexp_photo_perceptual_p32b16_it2000_s0');
  });

  test('an unknown objective, an adversarial weight out of range or without the perceptual objective, and an HR patch the discriminator cannot halve three times are refused', () => {
    const refused = (input: Parameters<typeof makeTrainConfig>[0], said: RegExp, field?: string) =>
      assert.throws(
        () => makeTrainConfig(input),
        (e: unknown) =>
          e instanceof UserError && e.code === 'bad-argument' && said.test(e.message) && e.facts.field === field,
        JSON.stringify(input),
      );
    refused({ objective: 'gan' }, /Unknown objective "gan"; use pixel or perceptual\./);
    refused({ objective: 'perceptual', advWeight: 0 }, /advWeight must be a number from 0\.001 to 10/);
    refused({ objective: 'perceptual', advWeight: 11 }, /advWeight/);
    refused({ advWeight: 0.1 }, /advWeight applies to the perceptual objective only/);
    refused({ objective: 'perceptual', scale: 2, patch: 10 }, /multiple of 8, not 10 × 2 = 20/, 'patch');
    refused({ objective: 'perceptual', scale: 3, patch: 12 }, /not 12 × 3 = 36/, 'patch');
    // The same patch is fine for a pixel run, and for a perceptual one where patch × scale is a multiple of 8.
    assert.equal(makeTrainConfig({ scale: 2, patch: 10 }).patch, 10);
    assert.equal(makeTrainConfig({ objective: 'perceptual', scale: 4, patch: 10 }).patch, 10);
  });

  test('the model a run keeps: the highest PSNR-Y for pixel runs, the latest validation for perceptual runs', () => {
    const best = { iteration: 100, psnrY: 30 };
    assert.equal(replacesBest('pixel', null, { iteration: 10, psnrY: 1 }), true);
    assert.equal(replacesBest('perceptual', null, { iteration: 10, psnrY: 1 }), true);
    assert.equal(replacesBest('pixel', best, { iteration: 200, psnrY: 29.9 }), false);
    assert.equal(replacesBest('pixel', best, { iteration: 200, psnrY: 30.1 }), true);
    assert.equal(replacesBest('perceptual', best, { iteration: 200, psnrY: 29.9 }), true);
    assert.equal(replacesBest('perceptual', best, { iteration: 50, psnrY: 31 }), false);
  });
});
