/**
 * Imported ONNX models in the app's requests: models:import takes an .onnx file (checked and probed,
 * copied with its record), models:list shows it with what the Models view says of it, and its id
 * reaches the upscale and compare jobs; training from it is refused. The engine is a stub here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImportProbe, ModelInfo, RequestChannel } from '../../../main/api.ts';
import { FolderAccess, guardFileAccess } from '../../../main/host/file-access.ts';
import { createHost, type Host } from '../../../main/host/host.ts';
import { failedReply } from '../../../main/host/router.ts';
import { requestError } from '../../../renderer/src/api/request-error.ts';
import { fieldOf, plainError } from '../../../renderer/src/lib/errors.ts';
import { COFFEE, DATA, StubEngine, tempDir } from '../helpers.ts';
import { rank3Model } from '../../helpers/onnx-models.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/onnx');
const SRVGG = path.join(FIXTURES, 'srvgg_x4_fp16.onnx');
const RRDB = path.join(FIXTURES, 'rrdb_x2_255.onnx');
const SWISH = path.join(FIXTURES, 'sr_studio_swish_x2.onnx');
let dir = '';
let host: Host;
/** Browser mode's host: files come through its upload inbox, and its own models folder. */
let browser: Host;
const engine = new StubEngine();

before(async () => {
  dir = await tempDir();
  const common = {
    appRoot: path.resolve(import.meta.dirname, '../../..'),
    dataDir: path.join(dir, 'data'),
    userModels: path.join(dir, 'models'),
    emit: () => undefined,
    dialogs: { openImages: async () => [], openFolder: async () => null },
    shell: { reveal: async () => undefined },
  };
  host = await createHost({ ...common, engine: engine.factory });
  const uploads = { dir: path.join(dir, 'inbox'), begin: () => ({ url: '/upload/1' }) };
  browser = await createHost({
    ...common,
    userModels: path.join(dir, 'browser-models'),
    engine: new StubEngine().factory,
    uploads,
  });
});
after(async () => {
  await host.close();
  await browser.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (channel: RequestChannel, arg?: unknown) =>
  (host.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);

test("an ONNX model is imported with what its probe found, listed, and runs where the app's models run, but is not trained", async () => {
  const m = (await call('models:import', { path: SRVGG })) as ModelInfo;
  const copy = path.join(dir, 'models', 'srvgg_x4_fp16.onnx');
  assert.equal(m.id, 'user:srvgg_x4_fp16.onnx');
  assert.equal(m.path, copy);
  assert.equal(m.config, undefined);
  assert.equal(m.parameters, 16704);
  // Its random weights keep a grey tile grey in either range: the probe cannot tell, and says so.
  assert.deepEqual(
    { ...m.imported, margin: 0 },
    {
      scale: 4,
      range: 1,
      dtype: 'float16',
      margin: 0,
      bytes: (await fs.stat(SRVGG)).size,
      source: SRVGG,
      producer: 'pytorch',
      rangeFrom: 'guess',
    },
  );
  assert.ok((await fs.stat(`${copy}.json`)).isFile(), 'its record is kept beside it');
  const again = (await call('models:import', { path: SRVGG })) as ModelInfo;
  assert.equal(again.id, m.id, 'the same bytes again are not copied twice');
  assert.deepEqual((await fs.readdir(path.join(dir, 'models'))).sort(), [
    'srvgg_x4_fp16.onnx',
    'srvgg_x4_fp16.onnx.json',
  ]);

  const list = (await call('models:list')) as ModelInfo[];
  const listed = list.find((x) => x.id === m.id);
  assert.deepEqual(listed?.imported, m.imported);

  await call('job:upscale', { files: [COFFEE], model: m.id, format: 'png', outputDir: dir, overwrite: false });
  assert.deepEqual(engine.jobs.at(-1), {
    type: 'upscale',
    spec: {
      files: [COFFEE],
      model: copy,
      format: 'png',
      outputDir: dir,
      overwrite: false,
      imported: { [copy]: { range: 1, margin: m.imported!.margin } },
    },
  });

  await call('job:compare-models', {
    modelA: m.id,
    modelB: 'bundled:tanhexp_x4.safetensors',
    image: COFFEE,
    groundTruth: true,
  });
  const cmp = engine.jobs.at(-1) as { type: string; spec: { modelA: string; modelB: string } };
  assert.deepEqual(
    [cmp.type, cmp.spec.modelA, path.basename(cmp.spec.modelB)],
    ['compare-models', copy, 'tanhexp_x4.safetensors'],
  );

  await assert.rejects(
    call('job:train', {
      data: DATA,
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 10,
      run: { kind: 'new', parent: null },
      init: m.id,
    }),
    /srvgg_x4_fp16" is an imported ONNX model, which SR Studio can run but not train or fine-tune/,
  );
  await assert.rejects(
    call('models:download', { modelId: m.id, format: 'safetensors' }),
    /Downloads are for browser mode/,
  );
  await assert.rejects(
    call('models:export', { modelId: m.id, to: path.join(dir, 'out.safetensors') }),
    /is an imported ONNX model; it can be saved only as \.onnx\./,
  );
  await call('models:export', { modelId: m.id, to: path.join(dir, 'out.onnx') });
  assert.deepEqual(await fs.readFile(path.join(dir, 'out.onnx')), await fs.readFile(SRVGG));
});

test('an ONNX model dropped in the browser is imported from the name it was dropped with, not from the upload folder', async () => {
  // A second file dropped as rrdb_x2_255.onnx waits in the inbox as "rrdb_x2_255 (2).onnx".
  const inbox = path.join(dir, 'inbox');
  const upload = path.join(inbox, 'rrdb_x2_255 (2).onnx');
  await fs.mkdir(inbox, { recursive: true });
  await fs.copyFile(RRDB, upload);
  browser.context.files.add(upload, 'rrdb_x2_255.onnx');
  const m = await (browser.handlers['models:import'] as (a: unknown) => Promise<ModelInfo>)({ path: upload });
  assert.equal(m.imported?.source, 'rrdb_x2_255.onnx');
  const record = JSON.parse(await fs.readFile(`${m.path}.json`, 'utf8')) as { source: string };
  assert.equal(record.source, 'rrdb_x2_255.onnx', 'its record says so too');
  const listed = ((await browser.handlers['models:list'](undefined)) as ModelInfo[]).find((x) => x.id === m.id);
  assert.equal(listed?.imported?.source, 'rrdb_x2_255.onnx');
  assert.ok(!JSON.stringify(listed).includes(inbox), 'the upload folder is named nowhere');
});

test("browser mode's refusals of a typed model path are plain sentences that name the file and say what to do, with no field label before them", async () => {
  const inbox = path.join(dir, 'inbox');
  await fs.mkdir(inbox, { recursive: true });
  const models = browser.context.models;
  await fs.mkdir(models.user, { recursive: true });
  // What browser mode grants from the start: the upload inbox and the models folders.
  const access = new FolderAccess();
  for (const folder of [inbox, models.user]) await access.allow(folder, 'write');
  await access.allow(models.bundled, 'read');
  const guarded = guardFileAccess(browser.handlers, access);
  /** The failure as the page gets it (the router's reply), and the toast's text it becomes there. */
  const refusal = async (channel: RequestChannel, arg: unknown) => {
    const reply = await (guarded[channel] as (a: unknown) => Promise<unknown>)(arg).then(
      () => assert.fail(`${channel} was refused`),
      (e: unknown) => failedReply(e),
    );
    return { reply, toast: plainError(requestError(reply)) };
  };
  const outside = path.join(dir, 'elsewhere', 'upscaler.onnx');
  for (const channel of ['models:probe', 'models:import'] as const) {
    const { reply, toast } = await refusal(channel, { path: outside });
    assert.equal(toast, reply.error);
    assert.ok(toast.startsWith(`${JSON.stringify(outside)} is outside the folders SR Studio may open`), toast);
    assert.match(toast, /; drop the file onto the window instead\.$/);
    // The field it is about is still there, as a fact, for the page to place it by.
    assert.deepEqual([reply.code, fieldOf(requestError(reply))], ['bad-argument', 'File']);
  }
  // Nor does any other refusal of these fields start with one: a file not there, or a place not to write to.
  const others = [
    await refusal('models:probe', { path: path.join(inbox, 'missing.onnx') }),
    await refusal('models:export', { modelId: 'bundled:swish_x2.safetensors', to: path.join(dir, 'out', 'm.onnx') }),
    await refusal('models:export', { modelId: 'user:gone.onnx', to: path.join(inbox, 'm.onnx') }),
  ];
  assert.deepEqual(
    others.map((o) =>
      o.toast
        .replace(/"[^"]*"/g, 'PATH')
        .split(/[;(]/)[0]!
        .trim(),
    ),
    [
      'PATH does not exist',
      'PATH is outside the folders SR Studio may write to in browser mode',
      'The model PATH is not installed',
    ],
  );
  for (const { toast } of others) assert.doesNotMatch(toast, /^[\w .[\]]+: /, toast);
  // A relative path typed into the import field is refused by the name the page gives that field.
  for (const channel of ['models:probe', 'models:import'] as const) {
    const { reply, toast } = await refusal(channel, { path: 'upscaler.onnx' });
    assert.equal(toast, 'File must be an absolute path, not "upscaler.onnx".');
    assert.equal(fieldOf(requestError(reply)), 'File');
  }
});

test('an ONNX file that cannot be an SR model is refused in one sentence and nothing is copied', async () => {
  const bad = path.join(dir, 'flat.onnx');
  await fs.writeFile(bad, rank3Model());
  await assert.rejects(call('models:import', { path: bad }), (e: Error) => {
    assert.match(
      e.message,
      /^".*flat\.onnx" cannot be used as a super-resolution model \(its input has 3 dimensions, not 4 \(batch, RGB, height, width\)\); choose an ONNX model that takes one RGB image and gives one\.$/,
    );
    return true;
  });
  assert.ok(!(await fs.readdir(path.join(dir, 'models'))).includes('flat.onnx'));
});

test('models:probe shows what an import would find, without importing: scale, range and where it came from, margin and how much fits', async () => {
  const before = await fs.readdir(path.join(dir, 'models'));
  const srvgg = (await call('models:probe', { path: SRVGG })) as ImportProbe;
  assert.deepEqual(
    { ...srvgg, margin: 0 },
    {
      name: 'srvgg_x4_fp16',
      scale: 4,
      range: 1,
      rangeFrom: 'guess',
      margin: 0,
      marginFound: true,
      maxMargin: 512,
      fixedSize: null,
      dtype: 'float16',
      parameters: 16704,
      bytes: (await fs.stat(SRVGG)).size,
      producer: 'pytorch',
    },
  );
  const rrdb = (await call('models:probe', { path: RRDB })) as ImportProbe;
  assert.deepEqual(
    [rrdb.scale, rrdb.range, rrdb.rangeFrom, rrdb.fixedSize, rrdb.maxMargin],
    [2, 255, 'probe', { width: 64, height: 64 }, 28],
  );
  const swish = (await call('models:probe', { path: SWISH })) as ImportProbe;
  assert.deepEqual([swish.scale, swish.range, swish.rangeFrom], [2, 1, 'metadata']);
  assert.deepEqual(await fs.readdir(path.join(dir, 'models')), before, 'nothing is copied');
  await assert.rejects(call('models:probe', { path: path.join(dir, 'missing.onnx') }), /does not exist/);
});

test('a range and margin chosen at import, or changed later, are kept with the model and reach every upscale and comparison', async () => {
  const m = (await call('models:import', { path: RRDB, range: 255, margin: 20 })) as ModelInfo;
  const copy = path.join(dir, 'models', 'rrdb_x2_255.onnx');
  assert.deepEqual(
    [m.imported?.range, m.imported?.rangeFrom, m.imported?.margin, m.imported?.marginGiven],
    [255, 'given', 20, true],
  );
  const side = JSON.parse(await fs.readFile(`${copy}.json`, 'utf8')) as { range: number; margin: number };
  assert.deepEqual([side.range, side.margin], [255, 20]);
  await call('job:upscale', { files: [COFFEE], model: m.id, format: 'png', outputDir: dir, overwrite: false });
  assert.deepEqual((engine.jobs.at(-1) as { spec: { imported?: unknown } }).spec.imported, {
    [copy]: { range: 255, margin: 20 },
  });

  const changed = (await call('models:adjust', { modelId: m.id, range: 1, margin: 12 })) as ModelInfo;
  assert.deepEqual([changed.imported?.range, changed.imported?.rangeFrom, changed.imported?.margin], [1, 'given', 12]);
  const listed = ((await call('models:list')) as ModelInfo[]).find((x) => x.id === m.id);
  assert.deepEqual([listed?.imported?.range, listed?.imported?.margin], [1, 12]);
  await call('job:upscale', { files: [COFFEE], model: m.id, format: 'png', outputDir: dir, overwrite: false });
  assert.deepEqual((engine.jobs.at(-1) as { spec: { imported?: unknown } }).spec.imported, {
    [copy]: { range: 1, margin: 12 },
  });
  await call('job:compare-models', {
    modelA: m.id,
    modelB: 'bundled:swish_x2.safetensors',
    image: COFFEE,
    groundTruth: false,
  });
  assert.deepEqual((engine.jobs.at(-1) as { spec: { imported?: unknown } }).spec.imported, {
    [copy]: { range: 1, margin: 12 },
  });

  await assert.rejects(
    call('models:adjust', { modelId: m.id, range: 1, margin: 40 }),
    /takes a fixed 64×64 input, which leaves no room for a margin of 40; use --overlap 28 or less\./,
  );
  await assert.rejects(
    call('models:adjust', { modelId: m.id, range: 100, margin: 8 }),
    /range must be one of 1, 255, not 100\./,
  );
  await assert.rejects(
    call('models:adjust', { modelId: m.id, range: 1 }),
    /models:adjust needs both range \(1 or 255\) and margin/,
  );
  await assert.rejects(
    call('models:adjust', { modelId: 'bundled:swish_x2.safetensors', range: 1, margin: 8 }),
    /swish_x2 is one of SR Studio's own models; only imported ONNX models take a range and tile margin\./,
  );
  await assert.rejects(
    call('models:import', {
      path: path.resolve(import.meta.dirname, '../../../assets/models/swish_x2.safetensors'),
      range: 255,
    }),
    /range and margin are for ONNX models/,
  );
});

test("feature maps refuse an imported model in one sentence: they are only for SR Studio's own networks", async () => {
  const m = (await call('models:import', { path: SRVGG })) as ModelInfo;
  await assert.rejects(
    call('features:maps', { models: ['bundled:swish_x2.safetensors', m.id], image: COFFEE, layer: 0 }),
    (e: Error) => {
      assert.equal(
        e.message,
        "srvgg_x4_fp16 is an imported ONNX model; feature maps are shown only for SR Studio's own networks, so choose one of those as Model B.",
      );
      return true;
    },
  );
});
