import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromHalf, toHalf } from '../../../ml/half.ts';
import {
  declaredRange,
  ImportedOnnx,
  memoryBudget,
  MIN_TILE,
  tileBytes,
  type OpenImportedOptions,
} from '../../../ml/node/imported-model.ts';
import { adjustImported, importModel, rangeGuessNote, readSidecar } from '../../../ml/node/imported-models.ts';
import { MIN_OVERLAP, upscaleImage } from '../../../ml/tiling.ts';
import { photo } from '../../helpers/photos.ts';
import {
  customOpModel,
  declared255Model,
  evenSidesModel,
  greyOutputModel,
  nearestModel,
  oddScaleModel,
  rank3Model,
  twoInputModel,
} from '../../helpers/onnx-models.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/onnx');
const fixture = (name: string) => path.join(FIXTURES, name);

const maxDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(Math.min(1, Math.max(0, a[i]!)) - Math.min(1, Math.max(0, b[i]!))));
  return m;
};

test('float16 conversion rounds to nearest and keeps what half floats hold exactly', () => {
  const v = Float32Array.of(0, 1, -2, 0.5, 0.1, 65504, 1e6, 2 ** -24, 1 / 3);
  assert.deepEqual(
    [...fromHalf(toHalf(v))],
    [0, 1, -2, 0.5, 0.0999755859375, 65504, Infinity, 2 ** -24, 0.333251953125],
  );
});

test('each fixture declares and probes as made: scale, range, input type and size, parameters', async () => {
  const expect = {
    'sr_studio_swish_x2.onnx': {
      scale: 2,
      range: 1,
      dtype: 'float32',
      fixedSize: null,
      parameters: 20752,
      producer: 'sr-studio',
      channels: 16,
      tile: 512,
    },
    'srvgg_x4_fp16.onnx': {
      scale: 4,
      range: 1,
      dtype: 'float16',
      fixedSize: null,
      parameters: 16704,
      producer: 'pytorch',
      channels: 48,
      tile: 384,
    },
    // A fixed 64×64 input: tiles of 32 with 16 pixels of context each side fill it.
    'rrdb_x2_255.onnx': {
      scale: 2,
      range: 255,
      dtype: 'float32',
      fixedSize: { width: 64, height: 64 },
      parameters: 26035,
      producer: 'pytorch',
      channels: 24,
      tile: 32,
    },
  } as const;
  for (const [name, want] of Object.entries(expect)) {
    const m = await ImportedOnnx.open(fixture(name));
    try {
      const f = m.facts;
      const got = {
        scale: f.scale,
        range: f.range,
        dtype: f.dtype,
        fixedSize: f.fixedSize,
        parameters: f.parameters,
        producer: f.producer,
        channels: f.channels,
        tile: m.defaultTile,
      };
      // Tiles shrink as the widest feature map grows (memory per tile stays about the same).
      assert.deepEqual(got, want, name);
      assert.equal(f.opset, 17);
      assert.ok(f.marginFound && f.margin >= 2 && f.margin <= 28, `${name}: margin ${f.margin}`);
      assert.equal(f.bytes, (await fs.stat(fixture(name))).size);
      assert.match(f.sha256, /^[0-9a-f]{64}$/);
    } finally {
      await m.dispose();
    }
  }
});

test('tiled output equals the whole-image output within 1/255 on a real photo (dynamic float32, float16)', async () => {
  const img = await photo('tiny/chelsea_96x72.png', 60, 44);
  for (const name of ['sr_studio_swish_x2.onnx', 'srvgg_x4_fp16.onnx']) {
    const m = await ImportedOnnx.open(fixture(name));
    try {
      const whole = await upscaleImage(m, img, { tile: 4096 });
      const tiled = await upscaleImage(m, img, { tile: 20 });
      assert.equal(whole.width, 60 * m.scale);
      const d = maxDiff(whole.rgb, tiled.rgb);
      assert.ok(d <= 1 / 255, `${name}: max |tiled − whole| = ${d}`);
      // The model changes the photo (it is not just the input repeated), so the check has teeth.
      let moved = 0;
      for (let i = 0; i < whole.rgb.length; i += 97)
        moved = Math.max(
          moved,
          Math.abs(
            whole.rgb[i]! -
              img.rgb[
                Math.floor(i / 3 / whole.width / m.scale) * img.width * 3 +
                  ((Math.floor((i / 3) % whole.width) / m.scale) | 0) * 3 +
                  (i % 3)
              ]!,
          ),
        );
      assert.ok(moved > 0.01, `${name}: output differs from the input by ${moved}`);
    } finally {
      await m.dispose();
    }
  }
});

