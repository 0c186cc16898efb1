/**
 * Where browser mode's upscaled photos go and how they are found again: a results folder in the
 * data folder that the session may write to, a history of results kept across restarts (cleared
 * without deleting files), a typed output folder that is made when it is not there yet, named in
 * the app's words (never by its field's code name), and a file typed there said to be a file;
 * a photo that cannot be upscaled is known as soon as it is added, in the engine's sentence.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestResult } from '../../../main/api.ts';
import type { StudioServer } from '../../../main/server/server.ts';
import { isUserError } from '../../../ml/errors.ts';
import { COFFEE, StubEngine, tempDir } from '../helpers.ts';
import { call, startIn } from './studio.ts';

let dir = '';
let server: StudioServer;
const engine = new StubEngine();

/** Browser mode on the test's folder; again after `close`, a restart on the same data. */
const start = () => startIn(dir, { engine: engine.factory });

before(async () => {
  dir = await tempDir();
  server = await start();
});

after(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const upscale = (files: string[], outputDir: string | null) => ({
  files,
  model: 'bundled:tanhexp_photo_x2.safetensors',
  format: 'png',
  outputDir,
  overwrite: false,
});

describe('the output folder in plain words', () => {
  test('a folder no one may choose is refused once, in a sentence that names the folder, placed at "Output folder" (never its code name)', async () => {
    for (const channel of ['settings:set', 'job:upscale'] as const) {
      const arg =
        channel === 'settings:set'
          ? { outputDir: '/proc/sr-out' }
          : upscale([path.join(server.inbox, 'a.png')], '/proc/sr-out');
      await assert.rejects(call(server, channel, arg), (e: Error) => {
        assert.equal(e.message, 'SR Studio does not use "/proc/sr-out" in browser mode; choose a folder of your own.');
        assert.ok(isUserError(e) && e.data.code === 'bad-argument');
        assert.equal(e.data.facts.field, 'Output folder');
        return true;
      });
    }
  });

  test('a file typed as the output folder is said to be a file, also where no one may choose a folder', async () => {
    const own = path.join(dir, 'notes.txt');
    await fs.writeFile(own, 'not a folder\n');
    for (const file of ['/etc/hostname', own]) {
      await fs.access(file);
      await assert.rejects(call(server, 'settings:set', { outputDir: file }), (e: Error) => {
        assert.match(e.message, new RegExp(`^"${file.replace(/[.\\/]/g, '\\$&')}" is a file, not a folder`));
        return true;
      });
    }
  });
});

const results = async (s: StudioServer) => (await call(s, 'results:list')) as RequestResult<'results:list'>;
const done = (file: string, output: string) => ({
  jobId: 'job-1',
  file,
  output,
  width: 128,
  height: 128,
  result: { dataUrl: '', width: 0, height: 0 },
});
/** The results list of a server's page: the outputs with the names the photos were dropped with. */
const listed = async (s: StudioServer) =>
  (await results(s)).results.map((r) => [
    path.basename(r.output),
    r.name,
    r.input === null ? null : path.basename(r.input),
  ]);

describe('results a user can find', () => {
  test('the results folder lies in the data folder and the session may write there', async () => {
    const { folder } = await results(server);
    assert.equal(folder, path.join(dir, 'data', 'results'));
    assert.ok((await fs.stat(folder!)).isDirectory());
    assert.ok(
      server.access.admits(await fs.realpath(folder!), 'write'),
      'granted for writing, as the output folder is',
    );
  });

  test('each result is listed newest first, named as dropped; the list outlives a restart, and Clear forgets it but keeps the files', async () => {
    const folder = (await results(server)).folder!;
    const upload = path.join(server.inbox, 'coffee.png');
    await fs.copyFile(COFFEE, upload);
    const [a, b, gone] = ['coffee_x2.png', 'coffee_x2 (b).png', 'gone_x2.png'].map((n) => path.join(folder, n)) as [
      string,
      string,
      string,
    ];
    for (const f of [a, b, gone]) await fs.copyFile(COFFEE, f);
    engine.emit('job:file-done', done(upload, a));
    engine.emit('job:file-done', done(upload, gone));
    engine.emit('job:file-done', done(upload, b));
    await fs.rm(gone);
    assert.deepEqual(
      await listed(server),
      [
        ['coffee_x2 (b).png', 'coffee.png', 'coffee.png'],
        ['coffee_x2.png', 'coffee.png', 'coffee.png'],
      ],
      'a file removed since is left out',
    );
    engine.emit('job:file-done', done(upload, a));
    assert.deepEqual(
      (await listed(server)).map((r) => r[0]),
      ['coffee_x2.png', 'coffee_x2 (b).png'],
      'written again: at the top, once',
    );

    // A restart empties the inbox: the results stay listed, without their inputs, and downloadable.
    await server.close();
    server = await start();
    assert.deepEqual(await listed(server), [
      ['coffee_x2.png', 'coffee.png', null],
      ['coffee_x2 (b).png', 'coffee.png', null],
    ]);
    const file = await fetch(new URL(`/file?path=${encodeURIComponent(a)}&token=${server.token}`, server.url));
    assert.equal(file.status, 200, 'a listed result is served after the restart');
    assert.deepEqual(new Uint8Array(await file.arrayBuffer()), new Uint8Array(await fs.readFile(COFFEE)));
    await server.access.check(a, 'read', 'File');

    await call(server, 'results:clear');
    assert.deepEqual((await results(server)).results, []);
    for (const f of [a, b]) await fs.access(f);
    const after = await fetch(new URL(`/file?path=${encodeURIComponent(a)}&token=${server.token}`, server.url));
    assert.equal(after.status, 404, 'a forgotten result is no longer served');
    await server.close();
    server = await start();
    assert.deepEqual((await results(server)).results, [], 'forgotten across restarts too');
  });

  test('a missing output folder is made when the upscale starts, as the command line does; one no one may choose is not', async () => {
    const upload = path.join(server.inbox, 'photo.png');
    await fs.copyFile(COFFEE, upload);
    const out = path.join(dir, 'new', 'results here');
    await call(server, 'settings:set', { outputDir: out });
    assert.equal(server.host.context.settings.get().outputDir, out, 'saved while it is not there yet');
    await call(server, 'job:upscale', upscale([upload], out));
    assert.ok((await fs.stat(out)).isDirectory());
    assert.equal(engine.jobs.at(-1)?.type, 'upscale');
    await assert.rejects(call(server, 'job:upscale', upscale([upload], '/proc/sr-made')), /SR Studio does not use/);
    await assert.rejects(fs.stat('/proc/sr-made'));
    await call(server, 'settings:set', { outputDir: null });
  });
});

describe('a photo that cannot be upscaled is known when it is added', () => {
  test("image:check answers a photo's size, or the engine's sentence naming the file as it was dropped", async () => {
    const put = async (name: string, bytes: Uint8Array | string, dropped: string) => {
      const file = path.join(server.inbox, name);
      await fs.writeFile(file, bytes);
      server.host.context.files.add(file, dropped);
      return file;
    };
    const { default: sharp } = await import('sharp');
    const pixel = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const note = await put('note (2).png', 'This is a note, not a picture.\n', 'note.png');
    const tiny = await put('dot.png', pixel, 'dot.png');
    const empty = await put('empty.png', '', 'empty.png');
    const photo = await put('coffee.png', await fs.readFile(COFFEE), 'coffee.png');
    const check = (p: string) => call(server, 'image:check', { path: p });
    assert.deepEqual(await check(photo), { width: 64, height: 64 });
    await assert.rejects(
      check(note),
      (e: Error) => (
        assert.match(e.message, /^"note\.png" could not be read as an image \(it is not in a supported image format\)/),
        true
      ),
    );
    await assert.rejects(
      check(tiny),
      (e: Error) => (assert.equal(e.message, '"dot.png" is only 1×1 pixels; use an image at least 4×4 pixels.'), true),
    );
    await assert.rejects(
      check(empty),
      (e: Error) => (
        assert.equal(e.message, '"empty.png" is empty (0 bytes); re-export or re-download the image.'), true
      ),
    );
    await assert.rejects(check('/etc/hostname.png'), /outside the folders SR Studio may open/);
  });
});
