/**
 * Browser mode's file access policy, through the handlers as the socket reaches them: a path
 * outside the folders the user chose is refused with the same sentence whether it exists or not,
 * symlinks lead nowhere outside, writes (models:export included) only go into writable folders,
 * typing a folder in the UI grants it, and the disk's root and system folders can never be chosen.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestChannel } from '../../../main/api.ts';
import type { TrainSpec } from '../../../main/engine/protocol.ts';
import { failedReply } from '../../../main/host/router.ts';
import { COFFEE, DATA, StubEngine } from '../helpers.ts';
import { compareRequest, serverSuite, startIn } from './studio.ts';

let outside = '';
const engine = new StubEngine();
const suite = serverSuite(
  { engine: engine.factory },
  {
    async prepare(dir) {
      outside = path.join(dir, 'outside');
      await fs.mkdir(outside);
      await fs.copyFile(COFFEE, path.join(outside, 'photo.png'));
      await fs.writeFile(path.join(outside, 'secret.txt'), 'secret');
    },
  },
);
const { call } = suite;

/** The refusal's text with the path taken out, so two refusals can be compared. */
async function refusal(channel: RequestChannel, arg: unknown, p: string): Promise<string> {
  try {
    await call(channel, arg);
  } catch (e) {
    const m = (e as Error).message;
    assert.doesNotMatch(m, /\n/);
    assert.match(m, /[.!?]$/);
    assert.ok(m.includes(JSON.stringify(path.resolve(p))), m);
    return m.replace(JSON.stringify(path.resolve(p)), 'PATH');
  }
  assert.fail(`${channel} ${JSON.stringify(arg)} was not refused`);
}

/** Every channel that reads a path the request names, with that path in place. */
const READS: Array<[RequestChannel, (p: string) => unknown]> = [
  ['files:expand', (p) => ({ paths: [p] })],
  ['image:load', (p) => ({ path: p })],
  ['image:thumbnail', (p) => ({ path: p, maxSide: 32 })],
  ['shell:reveal', (p) => ({ path: p })],
  ['models:import', (p) => ({ path: p })],
  [
    'features:maps',
    (p) => ({ models: ['bundled:tanhexp_x2.safetensors', 'bundled:swish_x2.safetensors'], image: p, layer: 0 }),
  ],
  [
    'job:compare-models',
    (p) => ({ modelA: 'bundled:tanhexp_x2.safetensors', modelB: 'bundled:swish_x2.safetensors', image: p }),
  ],
  [
    'job:upscale',
    (p) => ({ files: [p], model: 'bundled:tanhexp_x2.safetensors', format: 'png', outputDir: null, overwrite: false }),
  ],
];