test('a fixed-size 0–255 model: padded edge tiles equal one full-size pass, and tiles larger than its input are split', async () => {
  const m = await ImportedOnnx.open(fixture('rrdb_x2_255.onnx'));
  try {
    const img = await photo('tiny/coffee_64x64.png', 64, 64, 0, 0);
    const whole = await upscaleImage(m, img, { tile: 64 });
    const tiled = await upscaleImage(m, img, { tile: 16 });
    assert.ok(maxDiff(whole.rgb, tiled.rgb) <= 1 / 255, `max |tiled − whole| = ${maxDiff(whole.rgb, tiled.rgb)}`);
    // Output in 0–1 like the input: a 0–255 model read as 0–1 would be all white.
    let mean = 0;
    for (const v of whole.rgb) mean += v / whole.rgb.length;
    let inMean = 0;
    for (const v of img.rgb) inMean += v / img.rgb.length;
    assert.ok(Math.abs(mean - inMean) < 0.05, `mean ${mean} vs input ${inMean}`);
    const big = await photo('tiny/motorcycle_200x150.png', 150, 100);
    const a = await upscaleImage(m, big, { tile: 150 });
    const b = await upscaleImage(m, big, { tile: 24 });
    assert.ok(maxDiff(a.rgb, b.rgb) <= 1 / 255, `max |big tiles − small tiles| = ${maxDiff(a.rgb, b.rgb)}`);
  } finally {
    await m.dispose();
  }
  await assert.rejects(
    ImportedOnnx.open(fixture('rrdb_x2_255.onnx'), { overlap: 40 }),
    /takes a fixed 64×64 input, which leaves no room for a margin of 40; use --overlap 28 or less\.$/,
  );
});

