/** settings.json: defaults, a damaged file set aside, a vanished output folder forgotten, recent models. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SETTINGS, MAX_RECENT, SettingsStore } from '../../../main/host/settings.ts';
import { tempDir } from '../helpers.ts';

let dir = '';
before(async () => {
  dir = await tempDir();
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('settings store', () => {
  test('no file: the defaults', async () => {
    const s = await SettingsStore.open(path.join(dir, 'none'));
    assert.deepEqual(s.get(), DEFAULT_SETTINGS);
  });

  test('a damaged file gives the defaults and is kept aside as settings.json.bad', async () => {
    const d = path.join(dir, 'damaged');
    await fs.mkdir(d);
    await fs.writeFile(path.join(d, 'settings.json'), '{"backend": "quantum"');
    const originalError = console.error;
    console.error = () => undefined;
    try {
      assert.deepEqual((await SettingsStore.open(d)).get(), DEFAULT_SETTINGS);
    } finally {
      console.error = originalError;
    }
    assert.deepEqual((await fs.readdir(d)).sort(), ['settings.json.bad']);
  });

  test('an output folder that has gone is forgotten; the rest is kept', async () => {
    const d = path.join(dir, 'gone');
    await fs.mkdir(d);
    const backends = { upscale: 'onnx', train: 'wasm' };
    await fs.writeFile(
      path.join(d, 'settings.json'),
      JSON.stringify({
        outputDir: path.join(dir, 'vanished'),
        backends,
        threads: 1,
        recentModels: ['user:a.safetensors'],
      }),
    );
    assert.deepEqual((await SettingsStore.open(d)).get(), {
      outputDir: null,
      backends,
      threads: 1,
      recentModels: ['user:a.safetensors'],
    });
  });

  test("an earlier version's single backend becomes the choice for both purposes", async () => {
    for (const [old, backends] of [
      ['wasm', { upscale: 'wasm', train: 'wasm' }],
      ['onnx', { upscale: 'onnx', train: 'onnx' }],
    ] as const) {
      const d = path.join(dir, `old-${old}`);
      await fs.mkdir(d);
      await fs.writeFile(
        path.join(d, 'settings.json'),
        JSON.stringify({ outputDir: null, backend: old, recentModels: [] }),
      );
      assert.deepEqual((await SettingsStore.open(d)).get(), { ...DEFAULT_SETTINGS, backends });
      assert.deepEqual(await fs.readdir(d), ['settings.json'], 'nothing set aside as damaged');
    }
  });

  test('recent models: most recent first, no repeats, at most MAX_RECENT', async () => {
    const s = await SettingsStore.open(path.join(dir, 'recent'));
    for (let i = 0; i < MAX_RECENT + 3; i++) await s.useModel(`user:m${i}.safetensors`);
    await s.useModel('user:m5.safetensors');
    const recent = s.get().recentModels;
    assert.equal(recent.length, MAX_RECENT);
    assert.equal(recent[0], 'user:m5.safetensors');
    assert.equal(new Set(recent).size, recent.length);
    const reread = await SettingsStore.open(path.join(dir, 'recent'));
    assert.deepEqual(reread.get().recentModels, recent);
  });
});