describe('least authority in browser mode', () => {
  test('outside the chosen folders: one refusal, the same whether the file exists or not', async () => {
    const pairs: Array<[string, string]> = [
      ['/etc/shadow', '/etc/no-such-file'],
      ['/etc/passwd', '/etc/no-such-folder/x.png'],
      [path.join(outside, 'photo.png'), path.join(outside, 'missing.png')],
      [COFFEE, path.join(DATA, 'tiny', 'missing.png')],
      [outside, path.join(suite.dir, 'no-such-folder')],
    ];
    for (const [channel, arg] of READS) {
      for (const [there, missing] of pairs) {
        const a = await refusal(channel, arg(there), there);
        const b = await refusal(channel, arg(missing), missing);
        assert.equal(a, b, `${channel}: ${there} vs ${missing}`);
        assert.match(a, /is outside the folders SR Studio may open in browser mode/);
      }
    }
    assert.equal(engine.jobs.length, 0, 'nothing reached the engine');
  });

  test('symlinks inside a chosen folder lead nowhere outside it', async () => {
    const inbox = suite.server.inbox;
    await fs.symlink(path.join(outside, 'photo.png'), path.join(inbox, 'link.png'));
    await fs.symlink(path.join(outside, 'gone.png'), path.join(inbox, 'dangling.png'));
    await fs.symlink(outside, path.join(inbox, 'escape'));
    await fs.symlink('/etc', path.join(inbox, 'etc'));
    for (const [channel, arg] of READS) {
      const link = await refusal(channel, arg(path.join(inbox, 'link.png')), path.join(inbox, 'link.png'));
      const dangling = await refusal(channel, arg(path.join(inbox, 'dangling.png')), path.join(inbox, 'dangling.png'));
      assert.equal(link, dangling, channel);
      const viaFolder = await refusal(
        channel,
        arg(path.join(inbox, 'escape', 'photo.png')),
        path.join(inbox, 'escape', 'photo.png'),
      );
      const viaFolderMissing = await refusal(
        channel,
        arg(path.join(inbox, 'escape', 'missing.png')),
        path.join(inbox, 'escape', 'missing.png'),
      );
      assert.equal(viaFolder, viaFolderMissing, channel);
      await refusal(channel, arg(path.join(inbox, 'etc', 'shadow')), path.join(inbox, 'etc', 'shadow'));
    }
    // A real file in the inbox is fine; expanding the inbox lists it but never follows the links.
    await fs.copyFile(COFFEE, path.join(inbox, 'real.png'));
    const thumb = (await call('image:thumbnail', { path: path.join(inbox, 'real.png'), maxSide: 16 })) as {
      width: number;
    };
    assert.equal(thumb.width, 16);
    const listed = (await call('files:expand', { paths: [inbox] })) as { files: Array<{ name: string }> };
    assert.deepEqual(
      listed.files.map((f) => f.name),
      ['real.png'],
    );
  });

  test('models:export and other writes: only into writable folders, never through a symlink', async () => {
    const model = 'bundled:tanhexp_x2.safetensors';
    const out = path.join(suite.dir, 'exports');
    await fs.mkdir(out);
    const outside1 = await refusal(
      'models:export',
      { modelId: model, to: path.join(outside, 'm.safetensors') },
      path.join(outside, 'm.safetensors'),
    );
    const outside2 = await refusal('models:export', { modelId: model, to: '/etc/m.safetensors' }, '/etc/m.safetensors');
    assert.equal(outside1, outside2);
    assert.match(outside1, /is outside the folders SR Studio may write to in browser mode/);
    // The output folder typed in Settings becomes writable; a symlink in it to elsewhere does not.
    await call('settings:set', { outputDir: out });
    await call('models:export', { modelId: model, to: path.join(out, 'm.safetensors') });
    await fs.access(path.join(out, 'm.safetensors'));
    await fs.symlink(outside, path.join(out, 'link'));
    await fs.symlink('/etc', path.join(out, 'etc'));
    await refusal(
      'models:export',
      { modelId: model, to: path.join(out, 'link', 'm.safetensors') },
      path.join(out, 'link', 'm.safetensors'),
    );
    await refusal(
      'models:export',
      { modelId: model, to: path.join(out, 'etc', 'm.safetensors') },
      path.join(out, 'etc', 'm.safetensors'),
    );
    assert.deepEqual(await fs.readdir(outside), ['photo.png', 'secret.txt'], 'nothing was written outside');
    // A folder chosen for reading (training photos) is not a place to write.
    const train = path.join(suite.dir, 'train-photos');
    await fs.mkdir(train);
    await fs.copyFile(COFFEE, path.join(train, 'a.png'));
    await call('job:train', {
      data: train,
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 10,
      run: { kind: 'new', parent: null },
    });
    await refusal(
      'models:export',
      { modelId: model, to: path.join(train, 'm.safetensors') },
      path.join(train, 'm.safetensors'),
    );
    await call('settings:set', { outputDir: null });
  });

  test('a run to continue is written to: one outside is refused at the Run folder; one in the runs folder goes on', async () => {
    const photos = path.join(suite.dir, 'continue-photos');
    await fs.mkdir(photos);
    await fs.copyFile(COFFEE, path.join(photos, 'a.png'));
    const train = { data: photos, val: null, preset: 'tiny', scale: 2, activation: 'tanhexp', iterations: 10 };
    const before = engine.jobs.length;
    for (const p of [outside, path.join(outside, 'no-such-run')]) {
      const failure = await call('job:train', { ...train, run: { kind: 'continue', dir: p } }).then(
        () => assert.fail(`${p} was continued`),
        (e: unknown) => failedReply(e),
      );
      assert.match(failure.error, /is outside the folders SR Studio may write to in browser mode/);
      assert.equal((failure.facts as { field?: string }).field, 'Run folder');
    }
    assert.equal(engine.jobs.length, before, 'nothing reached the engine');
    const earlier = path.join(suite.dir, 'data', 'runs', 'tiny_x2_earlier');
    await fs.mkdir(earlier, { recursive: true });
    await call('job:train', { ...train, run: { kind: 'continue', dir: earlier } });
    assert.deepEqual((engine.jobs.at(-1)!.spec as TrainSpec).run, { kind: 'continue', dir: earlier });
  });

  test('folders typed in the UI are granted for their purpose once the request succeeds', async () => {
    const tiny = path.join(DATA, 'tiny');
    const photo = path.join(tiny, 'coffee_64x64.png');
    await refusal('image:load', { path: photo }, photo);
    // A request that fails grants nothing.
    await assert.rejects(
      call('job:train', {
        data: tiny,
        val: null,
        preset: 'huge',
        scale: 2,
        activation: 'tanhexp',
        iterations: 10,
        run: { kind: 'new', parent: null },
      }),
      /preset must be one of/,
    );
    await refusal('image:load', { path: photo }, photo);
    const before = engine.jobs.length;
    await call('job:train', {
      data: tiny,
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 10,
      run: { kind: 'new', parent: null },
    });
    assert.equal(engine.jobs.length, before + 1);
    const img = (await call('image:load', { path: photo })) as { width: number };
    assert.equal(img.width, 64);
    // Upscaling needs somewhere to write: next to inputs in a reading-only folder it is refused…
    const job = {
      files: [photo],
      model: 'bundled:tanhexp_x2.safetensors',
      format: 'png',
      outputDir: null,
      overwrite: false,
    };
    await assert.rejects(call('job:upscale', job), /no output folder is set.*choose an output folder in Settings\.$/);
    // …and with an output folder named in the request it starts (and that folder is now writable).
    const out = path.join(suite.dir, 'upscaled');
    await fs.mkdir(out);
    await call('job:upscale', { ...job, outputDir: out });
    await call('models:export', { modelId: 'bundled:tanhexp_x2.safetensors', to: path.join(out, 'x.safetensors') });
    // Uploads in the inbox are upscaled beside themselves.
    await fs.copyFile(COFFEE, path.join(suite.server.inbox, 'dropped.png'));
    await call('job:upscale', { ...job, files: [path.join(suite.server.inbox, 'dropped.png')] });
  });

  test('with an output folder saved, an upscale that names none still writes next to its inputs, so a reading-only folder is refused', async () => {
    const photos = path.join(suite.dir, 'read-only-photos');
    await fs.mkdir(photos);
    await fs.copyFile(COFFEE, path.join(photos, 'a.png'));
    await fs.copyFile(COFFEE, path.join(photos, 'b.png'));
    await call('job:train', {
      data: photos,
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 10,
      run: { kind: 'new', parent: null },
    });
    const out = path.join(suite.dir, 'saved-output');
    await fs.mkdir(out);
    await call('settings:set', { outputDir: out });
    try {
      const before = engine.jobs.length;
      const files = [path.join(photos, 'a.png'), path.join(photos, 'b.png')];
      const job = { files, model: 'bundled:tanhexp_x2.safetensors', format: 'png', outputDir: null, overwrite: false };
      await assert.rejects(call('job:upscale', job), (e: Error) => {
        assert.match(
          e.message,
          /no output folder is set, and SR Studio may not write to .* in browser mode; choose an output folder in Settings\.$/,
        );
        assert.ok(e.message.includes(JSON.stringify(photos)), e.message);
        return true;
      });
      assert.equal(engine.jobs.length, before, 'nothing reached the engine');
      // Naming the saved folder in the request is how its results go there.
      await call('job:upscale', { ...job, outputDir: out });
      assert.equal(engine.jobs.length, before + 1);
    } finally {
      await call('settings:set', { outputDir: null });
    }
  });

  test("the disk's root and system folders can never be chosen, also not through a symlink", async () => {
    const own = path.join(suite.dir, 'own');
    await fs.mkdir(own);
    await fs.symlink('/etc', path.join(own, 'etc-link'));
    const train = {
      val: null,
      preset: 'tiny',
      scale: 2,
      activation: 'tanhexp',
      iterations: 10,
      run: { kind: 'new', parent: null },
    };
    for (const p of ['/', '/etc', '/etc/ssh', '/proc', '/sys/kernel', '/dev', '/usr/lib', path.join(own, 'etc-link')]) {
      await assert.rejects(call('settings:set', { outputDir: p }), (e: Error) =>
        /SR Studio does not use .* in browser mode; choose a folder of your own\.$/.test(e.message),
      );
      await assert.rejects(call('job:train', { ...train, data: p }), /SR Studio does not use/);
      await assert.rejects(call('job:compare', compareRequest(p)), /SR Studio does not use/);
    }
    await refusal('files:expand', { paths: ['/etc/passwd'] }, '/etc/passwd');
    assert.equal(suite.server.host.context.settings.get().outputDir, null);
  });

  test('an output folder saved in the settings is writable in the next session', async () => {
    const out = path.join(suite.dir, 'saved-out');
    await fs.mkdir(out);
    await call('settings:set', { outputDir: out });
    const next = await startIn(suite.dir);
    try {
      await (next.handlers['models:export'] as (a: unknown) => Promise<unknown>)({
        modelId: 'bundled:swish_x2.safetensors',
        to: path.join(out, 's.safetensors'),
      });
      await fs.access(path.join(out, 's.safetensors'));
      const photo = path.join(DATA, 'tiny', 'coffee_64x64.png');
      await assert.rejects(
        (next.handlers['image:load'] as (a: unknown) => Promise<unknown>)({ path: photo }),
        /is outside the folders/,
        'the last session’s other grants are gone',
      );
    } finally {
      await next.close();
      await call('settings:set', { outputDir: null });
    }
  });
});
