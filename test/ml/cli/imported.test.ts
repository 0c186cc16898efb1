/**
 * `sr-studio models import` and `upscale --model FILE.onnx` with ONNX models from outside SR
 * Studio's exporter (test/fixtures/onnx), run as the user runs them, on real photos.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { assertOneError, jsonLines, runCli, show } from '../../helpers/cli.ts';
import { rank3Model } from '../../helpers/onnx-models.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/onnx');
const SRVGG = path.join(FIXTURES, 'srvgg_x4_fp16.onnx');
const RRDB = path.join(FIXTURES, 'rrdb_x2_255.onnx');
const REAL = path.join(FIXTURES, 'realesr_animevideov3_x4.onnx');
const CHELSEA = path.join(DATA, 'tiny/chelsea_96x72.png');

let dir = '';
let modelsDir = '';
const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir });

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-onnx-'));
  modelsDir = path.join(dir, 'models');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Largest difference between two images' 8-bit samples. */
async function maxDiff(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((p) => sharp(p).raw().toBuffer({ resolveWithObject: true })));
  assert.deepEqual(
    [x!.info.width, x!.info.height, x!.info.channels],
    [y!.info.width, y!.info.height, y!.info.channels],
  );
  let m = 0;
  for (let i = 0; i < x!.data.length; i++) m = Math.max(m, Math.abs(x!.data[i]! - y!.data[i]!));
  return m;
}

