/**
 * Every request handler takes `unknown`: wrong types, out-of-range numbers, bad enums, relative,
 * missing or NUL-carrying paths and traversal in upload names are refused with one sentence, and
 * good requests reach the engine with checked, absolute paths. The engine is a stub here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestChannel } from '../../../main/api.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { SettingsStore } from '../../../main/host/settings.ts';
import { loadModelFile } from '../../../ml/node/models.ts';
import { VERSION } from '../../../ml/node/version.ts';
import { exportOnnx } from '../../../ml/onnx/export.ts';
import { COFFEE, DATA, StubEngine, tempDir, tinyModel } from '../helpers.ts';

let dir = '';
let host: Host;
let browser: Host;
const engine = new StubEngine();
const dialogs = { openImages: async () => ['/x.png'], openFolder: async () => '/x' };
const shell = { reveal: async () => undefined };

before(async () => {
  dir = await tempDir();
  await tinyModel(path.join(dir, 'models', 'own.safetensors'));
  await tinyModel(path.join(dir, 'mine.safetensors'), 3);
  const common = { appRoot: path.resolve(import.meta.dirname, '../../..'), dataDir: path.join(dir, 'data'), userModels: path.join(dir, 'models'), emit: () => undefined, dialogs, shell };
  host = await createHost({ ...common, engine: engine.factory });
  await fs.mkdir(path.join(dir, 'inbox'));
  browser = await createHost({ ...common, engine: new StubEngine().factory, inbox: path.join(dir, 'inbox') });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (channel: RequestChannel, arg?: unknown, h = host) => (h.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);
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
    await refused('job:upscale', { files: COFFEE, modelId: 'user:own.safetensors', format: 'png', outputDir: null, overwrite: false }, /files must be a list/);
  });

  test('paths: relative, NUL bytes, missing, wrong kind, wrong extension', async () => {
    await refused('image:load', { path: 'coffee.png' }, /must be an absolute path/);
    await refused('image:load', { path: '../../etc/passwd' }, /must be an absolute path/);
    await refused('image:load', { path: `${COFFEE}\0.png` }, /NUL/);
    await refused('image:load', { path: path.join(dir, 'nope.png') }, /does not exist/);
    await refused('image:load', { path: '/etc/passwd' }, /must be a .jpg, .jpeg, .png/);
    await refused('files:expand', { paths: ['relative/dir'] }, /paths\[0\] must be an absolute path/);
    await refused('job:train', { data: COFFEE, val: null, preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 10, outDir: null }, /is a file, not a folder/);
    await refused('models:import', { path: COFFEE }, /must be a .safetensors file/);
    await refused('shell:reveal', { path: '/no/such/thing' }, /does not exist/);
  });

  test('numbers out of range, enums and lists', async () => {
    await refused('image:thumbnail', { path: COFFEE, maxSide: 0 }, /maxSide must be between 16 and 4096, not 0/);
    await refused('image:thumbnail', { path: COFFEE, maxSide: 64.5 }, /whole number/);
    await refused('image:thumbnail', { path: COFFEE, maxSide: Number.NaN }, /must be a number/);
    await refused('activations:curves', { names: ['gelu'], xMin: -1, xMax: 1, points: 10 }, /names\[0\] must be one of tanhexp, swish, mish, relu/);
    await refused('activations:curves', { names: ['swish', 'swish'], xMin: -1, xMax: 1, points: 10 }, /must not repeat/);
    await refused('activations:curves', { names: ['swish'], xMin: 2, xMax: 1, points: 10 }, /xMin \(2\) must be less than xMax/);
    await refused('activations:curves', { names: [], xMin: -1, xMax: 1, points: 10 }, /names must have 1 to 4 entries/);
    const train = { data: DATA, val: null, preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 10, outDir: null };
    await refused('job:train', { ...train, iterations: 0 }, /iterations must be between 1 and 1000000/);
    await refused('job:train', { ...train, scale: 5 }, /scale must be one of 2, 3, 4/);
    await refused('job:train', { ...train, preset: 'huge' }, /preset must be one of/);
    await refused('job:train', { ...train, degrade: 'jpeg' }, /degrade must be one of none, photo, photo-heavy, not "jpeg"/);
    await refused('job:train', { ...train, outDir: 'runs/x' }, /outDir must be an absolute path/);
    await refused('job:train', { ...train, outDir: '/no/such/parent/run' }, /parent folder.*does not exist/);
    const cmp = { data: DATA, val: DATA, acts: ['swish', 'swish'], preset: 'tiny', scale: 2, iterations: 10, seeds: 1 };
    await refused('job:compare', cmp, /two different activations/);
    await refused('job:compare', { ...cmp, acts: ['swish', 'tanhexp'], seeds: 100 }, /seeds must be between 1 and 20/);
    await refused('features:maps', { modelIds: ['user:own.safetensors'], image: COFFEE, layer: 0 }, /modelIds must have 2 entries/);
    await refused('features:maps', { modelIds: ['user:own.safetensors', 'user:own.safetensors'], image: COFFEE, layer: -1 }, /layer must be between 0/);
  });

  test('model ids name installed models only', async () => {
    const job = { files: [COFFEE], format: 'png', outputDir: null, overwrite: false };
    await refused('job:upscale', { ...job, modelId: '/tmp/evil.safetensors' }, /is not a model id/);
    await refused('job:upscale', { ...job, modelId: 'user:../../evil.safetensors' }, /is not a model id/);
    await refused('job:upscale', { ...job, modelId: 'user:missing.safetensors' }, /is not installed/);
  });

  test('a good upscale request reaches the engine with absolute paths', async () => {
    const model = { id: 'user:own.safetensors', path: path.join(dir, 'models', 'own.safetensors') };
    const job = { files: [COFFEE], modelId: model.id, format: 'png', outputDir: null, overwrite: false };
    await refused('job:upscale', { ...job, format: 'bmp' }, /format must be one of png, jpg, webp, tiff, avif/);
    await refused('job:upscale', { ...job, overwrite: 'yes' }, /overwrite must be true or false/);
    await refused('job:upscale', { ...job, outputDir: path.join(dir, 'missing') }, /does not exist/);
    const { jobId } = (await call('job:upscale', { ...job, outputDir: dir })) as { jobId: string };
    assert.equal(jobId, 'job-1');
    assert.deepEqual(engine.jobs.at(-1), { type: 'upscale', spec: { files: [COFFEE], modelPath: model.path, format: 'png', outputDir: dir, overwrite: false } });
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
    const imported = (await call('models:import', { path: path.join(dir, 'mine.safetensors') })) as { id: string; path: string; config: { scale: number } };
    assert.deepEqual([imported.id, imported.path, imported.config.scale], ['user:mine.safetensors', path.join(dir, 'models', 'mine.safetensors'), 3]);
    const same = (await call('models:import', { path: path.join(dir, 'mine.safetensors') })) as { id: string };
    assert.equal(same.id, 'user:mine.safetensors', 'the same bytes again are not copied twice');
    const list = (await call('models:list')) as Array<{ id: string; bundled: boolean; isDefault: boolean }>;
    assert.deepEqual(list.filter((m) => !m.bundled).map((m) => m.id), ['user:mine.safetensors', 'user:own.safetensors']);
    // The Upscale view starts with the model `sr-studio upscale` uses: the bundled TanhExp x2.
    assert.deepEqual(list.filter((m) => m.isDefault).map((m) => m.id), ['bundled:tanhexp_x2.safetensors']);
    await refused('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'mine.safetensors') }, /already exists/);
    await refused('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'x.bin') }, /must end in .safetensors or .onnx/);
    // .onnx exports the network as an ONNX model (the bytes `sr-studio export` writes).
    await call('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'own.onnx') });
    const own = await loadModelFile(path.join(dir, 'models', 'own.safetensors'));
    assert.deepEqual(new Uint8Array(await fs.readFile(path.join(dir, 'own.onnx'))), exportOnnx(own.config, own.weights, { training: own.training, producerVersion: VERSION }));
    await refused('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'own.onnx') }, /already exists/);
    await call('models:export', { modelId: 'user:own.safetensors', to: path.join(dir, 'copy.safetensors') });
    await fs.access(path.join(dir, 'copy.safetensors'));
  });

  test('settings are checked, saved atomically and read back; the backend goes to the engine', async () => {
    await refused('settings:set', { backend: 'cuda' }, /backend must be one of auto, tensorflow, webgpu, onnx, wasm, cpu/);
    await refused('settings:set', { outputDir: 'out' }, /outputDir must be an absolute path/);
    await refused('settings:set', { theme: 'dark' }, /does not take a field "theme"/);
    const s = await call('settings:set', { backend: 'wasm', outputDir: dir });
    assert.deepEqual(s, { ...host.context.settings.get(), backend: 'wasm', outputDir: dir });
    assert.equal(engine.backendChoice, 'wasm');
    const again = await SettingsStore.open(path.join(dir, 'data'));
    assert.equal(again.get().backend, 'wasm');
    assert.equal(again.get().outputDir, dir);
    assert.deepEqual((await fs.readdir(path.join(dir, 'data'))).filter((f) => f.endsWith('.tmp')), []);
  });

  test('uploads: browser mode only, plain image names only', async () => {
    const b64 = (await fs.readFile(COFFEE)).toString('base64');
    await refused('files:upload', { name: 'a.png', base64: b64 }, /only used in browser mode/);
    for (const name of ['../a.png', '../../etc/cron.d/x.png', 'sub/a.png', 'sub\\a.png', '..', '.', '.hidden.png', '', ' a.png', 'a\0.png', 'C:\\a.png']) {
      await refused('files:upload', { name, base64: b64 }, /plain file name|must not be empty|NUL|not allowed/, browser);
    }
    await refused('files:upload', { name: 'notes.txt', base64: b64 }, /neither an image/, browser);
    await refused('files:upload', { name: 'a.png', base64: 'not base64!' }, /not valid base64/, browser);
    await refused('files:upload', { name: 'a.png', base64: '' }, /empty/, browser);
    const entry = (await call('files:upload', { name: 'a.png', base64: b64 }, browser)) as { path: string };
    assert.equal(path.dirname(entry.path), path.join(dir, 'inbox'));
    assert.ok(browser.context.files.has(entry.path));
  });

  test('files, images and dialogs', async () => {
    const r = (await call('files:expand', { paths: [path.join(DATA, 'tiny'), path.join(dir, 'missing')] })) as { files: Array<{ name: string; bytes: number }>; problems: string[] };
    assert.deepEqual(r.files.map((f) => f.name), ['astronaut_128x128.png', 'chelsea_96x72.png', 'coffee_64x64.png', 'motorcycle_200x150.png']);
    assert.ok(r.files.every((f) => f.bytes > 0));
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /missing.*does not exist/);
    const thumb = (await call('image:thumbnail', { path: COFFEE, maxSide: 32 })) as { width: number; height: number; dataUrl: string };
    assert.deepEqual([thumb.width, thumb.height], [32, 32]);
    assert.match(thumb.dataUrl, /^data:image\/png;base64,/);
    assert.deepEqual(await call('dialog:open-images'), ['/x.png']);
    await refused('dialog:open-folder', { title: 7 }, /title must be text/);
  });
});
