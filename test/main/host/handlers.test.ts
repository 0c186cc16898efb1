/**
 * Every request handler takes `unknown`: wrong types, out-of-range numbers, bad enums, relative,
 * missing or NUL-carrying paths and traversal in upload names are refused with one sentence, and
 * good requests reach the engine with checked, absolute paths. The engine is a stub here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { JobInfo, RequestChannel, TrainJob } from '../../../main/api.ts';
import type { TrainSpec } from '../../../main/engine/protocol.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { failedReply } from '../../../main/host/router.ts';
import { SettingsStore } from '../../../main/host/settings.ts';
import { MAX_NAME_BYTES, uploadName } from '../../../main/host/validate.ts';
import { loadModelFile } from '../../../ml/node/models.ts';
import { makeTrainConfig } from '../../../ml/train/config.ts';
import { VERSION } from '../../../ml/node/version.ts';
import { exportOnnx } from '../../../ml/onnx/export.ts';
import { COFFEE, DATA, MOTORCYCLE, StubEngine, tempDir, tinyModel } from '../helpers.ts';

let dir = '';
let host: Host;
let browser: Host;
/** What the browser host's upload inbox was asked to take. */
const begun: Array<{ name: string; bytes: number }> = [];
const engine = new StubEngine();
const dialogs = { openImages: async () => ['/x.png'], openFolder: async () => '/x' };
const shell = { reveal: async () => undefined };

before(async () => {
  dir = await tempDir();
  await tinyModel(path.join(dir, 'models', 'own.safetensors'));
  await tinyModel(path.join(dir, 'mine.safetensors'), 3);
  const common = {
    appRoot: path.resolve(import.meta.dirname, '../../..'),
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    emit: () => undefined,
    dialogs,
    shell,
  };
  host = await createHost({ ...common, engine: engine.factory });
  const uploads = {
    dir: path.join(dir, 'inbox'),
    begin: (name: string, bytes: number) => (begun.push({ name, bytes }), { url: `/upload/${begun.length}` }),
  };
  browser = await createHost({ ...common, engine: new StubEngine().factory, uploads });
});

