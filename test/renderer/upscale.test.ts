/**
 * The Upscale view's state (renderer/src/state/upscale.svelte.ts and its queue) against a fake
 * StudioApi: counts that agree with the queue and the command line when files cannot be upscaled,
 * one item per file added twice, the viewer's layout kept from image to image, nothing stale after
 * Clear, errors said once, and the results kept across restarts.
 */
import { register } from 'node:module';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Events, ImageData64, ModelInfo, ResultInfo, Settings } from '../../main/api.ts';
import { FakeApi, refusal, settle } from './fake-api.ts';
import { requestError } from '../../renderer/src/api/request-error.ts';

register('./svelte-hooks.mjs', import.meta.url);
const { AppState } = await import('../../renderer/src/state/app.svelte.ts');
type App = InstanceType<typeof AppState>;

const IMAGE: ImageData64 = { dataUrl: 'data:image/png;base64,AA==', width: 2, height: 2 };
const SETTINGS: Settings = {
  outputDir: null,
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};
const MODEL: ModelInfo = {
  id: 'bundled:m',
  path: '/m.safetensors',
  name: 'm',
  bundled: true,
  isDefault: true,
  config: { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' },
  parameters: 1,
};
const RESULTS = '/data/results';
/** What the engine says of the files it cannot upscale. */
const REFUSALS: Record<string, string> = {
  '/in/note.png':
    '"note.png" could not be read as an image (it is not in a supported image format); check that it is a complete JPEG, PNG, WebP, TIFF, AVIF or GIF file.',
  '/in/dot.png': '"dot.png" is only 1×1 pixels; use an image at least 4×4 pixels.',
  '/in/empty.png': '"empty.png" is empty (0 bytes); re-export or re-download the image.',
};

function app(setup: (api: FakeApi) => void = () => undefined, history: ResultInfo[] = []): { app: App; api: FakeApi } {
  const api = new FakeApi()
    .answer('models:list', () => [MODEL])
    .answer('runs:list', () => [])
    .answer('jobs:list', () => [])
    .answer('results:list', () => ({ folder: RESULTS, results: history }))
    .answer('app:status', () => ({
      version: '0.0.0',
      settings: SETTINGS,
      backend: {
        upscale: { ok: true, choice: 'auto', name: 'onnx', device: 'ONNX Runtime', why: 'onnx', validation: null },
        train: { ok: true, choice: 'auto', name: 'onnx', device: 'ONNX Runtime', why: 'onnx', validation: null },
      },
    }))
    .answer('files:expand', ({ paths }) => ({
      files: paths.map((p) => ({ path: p, name: p.split('/').pop()!, bytes: 10 })),
      problems: [],
    }))
    .answer('image:thumbnail', () => IMAGE)
    .answer('image:check', ({ path }) => {
      if (REFUSALS[path]) throw new Error(REFUSALS[path]);
      return { width: 64, height: 64 };
    })
    .answer('job:upscale', () => ({ jobId: 'u1' }));
  setup(api);
  return { app: new AppState(api), api };
}

/** Lets the queue's uploads, checks and thumbnails (one after another) finish. */
async function drain(): Promise<void> {
  for (let i = 0; i < 30; i++) await settle();
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Answers each upload's PUT as the server does: the file saved in the inbox under `saved(name)`. */
function uploadsTo(api: FakeApi, saved: (name: string, bytes: number) => string): void {
  const pending = new Map<string, { name: string; bytes: number }>();
  api.answer('files:upload', ({ name, bytes }) => {
    const url = `/upload/${pending.size}`;
    pending.set(url, { name, bytes });
    return { url };
  });
  globalThis.fetch = (async (url: string) => {
    const p = pending.get(url)!;
    const path = saved(p.name, p.bytes);
    return { json: async () => ({ ok: true, file: { path, name: path.split('/').pop()!, bytes: p.bytes } }) };
  }) as unknown as typeof fetch;
}

describe('UpscaleSession: counts agree with the queue', () => {
  test('files that cannot be upscaled say why when added, are never counted as startable, and count as failed in the summary', async () => {
    const { app: a, api } = app();
    await a.refresh();
    const u = a.upscale;
    await u.addPaths(['/in/note.png', '/in/dot.png', '/in/empty.png']);
    await drain();
    assert.deepEqual(
      u.items.map((i) => [i.name, i.status, i.unusable, i.error]),
      Object.entries(REFUSALS).map(([p, why]) => [p.split('/').pop(), 'error', true, why]),
      'marked at once, each with its sentence',
    );
    assert.equal(u.startable.length, 0);
    assert.equal(u.canStart, false, 'nothing to start');
    assert.equal(u.unusableCount, 3);

    await u.addPaths(['/in/photo.png']);
    await drain();
    assert.equal(u.startable.length, 1, 'the button says "Upscale 1"');
    await u.start();
    assert.deepEqual(api.sent('job:upscale')[0]!.files, ['/in/photo.png'], 'only the photo goes to the engine');
    api.emit('job:file-done', {
      jobId: 'u1',
      file: '/in/photo.png',
      output: `${RESULTS}/photo_x2.png`,
      width: 128,
      height: 128,
      result: IMAGE,
    });
    api.emit('job:done', {
      jobId: 'u1',
      summary: '1 upscaled.',
      result: { kind: 'upscale', upscaled: 1, failed: 0, cancelled: false, outputs: [`${RESULTS}/photo_x2.png`] },
    });
    assert.equal(u.summary, '1 upscaled, 3 failed.', 'as the command line counts the same four files');
    assert.equal(u.startable.length, 0, 'nothing left to start');
    assert.equal(u.canStart, false);
  });
});

describe('UpscaleSession: a file added twice', () => {
  test('the same dropped file is one item: said once, and a finished one is ready again (to replace its result)', async () => {
    const { app: a, api } = app((api) => uploadsTo(api, (name) => `/inbox/${name}`));
    await a.refresh();
    const u = a.upscale;
    const coffee = new File([new Uint8Array(100)], 'coffee.png', { type: 'image/png', lastModified: 1000 });
    u.addFiles([coffee]);
    await drain();
    u.addFiles([coffee]);
    await drain();
    assert.equal(u.items.length, 1);
    assert.equal(api.sent('files:upload').length, 1, 'not sent again');
    assert.match(a.toasts.items.at(-1)?.text ?? '', /^coffee\.png is already in the queue\.$/);

    await u.start();
    api.emit('job:file-done', {
      jobId: 'u1',
      file: '/inbox/coffee.png',
      output: `${RESULTS}/coffee_x2.png`,
      width: 200,
      height: 200,
      result: IMAGE,
    });
    api.emit('job:done', {
      jobId: 'u1',
      summary: '1 upscaled.',
      result: { kind: 'upscale', upscaled: 1, failed: 0, cancelled: false, outputs: [] },
    });
    assert.equal(u.startable.length, 0);
    u.addFiles([coffee]);
    await drain();
    assert.deepEqual(
      u.items.map((i) => i.status),
      ['ready'],
      'one item, ready to be upscaled again',
    );
    assert.equal(
      a.toasts.items.at(-1)?.text,
      'coffee.png is already in the queue; it is ready to be upscaled again (tick "Replace existing outputs" to replace the earlier result).',
    );
  });

  test('a copy of the same file (the server keeps it as the file it has) is merged into the item; another file of that name says why it is renamed', async () => {
    const { app: a } = app((api) =>
      uploadsTo(api, (name, bytes) => (bytes === 100 ? `/inbox/${name}` : '/inbox/coffee (2).png')),
    );
    await a.refresh();
    const u = a.upscale;
    u.addFiles([new File([new Uint8Array(100)], 'coffee.png', { lastModified: 1 })]);
    await drain();
    u.addFiles([new File([new Uint8Array(100)], 'coffee.png', { lastModified: 2 })]);
    await drain();
    assert.deepEqual(
      u.items.map((i) => i.path),
      ['/inbox/coffee.png'],
      'the same bytes: one item',
    );
    u.addFiles([new File([new Uint8Array(50)], 'coffee.png', { lastModified: 3 })]);
    await drain();
    assert.deepEqual(
      u.items.map((i) => i.name),
      ['coffee.png', 'coffee (2).png'],
    );
    assert.equal(
      a.toasts.items.at(-1)?.text,
      'Another file named coffee.png was added before, so this one is kept as coffee (2).png.',
    );
  });
});

describe('UpscaleSession: the view', () => {
  test('the viewer keeps its layout from image to image', async () => {
    const { app: a, api } = app();
    await a.refresh();
    const u = a.upscale;
    await u.addPaths(['/in/a.png', '/in/b.png']);
    await drain();
    await u.start();
    for (const f of ['a', 'b'])
      api.emit('job:file-done', {
        jobId: 'u1',
        file: `/in/${f}.png`,
        output: `/out/${f}_x2.png`,
        width: 4,
        height: 4,
        result: IMAGE,
      });
    assert.equal(u.viewMode, 'slider', 'a slider to start with');
    u.select(u.items[0]!.key);
    u.viewMode = 'side';
    u.select(u.items[1]!.key);
    assert.equal(u.shown?.output, '/out/b_x2.png');
    assert.equal(u.viewMode, 'side', 'still side by side on the next image');
  });

  test("Clear takes the last batch's live preview and summary with it", async () => {
    const { app: a, api } = app();
    await a.refresh();
    const u = a.upscale;
    await u.addPaths(['/in/a.png']);
    await drain();
    await u.start();
    api.emit('job:preview', {
      jobId: 'u1',
      file: '/in/a.png',
      x: 0,
      y: 0,
      width: 4,
      height: 4,
      image: IMAGE,
      fullWidth: 4,
      fullHeight: 4,
    });
    api.emit('job:done', {
      jobId: 'u1',
      summary: '0 upscaled, 1 failed.',
      result: { kind: 'upscale', upscaled: 0, failed: 1, cancelled: false, outputs: [] },
    });
    assert.equal(u.tiles.length, 1);
    u.clear();
    assert.deepEqual([u.items.length, u.tiles.length, u.summary], [0, 0, null], 'no stale "Live preview … 100%"');
  });

  test('an output folder that cannot be used is said once, at the field; no toast, no status line', async () => {
    const sentence = 'SR Studio does not use "/proc/sr-out" in browser mode; choose a folder of your own.';
    const { app: a } = app((api) =>
      api.answer('job:upscale', () => {
        throw refusal(sentence, 'Output folder');
      }),
    );
    await a.refresh();
    const u = a.upscale;
    await u.addPaths(['/in/a.png']);
    await drain();
    await u.start();
    assert.equal(u.outputError, sentence);
    assert.equal(u.error, null, 'not again in the status line');
    assert.deepEqual(a.toasts.items, [], 'nor in a toast');
  });

  test('where an error is said follows its facts, never its words', async () => {
    const cases: Array<[string, Error, 'field' | 'status']> = [
      // The field a check named places the error, whatever its sentence begins with.
      [
        'a refusal naming the output folder',
        refusal('SR Studio does not use "/proc/sr-out" in browser mode; choose a folder of your own.', 'Output folder'),
        'field',
      ],
      // A sentence that merely begins with the field's label, from an error about something else, is not the field's.
      [
        'a sentence that begins like the field',
        refusal('Output folder names are kept in the settings file, which could not be read.'),
        'status',
      ],
      ['an error without facts', new Error('Output folder: something went wrong.'), 'status'],
      [
        'an engine error about another file',
        requestError({
          error: '"/in/a.png" is empty (0 bytes); re-export or re-download the image.',
          code: 'empty-file',
          facts: { file: '/in/a.png' },
        }) as Error,
        'status',
      ],
    ];
    for (const [what, error, where] of cases) {
      const { app: a } = app((api) =>
        api.answer('job:upscale', () => {
          throw error;
        }),
      );
      await a.refresh();
      const u = a.upscale;
      await u.addPaths(['/in/a.png']);
      await drain();
      await u.start();
      assert.deepEqual(
        [u.outputError, u.error],
        where === 'field' ? [error.message, null] : [null, error.message],
        what,
      );
    }
  });

  test("a job's error is placed by its facts too: at the output folder's field when it names it, else in the status line", async () => {
    const placed = '"/out" could not be made (permission denied); choose a folder you may write to.';
    const cases: Array<[string, Events['job:error'], 'field' | 'status']> = [
      [
        'an error naming the output folder',
        { jobId: 'u1', message: placed, code: 'bad-argument', facts: { said: placed, field: 'Output folder' } },
        'field',
      ],
      [
        'an error about a file',
        {
          jobId: 'u1',
          message: 'The disk is full while writing "/out/a_x2.png"; free some space and try again.',
          code: 'disk-full',
          facts: { file: '/out/a_x2.png' },
        },
        'status',
      ],
      [
        'a bug, without facts',
        { jobId: 'u1', message: 'The engine failed unexpectedly: x is not a function.' },
        'status',
      ],
    ];
    for (const [what, error, where] of cases) {
      const { app: a, api } = app();
      await a.refresh();
      const u = a.upscale;
      await u.addPaths(['/in/a.png']);
      await drain();
      await u.start();
      api.emit('job:error', error);
      assert.deepEqual(
        [u.outputError, u.error],
        where === 'field' ? [error.message, null] : [null, error.message],
        what,
      );
    }
  });
});

describe('UpscaleSession: results a user can find', () => {
  const earlier: ResultInfo = {
    output: `${RESULTS}/old_x2.png`,
    name: 'old.png',
    input: null,
    width: 100,
    height: 80,
    at: '2024-05-01T10:00:00.000Z',
  };

  test('in browser mode an empty output folder means the results folder; the list is read at start and again after each batch', async () => {
    let history = [earlier];
    const { app: a, api } = app((api) => api.answer('results:list', () => ({ folder: RESULTS, results: history })));
    await a.refresh();
    const u = a.upscale;
    assert.equal(u.defaultOutput, RESULTS);
    assert.deepEqual(u.results.items, [earlier], 'kept from before the restart');
    await u.addPaths(['/in/a.png']);
    await drain();
    await u.start();
    assert.equal(api.sent('job:upscale')[0]!.outputDir, RESULTS, 'never next to an upload in the inbox');
    const made: ResultInfo = {
      output: `${RESULTS}/a_x2.png`,
      name: 'a.png',
      input: '/in/a.png',
      width: 128,
      height: 128,
      at: '2024-05-02T10:00:00.000Z',
    };
    history = [made, earlier];
    api.emit('job:done', {
      jobId: 'u1',
      summary: '1 upscaled.',
      result: { kind: 'upscale', upscaled: 1, failed: 0, cancelled: false, outputs: [made.output] },
    });
    await drain();
    assert.deepEqual(
      u.results.items.map((r) => r.output),
      [made.output, earlier.output],
      'newest first',
    );
  });

  test('a result from the list opens in the viewer (alone, once its photo is gone); Clear history forgets the list', async () => {
    const { app: a, api } = app((api) => api.answer('results:clear', () => undefined), [earlier]);
    await a.refresh();
    const u = a.upscale;
    u.openResult(earlier);
    assert.deepEqual(u.shown, {
      key: earlier.output,
      name: 'old.png',
      path: null,
      output: earlier.output,
      result: null,
      outputSize: { width: 100, height: 80 },
    });
    await u.results.clear();
    assert.equal(api.sent('results:clear').length, 1);
    assert.deepEqual(u.results.items, []);
  });
});
