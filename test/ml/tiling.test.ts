import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { AbortError } from '../../ml/errors.ts';
import { Network } from '../../ml/network.ts';
import { imageSink, imageSource, tileGrid, upscaleImage, upscaleTiles, defaultOverlap } from '../../ml/tiling.ts';
import { useBackend } from '../helpers/backends.ts';
import { busyWeights, photo } from '../helpers/photos.ts';

/** A network whose residual branches matter (the default init keeps them near zero). */
function busyNetwork(preset: 'tiny' | 'light', seed: number): Network {
  const { config, weights } = busyWeights(preset, 2, 'tanhexp', seed);
  return new Network(config, weights, false);
}

before(async () => {
  await useBackend('wasm', 'upscale');
});

test('the tile grid covers the image exactly once', () => {
  const grid = tileGrid(50, 37, 16);
  assert.equal(grid.length, 4 * 3);
  let area = 0;
  for (const r of grid) area += r.w * r.h;
  assert.equal(area, 50 * 37);
  assert.deepEqual(grid.at(-1), { x: 48, y: 32, w: 2, h: 5 });
});

test('tiled upscaling equals the whole-image result within 1e-4 (tiny and light presets)', async () => {
  const img = await photo('tiny/chelsea_96x72.png', 70, 52);
  for (const preset of ['tiny', 'light'] as const) {
    const net = busyNetwork(preset, 5);
    const whole = await upscaleImage(net, img, { tile: 4096 });
    const tiled = await upscaleImage(net, img, { tile: 20 });
    let max = 0;
    for (let i = 0; i < whole.rgb.length; i++) max = Math.max(max, Math.abs(whole.rgb[i]! - tiled.rgb[i]!));
    assert.ok(max <= 1e-4, `${preset}: max |tiled − whole| = ${max}`);
    // And the network really is doing something beyond the bilinear skip, so the check has teeth:
    const x = tf.tensor4d(img.rgb, [1, img.height, img.width, 3]);
    const bil = tf.image.resizeBilinear(x, [img.height * 2, img.width * 2], false, true);
    const b = bil.dataSync();
    tf.dispose([x, bil]);
    let diff = 0;
    for (let i = 0; i < b.length; i++) diff = Math.max(diff, Math.abs(b[i]! - whole.rgb[i]!));
    assert.ok(diff > 0.02, `${preset}: output differs from bilinear by only ${diff}`);
    net.dispose();
  }
});

test('a margin narrower than the receptive field does show seams (the default margin is what makes tiles exact)', async () => {
  const img = await photo('tiny/chelsea_96x72.png', 64, 48);
  const net = busyNetwork('light', 5);
  assert.ok(defaultOverlap(net) > 16);
  const whole = await upscaleImage(net, img, { tile: 4096 });
  const narrow = await upscaleImage(net, img, { tile: 16, overlap: 16 });
  let max = 0;
  for (let i = 0; i < whole.rgb.length; i++) max = Math.max(max, Math.abs(whole.rgb[i]! - narrow.rgb[i]!));
  assert.ok(max > 1e-4, `expected a visible difference with a 16-pixel margin, got ${max}`);
  net.dispose();
});

test('no tensors leak over a tile loop, and progress counts every tile', async () => {
  const img = await photo('val/coffee.png', 60, 45);
  const net = busyNetwork('tiny', 1);
  const base = tf.memory().numTensors;
  const sink = imageSink(120, 90);
  const seen: number[] = [];
  for await (const t of upscaleTiles(net, imageSource(img), sink, { tile: 16 })) {
    assert.equal(tf.memory().numTensors, base, `tensors alive after tile ${t.index}`);
    assert.equal(t.total, 4 * 3);
    assert.equal(t.rgb.length, t.out.w * t.out.h * 3);
    seen.push(t.index);
  }
  assert.deepEqual(seen, [...Array(12).keys()]);
  assert.equal(tf.memory().numTensors, base);
  net.dispose();
});

test('abort stops between tiles with an AbortError and leaves no live tensor', async () => {
  const img = await photo('val/coffee.png', 60, 45);
  const net = busyNetwork('tiny', 1);
  const base = tf.memory().numTensors;
  const controller = new AbortController();
  let tiles = 0;
  await assert.rejects(
    (async () => {
      for await (const t of upscaleTiles(net, imageSource(img), imageSink(120, 90), {
        tile: 16,
        signal: controller.signal,
      })) {
        tiles++;
        if (t.index === 1) controller.abort();
      }
    })(),
    (e) => e instanceof AbortError && e.code === 'cancelled',
  );
  assert.equal(tiles, 2);
  assert.equal(tf.memory().numTensors, base);
  // Aborting while a tile is being computed: the in-flight tensors are released too.
  const c2 = new AbortController();
  const run = upscaleImage(net, img, { tile: 16, signal: c2.signal });
  c2.abort();
  await assert.rejects(run, AbortError);
  assert.equal(tf.memory().numTensors, base);
  net.dispose();
});
