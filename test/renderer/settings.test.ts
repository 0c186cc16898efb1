/**
 * The Settings view's state (renderer/src/state/settings.svelte.ts) against a fake StudioApi: what
 * Save sends whatever the fields hold, and the lines that say what the engine runs on.
 */
import { register } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendReport, Settings } from '../../main/api.ts';
import { FakeApi } from './fake-api.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');
const { autoSentence, backendShort, probeNote } = await import('../../renderer/src/state/settings.svelte.ts');

const SETTINGS: Settings = {
  outputDir: null,
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};
const SOFTWARE = 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) via Vulkan';
const REPORT: BackendReport = {
  probes: [
    {
      name: 'tensorflow',
      available: false,
      gpu: false,
      canTrain: false,
      reason: 'the TensorFlow library is not installed',
    },
    {
      name: 'webgpu',
      available: true,
      gpu: false,
      canTrain: true,
      device: SOFTWARE,
      detail: 'Dawn marks it as a fallback (CPU) adapter',
    },
    { name: 'onnx', available: true, gpu: false, canTrain: true, device: 'ONNX Runtime 1.30.0 (CPU)' },
  ],
  auto: {
    upscale: { name: 'onnx', why: `onnx — ONNX Runtime 1.30.0 (CPU); skipped webgpu: no hardware GPU (${SOFTWARE})` },
    train: { name: 'onnx', why: `onnx — ONNX Runtime 1.30.0 (CPU); skipped webgpu: no hardware GPU (${SOFTWARE})` },
  },
};

function studio() {
  const api = new FakeApi()
    .answer('models:list', () => [])
    .answer('jobs:list', () => [])
    .answer('backends:probe', () => REPORT)
    .answer('settings:set', (patch) => ({ ...SETTINGS, ...patch }))
    .answer('app:status', () => ({
      version: '0.0.0',
      settings: SETTINGS,
      backend: {
        upscale: {
          ok: true,
          choice: 'auto',
          name: 'onnx',
          device: 'ONNX Runtime 1.30.0 (CPU)',
          why: REPORT.auto.upscale.why,
          validation: null,
        },
        train: {
          ok: true,
          choice: 'auto',
          name: 'onnx',
          device: 'ONNX Runtime 1.30.0 (CPU)',
          why: REPORT.auto.train.why,
          validation: 'ONNX Runtime 1.30.0 (CPU)',
        },
      },
    }));
  return { app: new AppState(api), api };
}

describe('SettingsSession', () => {
  test('Save after the thread field was typed in and emptied (the number field then holds null) saves auto and the new folder', async () => {
    const { app, api } = studio();
    await app.refresh();
    const s = app.settingsForm;
    s.load(app.settings!);
    s.threads = 2; // a number field's binding gives numbers…
    s.threads = null; // …and null once emptied
    s.outputDir = ' /home/me/upscaled ';
    await s.save();
    assert.equal(s.error, null);
    assert.equal(s.saved, true);
    assert.deepEqual(api.sent('settings:set'), [
      { backends: { upscale: 'auto', train: 'auto' }, threads: null, outputDir: '/home/me/upscaled' },
    ]);
  });

  test('a thread count as a number is saved; a bad one is refused in one sentence, and the earlier "Saved" goes', async () => {
    const { app, api } = studio();
    await app.refresh();
    const s = app.settingsForm;
    s.load(app.settings!);
    s.threads = 3;
    await s.save();
    assert.equal(s.saved, true);
    assert.equal(api.sent('settings:set').at(-1)?.threads, 3);
    s.threads = 2.5;
    await s.save();
    assert.match(s.error ?? '', /^Extra threads must be a whole number from 0 to 64, or empty for automatic\.$/);
    assert.equal(s.saved, false);
    assert.equal(api.sent('settings:set').length, 1);
  });
});

describe('what the engine runs on, said once', () => {
  test('the "Now" line names the backend and its device, without the reasons auto passed others over', () => {
    const { app } = studio();
    return app.refresh().then(() => {
      const b = app.status!.backend;
      assert.equal(backendShort(b.upscale), 'onnx — ONNX Runtime 1.30.0 (CPU)');
      assert.equal(
        backendShort(b.train),
        'onnx — ONNX Runtime 1.30.0 (CPU); validation and previews on ONNX Runtime 1.30.0 (CPU)',
      );
    });
  });

  test("auto's line says why in plain words, and the software adapter's device is left to its own row", () => {
    const line = autoSentence(REPORT, 'upscale');
    assert.equal(
      line,
      'onnx (ONNX Runtime 1.30.0 (CPU)): this machine has no GPU that SR Studio can use, and it is the fastest here on the processor.',
    );
    assert.ok(!line.includes('llvmpipe'));
    const webgpu = REPORT.probes[1]!;
    assert.match(probeNote(webgpu) ?? '', /^A software stand-in for a GPU: it runs on the processor/);
    assert.equal(probeNote(REPORT.probes[2]!), null);
  });
});