test('models import copies the model with a sidecar of what its probe found; info lists it; a second import is the same model', async () => {
  const r = await cli(['models', 'import', SRVGG]);
  assert.equal(r.code, 0, show(r));
  assert.match(
    r.stdout + r.stderr,
    /Imported srvgg_x4_fp16\.onnx as srvgg_x4_fp16 \(x4, float16, RGB 0–1, 16,704 parameters, tile margin \d+\) into .*; it can upscale but not be trained\./,
  );
  const copy = path.join(modelsDir, 'srvgg_x4_fp16.onnx');
  const bytes = await fs.readFile(copy);
  assert.deepEqual(bytes, await fs.readFile(SRVGG));
  const side = JSON.parse(await fs.readFile(`${copy}.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(side.scale, 4);
  assert.equal(side.range, 1);
  assert.equal(side.parameters, 16704);
  assert.equal(side.source, SRVGG);
  assert.equal(side.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(typeof side.margin, 'number');
  const again = await cli(['models', 'import', SRVGG]);
  assert.equal(again.code, 0, show(again));
  assert.match(again.stdout + again.stderr, /already imported as srvgg_x4_fp16/);
  const info = await cli(['info', '--json']);
  const rec = jsonLines(info).find((l) => l.type === 'info') as {
    imported?: Array<{ path: string; record: { scale: number } }>;
  };
  assert.deepEqual(
    rec.imported?.map((m) => [m.path, m.record.scale]),
    [[copy, 4]],
  );
});

test('upscale with an imported model by name and with an ONNX file: tiled output equals the whole-image output', async () => {
  for (const [model, tile, s] of [
    ['srvgg_x4_fp16', '24', 4],
    [RRDB, '16', 2],
  ] as const) {
    const out = (t: string) => path.join(dir, `out-${path.basename(model)}-${t}`);
    const small = await cli(['upscale', '--model', model, '--tile', tile, '-o', out('small'), CHELSEA]);
    assert.equal(small.code, 0, show(small));
    const whole = await cli(['upscale', '--model', model, '--tile', '4096', '-o', out('whole'), CHELSEA]);
    assert.equal(whole.code, 0, show(whole));
    const name = `chelsea_96x72_x${s}.png`;
    const meta = await sharp(path.join(out('small'), name)).metadata();
    assert.deepEqual([meta.width, meta.height], [96 * s, 72 * s]);
    const d = await maxDiff(path.join(out('small'), name), path.join(out('whole'), name));
    assert.ok(d <= 1, `${model}: tiled and whole outputs differ by ${d} levels`);
  }
});

test('imported models cannot be trained, run only on ONNX Runtime, and what is not an SR model is refused in one sentence', async () => {
  assertOneError(
    await cli(['train', '--init', SRVGG, '--data', path.join(DATA, 'tiny')]),
    /is an imported ONNX model, which SR Studio can run but not train or fine-tune/,
    1,
  );
  assertOneError(
    await cli(['upscale', '--model', SRVGG, '--backend', 'wasm', CHELSEA]),
    /Imported ONNX models run on ONNX Runtime/,
    2,
  );
  assertOneError(
    await cli(['upscale', '--model', SRVGG, '--scale', '2', '-o', path.join(dir, 'x'), CHELSEA]),
    /upscales x4, not x2/,
  );
  const bad = path.join(dir, 'flat.onnx');
  await fs.writeFile(bad, rank3Model());
  assertOneError(
    await cli(['models', 'import', bad]),
    /"[^"]*flat\.onnx" cannot be used as a super-resolution model \(its input has 3 dimensions, not 4/,
    1,
  );
  assertOneError(await cli(['upscale', '--model', bad, CHELSEA]), /its input has 3 dimensions, not 4/, 1);
});

test('a trained Real-ESRGAN compact model from outside SR Studio: imported, and a real photo upscaled x4 with tiles equal to the whole image', async () => {
  const r = await cli(['models', 'import', REAL]);
  assert.equal(r.code, 0, show(r));
  assert.match(
    r.stdout + r.stderr,
    /Imported realesr_animevideov3_x4\.onnx as realesr_animevideov3_x4 \(x4, float32, RGB 0–1, 621,428 parameters, tile margin \d+\)/,
  );
  // A crop of a held-out photo, kept small so the test stays quick on two cores.
  const photo = path.join(dir, 'astronaut_crop.png');
  await sharp(path.join(DATA, 'val/astronaut.png'))
    .extract({ left: 180, top: 60, width: 120, height: 90 })
    .toFile(photo);
  const out = (t: string) => path.join(dir, `out-real-${t}`);
  for (const tile of ['40', '4096']) {
    const u = await cli(['upscale', '--model', 'realesr_animevideov3_x4', '--tile', tile, '-o', out(tile), photo]);
    assert.equal(u.code, 0, show(u));
  }
  const name = 'astronaut_crop_x4.png';
  const meta = await sharp(path.join(out('40'), name)).metadata();
  assert.deepEqual([meta.width, meta.height], [480, 360]);
  const d = await maxDiff(path.join(out('40'), name), path.join(out('4096'), name));
  assert.ok(d <= 1, `tiled and whole outputs differ by ${d} levels`);
  // A trained model is not a resize: it differs from the photo's plain nearest enlargement.
  const nearest = path.join(dir, 'nearest.png');
  await sharp(photo).resize(480, 360, { kernel: 'nearest' }).toFile(nearest);
  assert.ok((await maxDiff(path.join(out('4096'), name), nearest)) > 32);
});

test('a range and margin recorded at import are used by every later upscale', async () => {
  const r = await cli(['models', 'import', RRDB, '--range', '0-255', '--overlap', '20']);
  assert.equal(r.code, 0, show(r));
  assert.match(
    r.stdout + r.stderr,
    /as rrdb_x2_255 \(x2, float32, RGB 0–255, fixed 64×64 input, 26,035 parameters, tile margin 20\)/,
  );
  const u = await cli(['upscale', '--model', 'rrdb_x2_255', '-o', path.join(dir, 'out-rrdb-kept'), CHELSEA]);
  assert.equal(u.code, 0, show(u));
  assert.match(
    u.stdout + u.stderr,
    /Model: rrdb_x2_255\.onnx \(imported ONNX: x2, float32, RGB 0–255, fixed 64×64 input, 26,035 parameters, tile margin 20\)/,
  );
});
