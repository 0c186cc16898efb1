/**
 * Browser mode grants only what a person would: no system or top-level folder, not the home
 * folder itself, never the app's own folder for writing, and nothing for a job that fails.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FolderAccess, type ChannelRules } from '../../../main/host/file-access.ts';
import { COFFEE, StubEngine } from '../helpers.ts';
import { APP_ROOT as APP, compareRequest, serverSuite, startIn } from './studio.ts';

const engine = new StubEngine();
const suite = serverSuite({ engine: engine.factory });
const { call } = suite;
const train = (data: string) => ({
  data,
  val: null,
  preset: 'tiny',
  scale: 2,
  activation: 'tanhexp',
  iterations: 10,
  run: { kind: 'new', parent: null },
});
const notUsed = (e: Error) =>
  /SR Studio does not use .* in browser mode; choose a folder of your own\.$/.test(e.message);

/** A folder with one photo in it. */
async function photos(name: string): Promise<{ folder: string; photo: string }> {
  const folder = path.join(suite.dir, name);
  await fs.mkdir(folder);
  await fs.copyFile(COFFEE, path.join(folder, 'a.png'));
  return { folder, photo: path.join(folder, 'a.png') };
}

describe('grants a person would give', () => {
  test("the policy names each path field by its channel argument's type", () => {
    const rules: ChannelRules = { 'models:export': { write: ['to'] }, 'job:train': { choose: { data: 'read' } } };
    // @ts-expect-error models:export has no field "dest": a renamed field is a type error.
    const renamed: ChannelRules = { 'models:export': { write: ['dest'] } };
    // @ts-expect-error job:compare has no field "folder".
    const unknown: ChannelRules = { 'job:compare': { choose: { folder: 'read' } } };
    // @ts-expect-error "layer" holds a number, not a path.
    const notAPath: ChannelRules = { 'features:maps': { read: ['layer'] } };
    assert.ok(rules && renamed && unknown && notAPath);
  });

  test('system and top-level folders, the home and temp folders themselves are never chosen', async () => {
    const folders = [
      '/',
      '/root',
      '/var',
      '/var/log',
      '/var/tmp/x',
      '/opt',
      '/home',
      '/home/someone',
      '/tmp',
      '/srv',
      '/mnt',
      '/media',
      '/etc',
      '/usr/lib',
      os.homedir(),
      os.tmpdir(),
    ];
    for (const p of folders) {
      await assert.rejects(call('settings:set', { outputDir: p }), notUsed, p);
      await assert.rejects(call('job:train', train(p)), notUsed, p);
      await assert.rejects(call('job:compare', compareRequest(p)), notUsed, p);
    }
    assert.equal(suite.server.host.context.settings.get().outputDir, null);
    // A folder of one's own inside the temp folder is fine.
    const own = path.join(suite.dir, 'own');
    await fs.mkdir(own);
    await call('settings:set', { outputDir: own });
    await call('settings:set', { outputDir: null });
  });

  test("the app's own folder is never written, also not through a folder chosen around it", async () => {
    for (const p of [APP, path.join(APP, 'assets'), path.join(APP, 'assets', 'models')]) {
      await assert.rejects(call('settings:set', { outputDir: p }), notUsed, p);
      await assert.rejects(
        call('job:train', { ...train(path.join(suite.dir)), run: { kind: 'new', parent: p } }),
        notUsed,
        p,
      );
    }
    await assert.rejects(
      call('models:export', {
        modelId: 'bundled:swish_x2.safetensors',
        to: path.join(APP, 'assets', 'models', 'x.safetensors'),
      }),
      /outside the folders SR Studio may write to/,
    );
    await fs.access(path.join(APP, 'assets', 'models', 'x.safetensors')).then(
      () => assert.fail('written into the app'),
      () => undefined,
    );
    // A folder around the app's own, as a policy would see it: writable except the app's folder.
    const root = path.join(suite.dir, 'around');
    const app = path.join(root, 'app');
    await fs.mkdir(path.join(app, 'assets', 'models'), { recursive: true });
    const access = new FolderAccess(app);
    await access.allow(root, 'write');
    await access.check(path.join(root, 'elsewhere', 'x.safetensors'), 'write', 'to');
    await assert.rejects(
      access.check(path.join(app, 'assets', 'models', 'x.safetensors'), 'write', 'to'),
      /outside the folders SR Studio may write to/,
    );
    await access.check(path.join(app, 'assets', 'models', 'x.safetensors'), 'read', 'path');
  });

  test('a job that fails grants nothing; one that ends well keeps its folders', async () => {
    const failing = await photos('failing');
    const { jobId } = (await call('job:train', train(failing.folder))) as { jobId: string };
    engine.emit('job:error', { jobId, message: 'No usable training images.' });
    await new Promise((r) => setImmediate(r));
    await assert.rejects(call('image:load', { path: failing.photo }), /is outside the folders SR Studio may open/);
    assert.ok(!suite.server.access.folders.some((f) => f.path === failing.folder), 'no grant left');

    // Failing right away, before the request has answered, grants nothing either.
    const early = await photos('early');
    const start = engine.startJob.bind(engine);
    engine.startJob = (job) => {
      const id = start(job);
      queueMicrotask(() => engine.emit('job:error', { jobId: id, message: 'No usable training images.' }));
      return id;
    };
    try {
      await call('job:train', train(early.folder));
    } finally {
      engine.startJob = start;
    }
    await new Promise((r) => setImmediate(r));
    await assert.rejects(call('image:load', { path: early.photo }), /is outside the folders SR Studio may open/);

    const good = await photos('good');
    const done = (await call('job:train', train(good.folder))) as { jobId: string };
    engine.emit('job:done', { jobId: done.jobId, summary: 'Done.', result: { kind: 'cancelled' } });
    await new Promise((r) => setImmediate(r));
    assert.equal(((await call('image:load', { path: good.photo })) as { width: number }).width, 64);

    // A folder granted otherwise (the output folder) stays when a job naming it fails.
    const shared = await photos('shared');
    await call('settings:set', { outputDir: shared.folder });
    try {
      const failed = (await call('job:train', train(shared.folder))) as { jobId: string };
      engine.emit('job:error', { jobId: failed.jobId, message: 'No usable training images.' });
      await new Promise((r) => setImmediate(r));
      assert.equal(((await call('image:load', { path: shared.photo })) as { width: number }).width, 64);
    } finally {
      await call('settings:set', { outputDir: null });
    }
  });

  test('a saved output folder no one may choose (from an earlier version) is not granted at start, and is reset once with why', async () => {
    const data = path.join(suite.dir, 'data-saved');
    await fs.mkdir(data);
    await fs.writeFile(path.join(data, 'settings.json'), JSON.stringify({ outputDir: '/root' }));
    const start = async () => {
      const lines: string[] = [];
      const s = await startIn(suite.dir, { dataDir: data, log: (l) => lines.push(l) });
      return { s, lines };
    };
    const first = await start();
    try {
      assert.ok(!first.s.access.admits('/root/x.png', 'write'), '/root is not writable');
      assert.ok(!first.s.access.folders.some((f) => f.path === '/root'), 'no grant of /root');
      assert.equal(first.s.host.context.settings.get().outputDir, null);
      assert.deepEqual(
        first.lines.filter((l) => /output folder/.test(l)),
        [
          `SR Studio: the saved output folder "/root" was reset, because browser mode never writes to the disk's root, system and top-level folders, the home folder itself or the app's own folder; choose a folder of your own in Settings.`,
        ],
      );
    } finally {
      await first.s.close();
    }
    assert.equal(
      (JSON.parse(await fs.readFile(path.join(data, 'settings.json'), 'utf8')) as { outputDir: unknown }).outputDir,
      null,
    );
    const second = await start();
    await second.s.close();
    assert.deepEqual(
      second.lines.filter((l) => /output folder/.test(l)),
      [],
      'said once',
    );
    // A saved folder of one's own is granted as before.
    const own = await photos('saved-own');
    await fs.writeFile(path.join(data, 'settings.json'), JSON.stringify({ outputDir: own.folder }));
    const third = await start();
    try {
      assert.ok(third.s.access.admits(path.join(own.folder, 'x.png'), 'write'));
      assert.equal(third.s.host.context.settings.get().outputDir, own.folder);
    } finally {
      await third.s.close();
    }
  });
});