after(async () => {
  await host.close();
  await browser.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A small training's settings, without the run: each test adds or changes what it is about. */
const TRAIN = { data: DATA, val: null, preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 10 };
/** A new run in the app's runs folder. */
const NEW_RUN = { kind: 'new', parent: null };

const call = (channel: RequestChannel, arg?: unknown, h = host) =>
  (h.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);
/** Refused with one sentence matching `re` (and never a stack or a multi-line message). */
async function refused(channel: RequestChannel, arg: unknown, re: RegExp, h = host): Promise<void> {
  await assert.rejects(call(channel, arg, h), (e: Error) => {
    assert.match(e.message, re);
    assert.doesNotMatch(e.message, /\n/);
    assert.match(e.message, /[.!?]$/);
    return true;
  });
}

describe('request validation', () => {
  test('wrong argument shapes and types', async () => {
    await refused('image:load', 'just a string', /needs an object argument/);
    await refused('image:load', null, /needs an object argument/);
    await refused('image:load', [COFFEE], /needs an object argument/);
    await refused('image:load', { path: COFFEE, extra: 1 }, /does not take a field "extra"/);
    await refused('image:thumbnail', { path: 42, maxSide: 64 }, /path must be text/);
    await refused('image:thumbnail', { path: COFFEE, maxSide: '64' }, /maxSide must be a number/);
    await refused('app:status', { please: true }, /takes no argument/);
    await refused(
      'job:upscale',
      { files: COFFEE, model: 'user:own.safetensors', format: 'png', outputDir: null, overwrite: false },
      /files must be a list/,
    );
  });

  test('paths: relative, NUL bytes, missing, wrong kind, wrong extension', async () => {
    await refused('image:load', { path: 'coffee.png' }, /must be an absolute path/);
    await refused('image:load', { path: '../../etc/passwd' }, /must be an absolute path/);
    await refused('image:load', { path: `${COFFEE}\0.png` }, /NUL/);
    await refused('image:load', { path: path.join(dir, 'nope.png') }, /does not exist/);
    await refused('image:load', { path: '/etc/passwd' }, /must be a .jpg, .jpeg, .png/);
    await refused('files:expand', { paths: ['relative/dir'] }, /paths\[0\] must be an absolute path/);
    await refused('job:train', { ...TRAIN, data: COFFEE, run: NEW_RUN }, /is a file, not a folder/);
    await refused('models:import', { path: COFFEE }, /must be a .safetensors, .onnx file/);
    await refused('shell:reveal', { path: '/no/such/thing' }, /does not exist/);
  });

  test('numbers out of range, enums and lists', async () => {
    await refused('image:thumbnail', { path: COFFEE, maxSide: 0 }, /maxSide must be between 16 and 4096, not 0/);
    await refused('image:thumbnail', { path: COFFEE, maxSide: 64.5 }, /whole number/);
    await refused('image:thumbnail', { path: COFFEE, maxSide: Number.NaN }, /must be a number/);
    await refused(
      'activations:curves',
      { names: ['gelu'], xMin: -1, xMax: 1, points: 10 },
      /names\[0\] must be one of tanhexp, swish, mish, relu/,
    );
    await refused(
      'activations:curves',
      { names: ['swish', 'swish'], xMin: -1, xMax: 1, points: 10 },
      /must not repeat/,
    );
    await refused(
      'activations:curves',
      { names: ['swish'], xMin: 2, xMax: 1, points: 10 },
      /xMin \(2\) must be less than xMax/,
    );
    await refused('activations:curves', { names: [], xMin: -1, xMax: 1, points: 10 }, /names must have 1 to 4 entries/);
    const train = { ...TRAIN, run: NEW_RUN };
    await refused('job:train', { ...train, iterations: 0 }, /Iterations must be between 1 and 10000000/);
    await refused('job:train', { ...train, scale: 5 }, /scale must be one of 2, 3, 4/);
    await refused('job:train', { ...train, preset: 'huge' }, /preset must be one of/);
    await refused(
      'job:train',
      { ...train, degrade: 'jpeg' },
      /degrade must be one of none, photo, photo-heavy, not "jpeg"/,
    );
    await refused(
      'job:train',
      { ...train, run: { kind: 'new', parent: 'runs/x' } },
      /^Run folder must be an absolute path/,
    );
    await refused(
      'job:train',
      { ...train, run: { kind: 'new', parent: '/no/such/parent/run' } },
      /^"\/no\/such\/parent\/run" does not exist/,
    );
    await refused(
      'job:train',
      { ...train, init: '/etc/passwd' },
      /^init "\/etc\/passwd" is not a model id; pick a model from the list/,
    );
    await refused(
      'job:train',
      { ...train, init: 'bundled:gone.safetensors' },
      /^The model "bundled:gone.safetensors" is not installed/,
    );
    await refused(
      'job:train',
      { ...train, preset: 'light', init: 'bundled:tanhexp_x2.safetensors' },
      /^tanhexp_x2 has 16 features in 1 group of 3 blocks \(tiny\), but this run is light \(32 features, 3 groups of 4 blocks\); pick a model of the same preset, or start from scratch\.$/,
    );
    const cmp = { data: DATA, val: DATA, acts: ['swish', 'swish'], preset: 'tiny', scale: 2, iterations: 10, seeds: 1 };
    await refused('job:compare', cmp, /two different activations/);
    await refused('job:compare', { ...cmp, acts: ['swish', 'tanhexp'], seeds: 100 }, /Seeds must be between 1 and 20/);
    await refused(
      'features:maps',
      { models: ['user:own.safetensors'], image: COFFEE, layer: 0 },
      /models must have 2 entries/,
    );
    await refused(
      'features:maps',
      { models: ['user:own.safetensors', 'user:own.safetensors'], image: COFFEE, layer: -1 },
      /layer must be between 0/,
    );
  });

  test('model ids name installed models only', async () => {
    const job = { files: [COFFEE], format: 'png', outputDir: null, overwrite: false };
    await refused('job:upscale', { ...job, model: '/tmp/evil.safetensors' }, /is not a model id/);
    await refused('job:upscale', { ...job, model: 'user:../../evil.safetensors' }, /is not a model id/);
    await refused('job:upscale', { ...job, model: 'user:missing.safetensors' }, /is not installed/);
  });

  test('a good upscale request reaches the engine with absolute paths', async () => {
    const model = { id: 'user:own.safetensors', path: path.join(dir, 'models', 'own.safetensors') };
    const job = { files: [COFFEE], model: model.id, format: 'png', outputDir: null, overwrite: false };
    await refused('job:upscale', { ...job, format: 'bmp' }, /format must be one of png, jpg, webp, tiff, avif/);
    await refused('job:upscale', { ...job, overwrite: 'yes' }, /overwrite must be true or false/);
    await refused('job:upscale', { ...job, outputDir: COFFEE }, /^".*coffee_64x64\.png" is a file, not a folder\.$/);
    const { jobId } = (await call('job:upscale', { ...job, outputDir: dir })) as { jobId: string };
    assert.equal(jobId, 'job-1');
    assert.deepEqual(engine.jobs.at(-1), {
      type: 'upscale',
      spec: { files: [COFFEE], model: model.path, format: 'png', outputDir: dir, overwrite: false },
    });
    assert.equal(host.context.settings.get().recentModels[0], model.id, 'remembered as recent');
    await call('job:cancel', { jobId });
    assert.deepEqual(engine.controls.at(-1), { jobId, action: 'cancel' });
    await refused('job:cancel', { jobId: 'job-zzz' }, /No job with the id/);
    await refused('job:pause', { jobId: 7 }, /jobId must be text/);
  });

  test('models: import checks the file, list shows it, export never overwrites', async () => {
    const corrupt = path.join(dir, 'corrupt.safetensors');
    await fs.writeFile(corrupt, 'garbage');
    await refused('models:import', { path: corrupt }, /corrupt\.safetensors.*is not a valid SR Studio weights file/);
    const imported = (await call('models:import', { path: path.join(dir, 'mine.safetensors') })) as {
      id: string;
      path: string;
      config: { scale: number };
    };
    assert.deepEqual(
      [imported.id, imported.path, imported.config.scale],
      ['user:mine.safetensors', path.join(dir, 'models', 'mine.safetensors'), 3],
    );
    const same = (await call('models:import', { path: path.join(dir, 'mine.safetensors') })) as { id: string };
    assert.equal(same.id, 'user:mine.safetensors', 'the same bytes again are not copied twice');
    const list = (await call('models:list')) as Array<{ id: string; bundled: boolean; isDefault: boolean }>;
    assert.deepEqual(
      list.filter((m) => !m.bundled).map((m) => m.id),
      ['user:mine.safetensors', 'user:own.safetensors'],
    );
    // The Upscale view starts with the model `sr-studio upscale` uses: the bundled TanhExp x2 for photos.
    assert.deepEqual(
      list.filter((m) => m.isDefault).map((m) => m.id),
      ['bundled:tanhexp_photo_x2.safetensors'],
    );
    await refused(
      'models:export',
      { modelId: 'user:own.safetensors', to: path.join(dir, 'mine.safetensors') },
      /already exists/,
    );
    await refused(
      'models:export',
      { modelId: 'user:own.safetensors', to: path.join(dir, 'x.bin') },
      /must end in .safetensors or .onnx/,
    );
    // .onnx exports the network as an ONNX model (the bytes `sr-studio export` writes).
    await call('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'own.onnx') });
    const own = await loadModelFile(path.join(dir, 'models', 'own.safetensors'));
    assert.deepEqual(
      new Uint8Array(await fs.readFile(path.join(dir, 'own.onnx'))),
      exportOnnx(own.config, own.weights, { training: own.training, producerVersion: VERSION }),
    );
    await refused(
      'models:export',
      { modelId: 'user:own.safetensors', to: path.join(dir, 'own.onnx') },
      /already exists/,
    );
    await call('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'copy.safetensors') });
    await fs.access(path.join(dir, 'copy.safetensors'));
  });

  test('settings are checked, saved atomically and read back; backends and threads go to the engine', async () => {
    await refused(
      'settings:set',
      { backends: { upscale: 'cuda', train: 'auto' } },
      /backends\.upscale must be one of auto, tensorflow, webgpu, onnx, wasm, cpu/,
    );
    await refused(
      'settings:set',
      { backends: { upscale: 'auto', train: 'cuda' } },
      /backends\.train must be one of auto, tensorflow, webgpu, onnx, wasm, cpu/,
    );
    await refused('settings:set', { threads: 65 }, /threads must be between 0 and 64/);
    await refused('settings:set', { outputDir: 'out' }, /Output folder must be an absolute path/);
    await refused('settings:set', { theme: 'dark' }, /does not take a field "theme"/);
    const backends = { upscale: 'wasm', train: 'onnx' } as const;
    const s = await call('settings:set', { backends, threads: 1, outputDir: dir });
    assert.deepEqual(s, { ...host.context.settings.get(), backends, threads: 1, outputDir: dir });
    assert.deepEqual(engine.config, { backends, threads: 1 });
    const again = await SettingsStore.open(path.join(dir, 'data'));
    assert.deepEqual(again.get().backends, backends);
    assert.equal(again.get().threads, 1);
    assert.equal(again.get().outputDir, dir);
    assert.deepEqual(
      (await fs.readdir(path.join(dir, 'data'))).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  test('uploads: browser mode only, image or model names, a size; names made plain', async () => {
    await refused('files:upload', { name: 'a.png', bytes: 10 }, /only used in browser mode/);
    for (const name of ['../a.png', '../../etc/cron.d/x.png', 'sub/a.png', 'sub\\a.png', '..', '.', 'C:\\a.png']) {
      await refused('files:upload', { name, bytes: 10 }, /plain file name without folders/, browser);
    }
    await refused('files:upload', { name: '.hidden.png', bytes: 10 }, /hidden file name/, browser);
    await refused('files:upload', { name: '', bytes: 10 }, /must not be empty/, browser);
    await refused('files:upload', { name: 'a\0.png', bytes: 10 }, /NUL/, browser);
    await refused('files:upload', { name: '\u202e\u200b.png', bytes: 10 }, /no letters or digits left/, browser);
    await refused('files:upload', { name: 'notes.txt', bytes: 10 }, /neither an image/, browser);
    await refused(
      'files:upload',
      { name: 'photo\u202egnp.exe', bytes: 10 },
      /"photognp\.exe" is neither an image/,
      browser,
    );
    await refused('files:upload', { name: 'a.png', bytes: 0 }, /is empty \(0 bytes\)/, browser);
    await refused('files:upload', { name: 'a.png', bytes: -1 }, /bytes must be between 0/, browser);
    await refused('files:upload', { name: 'a.png', bytes: 1.5 }, /whole number/, browser);
    await refused('files:upload', { name: 'a.png', base64: 'AAAA' }, /does not take a field "base64"/, browser);
    begun.length = 0;
    assert.deepEqual(await call('files:upload', { name: ' holiday\u202e.png ', bytes: 123 }, browser), {
      url: '/upload/1',
    });
    assert.deepEqual(begun, [{ name: 'holiday.png', bytes: 123 }]);
  });

  test('upload names: no control, bidi or zero-width characters, NFC, a sane length in bytes', () => {
    const n = (s: string) => uploadName(s, 'name');
    assert.equal(n('photo.png'), 'photo.png');
    assert.equal(n('evil\u202Egnp.png'), 'evilgnp.png', 'right-to-left override');
    assert.equal(n('a\u2066b\u2069\u200f\u061c.jpg'), 'ab.jpg', 'isolates and marks');
    assert.equal(n('tab\there\r\n\u0085\u007f.png'), 'tabhere.png', 'C0, C1 and DEL');
    assert.equal(n('zero\u200bwidth\ufeff.png'), 'zerowidth.png');
    assert.equal(n('a<b>c:d"e|f?g*h.png'), 'a_b_c_d_e_f_g_h.png', 'characters Windows forbids');
    assert.equal(n('Cafe\u0301.png'), 'Caf\u00e9.png', 'NFC');
    assert.equal(n('trailing dots... .png'), 'trailing dots....png');
    assert.equal(n('name.png. '), 'name.png');
    const long = n(`${'日本語の写真'.repeat(40)}.jpeg`);
    assert.ok(Buffer.byteLength(long) <= MAX_NAME_BYTES, `${Buffer.byteLength(long)} bytes`);
    assert.ok(Buffer.byteLength(long) > MAX_NAME_BYTES - 3, 'shortened by whole characters only as far as needed');
    assert.match(long, /^(日本語の写真)+日?本?語?の?写?\.jpeg$/);
    const emoji = n(`${'👩‍👩‍👧‍👦'.repeat(20)}.png`);
    assert.ok(Buffer.byteLength(emoji) <= MAX_NAME_BYTES);
    assert.ok(
      [...new Intl.Segmenter().segment(emoji.slice(0, -4))].every((g) => g.segment === '👩‍👩‍👧‍👦'),
      'no emoji sequence cut in half',
    );
    assert.throws(() => n(`${'x'.repeat(300)}.${'y'.repeat(40)}`), /extension longer than 32 bytes/);
  });

  test('files, images and dialogs', async () => {
    const r = (await call('files:expand', { paths: [path.join(DATA, 'tiny'), path.join(dir, 'missing')] })) as {
      files: Array<{ name: string; bytes: number }>;
      problems: string[];
    };
    assert.deepEqual(
      r.files.map((f) => f.name),
      ['astronaut_128x128.png', 'chelsea_96x72.png', 'coffee_64x64.png', 'motorcycle_200x150.png'],
    );
    assert.ok(r.files.every((f) => f.bytes > 0));
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /missing.*does not exist/);
    const thumb = (await call('image:thumbnail', { path: COFFEE, maxSide: 32 })) as {
      width: number;
      height: number;
      dataUrl: string;
    };
    assert.deepEqual([thumb.width, thumb.height], [32, 32]);
    assert.match(thumb.dataUrl, /^data:image\/png;base64,/);
    assert.deepEqual(await call('dialog:open-images'), ['/x.png']);
    await refused('dialog:open-folder', { title: 7 }, /title must be text/);
  });

  test('the viewer’s tile pyramids: checked sources, levels and tiles', async () => {
    const info = (await call('image:info', { path: MOTORCYCLE })) as {
      width: number;
      height: number;
      tileSize: number;
      levels: number;
      version: string;
    };
    assert.deepEqual([info.width, info.height, info.tileSize, info.levels], [200, 150, 512, 1]);
    const big = { path: MOTORCYCLE, enlarge: { width: 800, height: 600, filter: 'bicubic' } };
    assert.deepEqual((await call('image:info', big)) as object, { ...info, width: 800, height: 600, levels: 2 });
    const tile = (await call('image:tile', { ...big, level: 0, col: 1, row: 1 })) as {
      dataUrl: string;
      width: number;
      height: number;
    };
    assert.deepEqual([tile.width, tile.height], [800 - 512, 600 - 512]);
    const png = Buffer.from(tile.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
    assert.deepEqual([(await sharp(png).metadata()).width, (await sharp(png).metadata()).height], [288, 88]);
    await refused('image:info', { path: 'relative.png' }, /must be an absolute path/);
    await refused('image:info', { path: path.join(dir, 'mine.safetensors') }, /must be a \.jpg/);
    await refused(
      'image:info',
      { path: MOTORCYCLE, enlarge: { width: 300, height: 225, filter: 'bicubic' } },
      /whole multiple/,
    );
    await refused(
      'image:info',
      { path: MOTORCYCLE, enlarge: { width: 400, height: 300, filter: 'lanczos' } },
      /enlarge\.filter must be one of nearest, bicubic/,
    );
    await refused(
      'image:info',
      { path: MOTORCYCLE, enlarge: { width: 400, height: 300 } },
      /enlarge\.filter must be one of/,
    );
    await refused('image:info', { path: MOTORCYCLE, enlarge: 'x2' }, /enlarge must be an object/);
    await refused(
      'image:info',
      { path: MOTORCYCLE, enlarge: { width: 400, height: 300, filter: 'nearest', x: 1 } },
      /does not take a field "x"/,
    );
    await refused('image:tile', { path: MOTORCYCLE, level: 0, col: 0 }, /row must be a number/);
    await refused('image:tile', { path: MOTORCYCLE, level: -1, col: 0, row: 0 }, /level must be between 0 and 64/);
    await refused(
      'image:tile',
      { path: MOTORCYCLE, level: 1, col: 0, row: 0 },
      /level must be a whole number from 0 to 0, not 1/,
    );
    await refused('image:tile', { ...big, level: 0, col: 2, row: 0 }, /no tile \(2, 0\)/);
  });
  test('job:train: a new run goes into the runs folder, an earlier one goes on in its own; a run that is not there is refused at the Run folder', async () => {
    const train = { ...TRAIN, init: 'user:own.safetensors' };
    await call('job:train', { ...train, run: { kind: 'new', parent: null } });
    const fresh = engine.jobs.at(-1)!.spec as TrainSpec;
    assert.deepEqual(fresh.run, { kind: 'new', parent: host.context.runsDir });
    assert.equal(fresh.init, path.join(dir, 'models', 'own.safetensors'));

    const earlier = path.join(host.context.runsDir, 'tiny_x2_tanhexp_earlier');
    await fs.mkdir(earlier, { recursive: true });
    const { jobId } = (await call('job:train', { ...train, run: { kind: 'continue', dir: earlier } })) as {
      jobId: string;
    };
    const continued = engine.jobs.at(-1)!.spec as TrainSpec;
    assert.deepEqual(continued.run, { kind: 'continue', dir: earlier });
    assert.equal(continued.init, null, 'a continued run goes on from its own checkpoint');
    // A page that reloads gets the request's own `run` back.
    const listed = ((await call('jobs:list')) as JobInfo[]).find((j) => j.jobId === jobId);
    assert.deepEqual((listed?.spec as TrainJob | undefined)?.run, { kind: 'continue', dir: earlier });

    // A continued run trains for what it recorded, so the engine picks the backend for it.
    assert.equal(continued.settings.objective, undefined, 'a pixel run (recorded before objectives) stays unnamed');
    const perceptualRun = path.join(host.context.runsDir, 'tiny_x2_tanhexp_perceptual');
    await fs.mkdir(perceptualRun, { recursive: true });
    await fs.writeFile(
      path.join(perceptualRun, 'config.json'),
      JSON.stringify(makeTrainConfig({ preset: 'tiny', objective: 'perceptual', advWeight: 0.3 })),
    );
    await call('job:train', { ...train, run: { kind: 'continue', dir: perceptualRun } });
    assert.equal((engine.jobs.at(-1)!.spec as TrainSpec).settings.objective, 'perceptual');

    // The refusal names the field, so the page can place it.
    const gone = path.join(host.context.runsDir, 'gone');
    const before = engine.jobs.length;
    const failure = await call('job:train', { ...train, run: { kind: 'continue', dir: gone } }).then(
      () => assert.fail('a run that is not there was continued'),
      (e: unknown) => failedReply(e),
    );
    assert.equal(failure.error, `${JSON.stringify(gone)} does not exist; check the path and try again.`);
    assert.equal(failure.code, 'bad-argument');
    assert.equal((failure.facts as { field?: string }).field, 'Run folder');
    assert.equal(engine.jobs.length, before, 'nothing reached the engine');

    await refused(
      'job:train',
      { ...train, run: { kind: 'continue', dir: earlier, parent: null } },
      /^run does not take a field "parent"/,
    );
    await refused(
      'job:train',
      { ...train, run: { kind: 'resume', dir: earlier } },
      /^run\.kind must be one of new, continue/,
    );
    await refused('job:train', { ...train, run: { kind: 'continue' } }, /^Run folder must be text/);
    await refused('job:train', { ...train, continueRun: earlier }, /does not take a field "continueRun"/);
    await refused('job:train', train, /^run needs an object argument/);
  });

  test("job:train and job:compare: the objective and a perceptual run's adversarial weight reach the engine as given; a bad one is refused before it", async () => {
    const train = { ...TRAIN, run: NEW_RUN };
    const specOf = () => engine.jobs.at(-1)!.spec as TrainSpec;
    const { jobId } = (await call('job:train', { ...train, objective: 'perceptual', advWeight: 0.25 })) as {
      jobId: string;
    };
    assert.deepEqual(
      { objective: specOf().settings.objective, advWeight: specOf().settings.advWeight },
      { objective: 'perceptual', advWeight: 0.25 },
    );
    const listed = ((await call('jobs:list')) as JobInfo[]).find((j) => j.jobId === jobId)?.spec as TrainJob;
    assert.equal(listed.objective, 'perceptual', 'a reloaded page gets the objective back');
    assert.equal(listed.advWeight, 0.25);
    await call('job:train', { ...train, objective: 'perceptual' });
    assert.equal(specOf().settings.objective, 'perceptual');
    assert.equal('advWeight' in specOf().settings, false, "no weight given: the engine's default");
    await call('job:train', { ...train, objective: 'pixel' });
    assert.equal(specOf().settings.objective, 'pixel');
    await call('job:train', train);
    assert.equal('objective' in specOf().settings, false, "none given: the engine's default, or a continued run's own");

    const before = engine.jobs.length;
    await refused(
      'job:train',
      { ...train, objective: 'gan' },
      /^objective must be one of pixel, perceptual, not "gan"\.$/,
    );
    await refused(
      'job:train',
      { ...train, objective: 'perceptual', advWeight: 20 },
      /^Adversarial weight must be between 0\.001 and 10, not 20\.$/,
    );
    await refused(
      'job:train',
      { ...train, objective: 'perceptual', advWeight: '0.1' },
      /^Adversarial weight must be a number/,
    );
    await refused(
      'job:train',
      { ...train, objective: 'pixel', advWeight: 0.1 },
      /^Adversarial weight weighs the adversarial loss of a perceptual run; choose the perceptual objective, or leave it out\.$/,
    );
    await refused('job:train', { ...train, advWeight: 0.1 }, /^Adversarial weight weighs the adversarial loss/);
    assert.equal(engine.jobs.length, before, 'nothing reached the engine');

    const cmp = {
      data: DATA,
      val: DATA,
      acts: ['swish', 'tanhexp'],
      preset: 'tiny',
      scale: 2,
      iterations: 10,
      seeds: 2,
    };
    await call('job:compare', { ...cmp, objective: 'perceptual', advWeight: 0.2 });
    const compared = engine.jobs.at(-1)!;
    assert.equal(compared.type, 'compare');
    const spec = compared.spec as { settings: Record<string, unknown>; dir: string };
    assert.deepEqual(spec.settings, {
      preset: 'tiny',
      scale: 2,
      iterations: 10,
      objective: 'perceptual',
      advWeight: 0.2,
    });
    assert.match(path.basename(spec.dir), /^compare_swish-tanhexp_tiny_x2_perceptual_it10_/);
    await refused('job:compare', { ...cmp, objective: 'pixel', advWeight: 0.2 }, /^Adversarial weight weighs/);
    await refused('job:compare', { ...cmp, objective: 'sharp' }, /^objective must be one of pixel, perceptual/);
  });

  test('compare-models: run models by path inside the runs folder only, the outputs in a folder of their own', async () => {
    const runModel = path.join(host.context.runsDir, 'compare_x', 'seed_0', 'swish', 'model_best.safetensors');
    await tinyModel(runModel);
    const job = { modelA: `run:${runModel}`, modelB: 'user:own.safetensors', image: COFFEE };
    await refused(
      'job:compare-models',
      { ...job, modelA: `run:${path.join(dir, 'mine.safetensors')}` },
      /is not a model in the app's runs folder/,
    );
    await refused(
      'job:compare-models',
      { ...job, modelA: `run:${host.context.runsDir}/../mine.safetensors` },
      /is not a model in the app's runs folder/,
    );
    await refused(
      'job:compare-models',
      { ...job, modelA: 'run:relative/model_best.safetensors' },
      /is not a model in the app's runs folder/,
    );
    await refused(
      'job:compare-models',
      { ...job, modelA: `run:${path.join(host.context.runsDir, 'gone.safetensors')}` },
      /is not there/,
    );
    await refused('job:compare-models', { ...job, groundTruth: 'yes' }, /groundTruth must be true or false/);
    const outDirs: string[] = [];
    for (let i = 0; i < 5; i++) {
      await call('job:compare-models', { ...job, groundTruth: i === 0 });
      const spec = engine.jobs.at(-1)!.spec as { modelA: string; modelB: string; groundTruth: boolean; outDir: string };
      assert.deepEqual(
        [spec.modelA, spec.modelB, spec.groundTruth],
        [runModel, path.join(dir, 'models', 'own.safetensors'), i === 0],
      );
      assert.equal(path.dirname(spec.outDir), host.context.viewsDir);
      await fs.mkdir(spec.outDir); // as the worker would
      outDirs.push(path.basename(spec.outDir));
    }
    assert.equal(new Set(outDirs).size, 5, 'a new folder each time');
    assert.deepEqual(
      (await fs.readdir(host.context.viewsDir)).sort(),
      outDirs.slice(-3).sort(),
      'older outputs are removed',
    );
  });
});