test('what cannot be an SR model is refused in one sentence naming the file and what is wrong', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-'));
  try {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['rank3.onnx', rank3Model(), /its input has 3 dimensions, not 4/],
      ['two.onnx', twoInputModel(), /it takes 2 inputs, not one image/],
      ['grey.onnx', greyOutputModel(), /its output has 1 channel, not 3 \(RGB\)/],
      ['odd.onnx', oddScaleModel(), /not a whole scale/],
      ['custom.onnx', customOpModel(), /custom operator Sharpen from "com.example.sr"/],
      ['text.onnx', new TextEncoder().encode('not a model at all'), /it is not an ONNX model file/],
    ];
    for (const [name, bytes, why] of cases) {
      const p = path.join(dir, name);
      await fs.writeFile(p, bytes);
      await assert.rejects(ImportedOnnx.open(p), (e: Error) => {
        assert.equal(e.name, 'UserError', e.message);
        assert.match(e.message, why);
        assert.ok(e.message.startsWith(JSON.stringify(p)), e.message);
        assert.equal(e.message.split(/[.;] /).length <= 2 && !e.message.includes('\n'), true, e.message);
        return true;
      });
    }
    await assert.rejects(ImportedOnnx.open(path.join(dir, 'missing.onnx')), /does not exist/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a range declared in the metadata wins over the probe; a given range wins over both', async () => {
  assert.equal(declaredRange(new Map([['sr-studio.input', 'RGB, float in [0, 1], NCHW']])), 1);
  assert.equal(declaredRange(new Map([['input_range', '0-255']])), 255);
  assert.equal(declaredRange(new Map([['author', 'someone 0-255']])), undefined);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-'));
  try {
    const p = path.join(dir, 'nearest.onnx');
    await fs.writeFile(p, declared255Model());
    const m = await ImportedOnnx.open(p);
    assert.equal(m.facts.range, 255);
    assert.equal(m.facts.scale, 2);
    await m.dispose();
    const given = await ImportedOnnx.open(p, { range: 1, overlap: 20 });
    assert.equal(given.facts.range, 1);
    assert.equal(given.receptiveRadius, 20);
    await given.dispose();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a model that takes even sides only gets tiles padded to even sides: odd images and tiles come out whole and exact', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-'));
  try {
    const p = path.join(dir, 'even.onnx');
    await fs.writeFile(p, evenSidesModel());
    const m = await ImportedOnnx.open(p);
    try {
      assert.deepEqual([m.facts.scale, m.facts.multiple], [2, 2]);
      const img = await photo('tiny/chelsea_96x72.png', 61, 45);
      for (const tile of [4096, 21]) {
        const out = await upscaleImage(m, img, { tile });
        assert.deepEqual([out.width, out.height], [122, 90]);
        // Nearest-neighbour x2 of the input, exactly: padding never reaches a kept pixel.
        let worst = 0;
        for (let y = 0; y < 90; y++) {
          for (let x = 0; x < 122; x++) {
            for (let c = 0; c < 3; c++)
              worst = Math.max(
                worst,
                Math.abs(out.rgb[(y * 122 + x) * 3 + c]! - img.rgb[((y >> 1) * 61 + (x >> 1)) * 3 + c]!),
              );
          }
        }
        assert.ok(worst < 1e-6, `tile ${tile}: off by ${worst}`);
      }
    } finally {
      await m.dispose();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('where the range came from is kept: metadata, a probe that could tell, a guess when it could not, or given', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-'));
  try {
    const nearest = path.join(dir, 'nearest.onnx');
    const declared = path.join(dir, 'declared.onnx');
    await fs.writeFile(nearest, nearestModel());
    await fs.writeFile(declared, declared255Model());
    const cases: Array<[string, OpenImportedOptions, number, string]> = [
      [declared, {}, 255, 'metadata'],
      [fixture('sr_studio_swish_x2.onnx'), {}, 1, 'metadata'],
      [fixture('rrdb_x2_255.onnx'), {}, 255, 'probe'],
      // A plain resize keeps a grey tile grey in either range: the probe cannot tell, 0–1 is a guess.
      [nearest, {}, 1, 'guess'],
      [nearest, { range: 255 }, 255, 'given'],
    ];
    for (const [file, options, range, from] of cases) {
      const m = await ImportedOnnx.open(file, options);
      assert.deepEqual([m.facts.range, m.facts.rangeFrom], [range, from], path.basename(file));
      await m.dispose();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('tiles fit the memory a tile may use: smaller tiles under a small budget, the same output, and a refusal naming the model and what it needs', async () => {
  const file = fixture('srvgg_x4_fp16.onnx');
  const roomy = await ImportedOnnx.open(file);
  const tight = await ImportedOnnx.open(file, { memoryBudget: 8e6 });
  try {
    assert.ok(
      memoryBudget() > 0 && memoryBudget() <= os.totalmem() / 2,
      `budget ${memoryBudget()} of ${os.totalmem()}`,
    );
    assert.ok(tight.defaultTile < roomy.defaultTile, `${tight.defaultTile} < ${roomy.defaultTile}`);
    const side = tight.defaultTile + 2 * Math.max(MIN_OVERLAP, tight.receptiveRadius);
    assert.ok(
      tileBytes(tight.facts, side, side) <= 8e6,
      `a default tile takes ${tileBytes(tight.facts, side, side)} bytes`,
    );
    // A tile asked for that is larger than the budget holds is run in pieces that fit, with the same result.
    const img = await photo('tiny/chelsea_96x72.png', 86, 64);
    const whole = await upscaleImage(roomy, img, { tile: 4096 });
    const asked = await upscaleImage(tight, img, { tile: 4096 });
    assert.ok(tileBytes(tight.facts, 86 + 32, 64 + 32) > 3e6, 'the whole image is more than the smallest budget holds');
    const small = await ImportedOnnx.open(file, { memoryBudget: 3e6 });
    try {
      assert.ok(small.defaultTile >= MIN_TILE && small.defaultTile < 64, `tile ${small.defaultTile}`);
      const pieces = await upscaleImage(small, img, { tile: 4096 });
      assert.ok(maxDiff(whole.rgb, pieces.rgb) <= 1 / 255, `max |pieces − whole| = ${maxDiff(whole.rgb, pieces.rgb)}`);
    } finally {
      await small.dispose();
    }
    assert.ok(maxDiff(whole.rgb, asked.rgb) <= 1 / 255, `max |budgeted − whole| = ${maxDiff(whole.rgb, asked.rgb)}`);
  } finally {
    await roomy.dispose();
    await tight.dispose();
  }
  for (const [name, what] of [
    [
      'srvgg_x4_fp16.onnx',
      /needs about [\d.]+ MB of memory for even its smallest tile \(16×16 pixels with a margin of \d+\), more than the 0\.5 MB one tile may use on this machine; /,
    ],
    [
      'rrdb_x2_255.onnx',
      /needs about [\d.]+ MB of memory for its fixed 64×64 input, more than the 0\.5 MB one tile may use on this machine; /,
    ],
  ] as const) {
    await assert.rejects(ImportedOnnx.open(fixture(name), { memoryBudget: 5e5 }), (e: Error) => {
      assert.equal(e.name, 'UserError');
      assert.ok(e.message.startsWith(JSON.stringify(fixture(name))), e.message);
      assert.match(e.message, what);
      assert.match(e.message, /run it on a machine with more memory, or choose a smaller model\.$/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
});

test('a range and margin set after import are kept in its record and used when it is opened again', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-onnx-'));
  try {
    const r = await importModel(fixture('srvgg_x4_fp16.onnx'), { folder: dir });
    assert.equal(r.record.rangeFrom, 'guess');
    assert.match(
      rangeGuessNote(r.record, 'pass --range 0-255'),
      /could not tell whether it takes RGB in 0–1 or 0–255, so 0–1 is a guess: pass --range 0-255 if its results look wrong\.$/,
    );
    const changed = await adjustImported(r.path, { range: 255, margin: 24 });
    assert.deepEqual([changed.range, changed.rangeFrom, changed.margin, changed.marginGiven], [255, 'given', 24, true]);
    assert.equal(rangeGuessNote(changed, 'x'), '');
    const known = await readSidecar(r.path);
    assert.deepEqual([known?.range, known?.margin, known?.sha256], [255, 24, r.record.sha256]);
    const m = await ImportedOnnx.open(r.path, { known });
    assert.deepEqual([m.facts.range, m.receptiveRadius], [255, 24]);
    await m.dispose();
    // A fixed input size leaves room for only so much margin.
    const fixed = await importModel(fixture('rrdb_x2_255.onnx'), { folder: dir });
    await assert.rejects(
      adjustImported(fixed.path, { range: 255, margin: 40 }),
      /takes a fixed 64×64 input, which leaves no room for a margin of 40; use --overlap 28 or less\./,
    );
    assert.equal((await readSidecar(fixed.path))?.margin, fixed.record.margin, 'a refused change leaves the record');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a trained Real-ESRGAN compact model (converted from its ncnn release): declared and probed as it is, tiles equal to the whole image on a real photo', async () => {
  const m = await ImportedOnnx.open(fixture('realesr_animevideov3_x4.onnx'));
  try {
    const f = m.facts;
    assert.deepEqual(
      {
        scale: f.scale,
        range: f.range,
        rangeFrom: f.rangeFrom,
        dtype: f.dtype,
        fixedSize: f.fixedSize,
        parameters: f.parameters,
        channels: f.channels,
        producer: f.producer,
        multiple: f.multiple,
      },
      {
        scale: 4,
        range: 1,
        rangeFrom: 'probe',
        dtype: 'float32',
        fixedSize: null,
        parameters: 621428,
        channels: 64,
        producer: 'ncnn2onnx',
        multiple: 1,
      },
    );
    assert.deepEqual([...f.ops].sort(), ['Add', 'Conv', 'DepthToSpace', 'PRelu', 'Resize']);
    assert.ok(f.marginFound && f.margin >= 8, `margin ${f.margin}`);
    const img = await photo('val/astronaut.png', 72, 56, 200, 80);
    const whole = await upscaleImage(m, img, { tile: 4096 });
    const tiled = await upscaleImage(m, img, { tile: 24 });
    assert.deepEqual([whole.width, whole.height], [288, 224]);
    assert.ok(maxDiff(whole.rgb, tiled.rgb) <= 1 / 255, `max |tiled − whole| = ${maxDiff(whole.rgb, tiled.rgb)}`);
  } finally {
    await m.dispose();
  }
});
