/**
 * Browser mode's jobs read and write through what the request opened and checked, on the real
 * engine: while another thread keeps swapping an input (or the folder results go to) between the
 * real one and a symlink leading outside, no upscale reads the outside photo and none writes
 * outside; the files held for a job are let go when it ends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { RequestChannel, ServerMessage } from '../../../main/api.ts';
import { heldCount } from '../../../main/host/held.ts';
import { startServer, type StudioServer } from '../../../main/server/server.ts';
import { COFFEE, MOTORCYCLE, tempDir, tinyModel } from '../helpers.ts';
import { race, swapper } from './swap.ts';

/** Jobs per race (four under way at once), and the most time they may take. */
const LIMITS = { rounds: 120, maxMs: 20_000, atOnce: 4 };
/** The engine reads a moment after the request was checked: the outside state holds as long as the inside one. */
const TIMES = { insideMs: 1, outsideMs: 1 };

let dir = '';
let outside = '';
let server: StudioServer;
let ws: WebSocket;
const events: Array<Extract<ServerMessage, { event: string }>> = [];

before(async () => {
  dir = await tempDir();
  outside = path.join(dir, 'outside');
  await fs.mkdir(outside);
  await tinyModel(path.join(dir, 'models', 'tiny.safetensors'));
  server = await startServer({ appRoot: path.resolve(import.meta.dirname, '../../..'), dataDir: path.join(dir, 'data'), userModels: path.join(dir, 'models'), backend: 'wasm', previewIntervalMs: 1000, log: () => undefined });
  ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as ServerMessage;
    if ('event' in m) events.push(m);
  });
});

after(async () => {
  ws.close();
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (channel: RequestChannel, arg?: unknown) => (server.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);

/** The job's end, and the widths of the files it upscaled. */
async function ended(jobId: string): Promise<{ widths: number[]; failed: boolean }> {
  for (let i = 0; i < 6000; i++) {
    const mine = events.filter((e) => (e.payload as { jobId?: string }).jobId === jobId);
    const end = mine.find((e) => e.event === 'job:done' || e.event === 'job:error');
    if (end) return { widths: mine.filter((e) => e.event === 'job:file-done').map((e) => (e.payload as { width: number }).width), failed: end.event === 'job:error' };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} did not end`);
}

/** Upscales `file` again and again (x2: 128 wide from inside, 400 from outside) while `stop` swaps; counts what came from outside. */
async function upscaleRace(file: string, outputDir: string | null, stop: () => Promise<void>): Promise<{ ran: number; upscaled: number; leaked: number }> {
  let upscaled = 0;
  let leaked = 0;
  let ran = 0;
  try {
    ran = await race(async () => {
      const started = (await call('job:upscale', { files: [file], modelId: 'user:tiny.safetensors', format: 'png', outputDir, overwrite: true }).catch(() => undefined)) as { jobId: string } | undefined;
      if (!started) return;
      const { widths } = await ended(started.jobId);
      upscaled += widths.length;
      leaked += widths.filter((w) => w !== 128).length;
    }, LIMITS);
  } finally {
    await stop();
  }
  return { ran, upscaled, leaked };
}

describe('jobs read and write through what the request opened and checked', () => {
  test('job:upscale never reads the photo a swapped input leads to, and lets its files go when it ends', async () => {
    const inside = path.join(server.inbox, 'inside.png');
    await fs.copyFile(COFFEE, inside);
    await fs.copyFile(MOTORCYCLE, path.join(outside, 'secret.png'));
    const file = path.join(server.inbox, 'race.png');
    await fs.link(inside, file);
    const out = path.join(dir, 'out');
    const r = await upscaleRace(file, out, swapper('file', file, inside, path.join(outside, 'secret.png'), TIMES));
    console.log(`upscale inputs: ${r.leaked} of ${r.upscaled} upscaled files were read from outside (${r.ran} requests)`);
    assert.ok(r.upscaled >= 5, `only ${r.upscaled} files were upscaled`);
    assert.equal(r.leaked, 0, `${r.leaked} of ${r.upscaled} upscaled files were read from outside`);
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test('job:upscale never writes through a folder swapped for a symlink, nor reads from where it leads', async () => {
    // Results go next to the input (no output folder), in a folder of the inbox swapped for one outside.
    // A request names the folder four times (checked and opened, for the photo and for its folder): it stays inside longer.
    const folder = path.join(server.inbox, 'beside');
    await fs.mkdir(folder);
    await fs.copyFile(COFFEE, path.join(folder, 'photo.png'));
    const elsewhere = path.join(outside, 'beside');
    await fs.mkdir(elsewhere);
    await fs.copyFile(MOTORCYCLE, path.join(elsewhere, 'photo.png'));
    const r = await upscaleRace(path.join(folder, 'photo.png'), null, swapper('folder', folder, '', elsewhere, { insideMs: 3, outsideMs: 1 }));
    const written = (await fs.readdir(elsewhere)).filter((n) => n !== 'photo.png');
    console.log(`upscale folders: ${written.length} files written outside, ${r.leaked} of ${r.upscaled} upscaled files read from outside (${r.ran} requests)`);
    assert.ok(r.upscaled >= 5, `only ${r.upscaled} files were upscaled`);
    assert.deepEqual(written, [], 'nothing was written outside');
    assert.equal(r.leaked, 0, `${r.leaked} of ${r.upscaled} upscaled files were read from outside`);
    assert.ok((await fs.readdir(folder)).includes('photo_x2.png'), 'the results are where the request was checked');
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test('job:compare-models reads its photo and models through what was opened, names them as given, and lets them go', async () => {
    await tinyModel(path.join(dir, 'models', 'other.safetensors'), 2, 'swish', 1);
    const photo = path.join(server.inbox, 'compared.png');
    await fs.copyFile(MOTORCYCLE, photo);
    for (const groundTruth of [false, true]) {
      const { jobId } = (await call('job:compare-models', { modelA: 'user:tiny.safetensors', modelB: 'user:other.safetensors', image: photo, groundTruth })) as { jobId: string };
      const { failed } = await ended(jobId);
      const done = events.find((e) => e.event === 'job:done' && (e.payload as { jobId: string }).jobId === jobId);
      assert.ok(!failed && done, JSON.stringify(events.filter((e) => (e.payload as { jobId?: string }).jobId === jobId)));
      const r = (done.payload as { result: { a: { file: string; width: number }; input: { file: string }; truth: { file: string } | null } }).result;
      const text = JSON.stringify(r);
      assert.doesNotMatch(text, /\/proc\//, 'results are named as given');
      assert.equal(r.input.file, groundTruth ? path.join(path.dirname(r.a.file), 'input.png') : photo);
      assert.equal(r.a.width, groundTruth ? 200 : 400);
      assert.equal(((await call('image:info', { path: r.a.file })) as { width: number }).width, r.a.width, 'the viewer shows the output');
    }
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test("a job's errors name each file as the request named it", async () => {
    const broken = path.join(server.inbox, 'broken.png');
    await fs.writeFile(broken, 'not a photo');
    const { jobId } = (await call('job:upscale', { files: [broken], modelId: 'user:tiny.safetensors', format: 'png', outputDir: null, overwrite: false })) as { jobId: string };
    await ended(jobId);
    const errors = events.filter((e) => e.event === 'job:file-error' && (e.payload as { jobId: string }).jobId === jobId).map((e) => (e.payload as { message: string }).message);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!, /broken\.png/);
    assert.doesNotMatch(errors[0]!, /\/proc\//);
    assert.equal(heldCount(), 0);
  });
});
