/**
 * Browser mode's jobs read and write through what the request opened and checked, on the real
 * engine: while another thread keeps swapping an input (or the folder results go to) between the
 * real one and a symlink leading outside, no upscale reads the outside photo and none writes
 * outside; no training or comparison lists or reads a photo from outside (its folder, a sub-folder
 * or a photo swapped) nor makes its run outside; the files held for a job are let go when it ends.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { ServerMessage } from '../../../main/api.ts';
import { heldCount } from '../../../main/host/held.ts';
import { COFFEE, MOTORCYCLE, tinyModel } from '../helpers.ts';
import { openSocket, serverSuite, type SocketClient } from './studio.ts';
import { race, swapper } from './swap.ts';

/** Jobs per race (four under way at once), and the most time they may take. */
const LIMITS = { rounds: 120, maxMs: 20_000, atOnce: 4 };
/** The engine reads a moment after the request was checked: the outside state holds as long as the inside one. */
const TIMES = { insideMs: 1, outsideMs: 1 };

let outside = '';
/** Where a symlink leads out of what the session may choose (a system tree: never granted, never choosable). */
let shm = '';
let socket: SocketClient | undefined;
/** The jobs' events, as the session's socket got them. */
const events = () => (socket?.got ?? []).filter((m): m is Extract<ServerMessage, { event: string }> => 'event' in m);

// Registered before the server's own hooks, so the socket closes before the server does.
after(async () => {
  socket?.close();
  if (shm) await fs.rm(shm, { recursive: true, force: true });
});
// The real engine (on wasm), with a tiny model of the user's.
const suite = serverSuite(
  { engine: undefined, backend: 'wasm', previewIntervalMs: 1000 },
  {
    async prepare(dir) {
      outside = path.join(dir, 'outside');
      await fs.mkdir(outside);
      shm = await fs.mkdtemp('/dev/shm/sr-studio-held-');
      await tinyModel(path.join(dir, 'models', 'tiny.safetensors'));
    },
    async ready() {
      socket = await openSocket(suite.server);
    },
  },
);
const { call } = suite;

/** The job's end, and the widths of the files it upscaled. */
async function ended(jobId: string): Promise<{ widths: number[]; failed: boolean }> {
  for (let i = 0; i < 6000; i++) {
    const mine = events().filter((e) => (e.payload as { jobId?: string }).jobId === jobId);
    const end = mine.find((e) => e.event === 'job:done' || e.event === 'job:error');
    if (end)
      return {
        widths: mine.filter((e) => e.event === 'job:file-done').map((e) => (e.payload as { width: number }).width),
        failed: end.event === 'job:error',
      };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} did not end`);
}

/**
 * Trainings per race (the engine runs one at a time, the next queued), and the most time they may
 * take: eight end in a few seconds on an idle machine; the time limit is generous so that a machine
 * busy with other work still runs the three each race needs.
 */
const TRAIN_LIMITS = { rounds: 8, maxMs: 30_000, atOnce: 2 };

/** A tiny training of `data`, validated on the same photos (so each training lists and reads them twice). */
const trainArg = (data: string, outDir: string | null) => ({
  data,
  val: data,
  preset: 'tiny',
  scale: 2,
  activation: 'relu',
  iterations: 2,
  run: { kind: 'new', parent: outDir },
});
/** The line that says which photos a training uses ("5 training images in …; 0.1 MB decoded, …"). */
const listedOf = (r: { messages: string[] }) => r.messages.find((m) => / training images? in /.test(m));
/** Whether those are inside photos only: at most 0.1 MB of them (nine of 64×64; the outside ones are 0.27 MB each). */
const isInside = (listed: string) => Number(/; ([0-9.]+) MB decoded/.exec(listed)?.[1] ?? 'NaN') <= 0.1;

/** What a training said: its messages, and whether it ended in an error. */
async function trained(jobId: string): Promise<{ messages: string[]; failed: boolean; summary: string }> {
  const { failed } = await ended(jobId);
  const mine = events().filter((e) => (e.payload as { jobId?: string }).jobId === jobId);
  const messages = mine
    .filter((e) => e.event === 'job:progress' || e.event === 'job:error')
    .map((e) => (e.payload as { message: string }).message);
  const done = mine.find((e) => e.event === 'job:done');
  return { messages, failed, summary: JSON.stringify(done?.payload ?? null) };
}

/**
 * Trains a tiny model on `data` again and again (into `outDir`, or the runs folder) while `stop`
 * swaps; counts the trainings whose photos came from outside (isInside).
 */
async function trainRace(
  data: string,
  outDir: string | null,
  stop: () => Promise<void>,
): Promise<{ ran: number; trained: number; leaked: string[]; shown: string[] }> {
  let ran = 0;
  let done = 0;
  const leaked: string[] = [];
  const shown: string[] = [];
  try {
    ran = await race(async () => {
      const started = (await call('job:train', trainArg(data, outDir)).catch(() => undefined)) as
        | { jobId: string }
        | undefined;
      if (!started) return;
      const r = await trained(started.jobId);
      const listed = listedOf(r);
      if (!listed) return; // refused or stopped before listing (a name gone for a moment)
      done++;
      leaked.push(...r.messages.filter((m) => / images? in /.test(m) && !isInside(m)));
      shown.push(
        ...r.messages.filter((m) => m.includes('/proc/')),
        ...(r.summary.includes('/proc/') ? [r.summary] : []),
      );
    }, TRAIN_LIMITS);
  } finally {
    await stop();
  }
  return { ran, trained: done, leaked, shown };
}

/** Upscales `file` again and again (x2: 128 wide from inside, 400 from outside) while `stop` swaps; counts what came from outside. */
async function upscaleRace(
  file: string,
  outputDir: string | null,
  stop: () => Promise<void>,
): Promise<{ ran: number; upscaled: number; leaked: number }> {
  let upscaled = 0;
  let leaked = 0;
  let ran = 0;
  try {
    ran = await race(async () => {
      const started = (await call('job:upscale', {
        files: [file],
        model: 'user:tiny.safetensors',
        format: 'png',
        outputDir,
        overwrite: true,
      }).catch(() => undefined)) as { jobId: string } | undefined;
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
    const inside = path.join(suite.server.inbox, 'inside.png');
    await fs.copyFile(COFFEE, inside);
    await fs.copyFile(MOTORCYCLE, path.join(outside, 'secret.png'));
    const file = path.join(suite.server.inbox, 'race.png');
    await fs.link(inside, file);
    const out = path.join(suite.dir, 'out');
    const r = await upscaleRace(file, out, swapper('file', file, inside, path.join(outside, 'secret.png'), TIMES));
    console.log(
      `upscale inputs: ${r.leaked} of ${r.upscaled} upscaled files were read from outside (${r.ran} requests)`,
    );
    assert.ok(r.upscaled >= 5, `only ${r.upscaled} files were upscaled`);
    assert.equal(r.leaked, 0, `${r.leaked} of ${r.upscaled} upscaled files were read from outside`);
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test('job:upscale never writes through a folder swapped for a symlink, nor reads from where it leads', async () => {
    // Results go next to the input (no output folder), in a folder of the inbox swapped for one outside.
    // A request names the folder four times (checked and opened, for the photo and for its folder): it stays inside longer.
    const folder = path.join(suite.server.inbox, 'beside');
    await fs.mkdir(folder);
    await fs.copyFile(COFFEE, path.join(folder, 'photo.png'));
    const elsewhere = path.join(outside, 'beside');
    await fs.mkdir(elsewhere);
    await fs.copyFile(MOTORCYCLE, path.join(elsewhere, 'photo.png'));
    const r = await upscaleRace(
      path.join(folder, 'photo.png'),
      null,
      swapper('folder', folder, '', elsewhere, { insideMs: 3, outsideMs: 1 }),
    );
    const written = (await fs.readdir(elsewhere)).filter((n) => n !== 'photo.png');
    console.log(
      `upscale folders: ${written.length} files written outside, ${r.leaked} of ${r.upscaled} upscaled files read from outside (${r.ran} requests)`,
    );
    assert.ok(r.upscaled >= 5, `only ${r.upscaled} files were upscaled`);
    assert.deepEqual(written, [], 'nothing was written outside');
    assert.equal(r.leaked, 0, `${r.leaked} of ${r.upscaled} upscaled files were read from outside`);
    assert.ok((await fs.readdir(folder)).includes('photo_x2.png'), 'the results are where the request was checked');
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test('job:compare-models reads its photo and models through what was opened, names them as given, and lets them go', async () => {
    await tinyModel(path.join(suite.dir, 'models', 'other.safetensors'), 2, 'swish', 1);
    const photo = path.join(suite.server.inbox, 'compared.png');
    await fs.copyFile(MOTORCYCLE, photo);
    for (const groundTruth of [false, true]) {
      const { jobId } = (await call('job:compare-models', {
        modelA: 'user:tiny.safetensors',
        modelB: 'user:other.safetensors',
        image: photo,
        groundTruth,
      })) as { jobId: string };
      const { failed } = await ended(jobId);
      const done = events().find((e) => e.event === 'job:done' && (e.payload as { jobId: string }).jobId === jobId);
      assert.ok(
        !failed && done,
        JSON.stringify(events().filter((e) => (e.payload as { jobId?: string }).jobId === jobId)),
      );
      const r = (
        done.payload as {
          result: { a: { file: string; width: number }; input: { file: string }; truth: { file: string } | null };
        }
      ).result;
      const text = JSON.stringify(r);
      assert.doesNotMatch(text, /\/proc\//, 'results are named as given');
      assert.equal(r.input.file, groundTruth ? path.join(path.dirname(r.a.file), 'input.png') : photo);
      assert.equal(r.a.width, groundTruth ? 200 : 400);
      assert.equal(
        ((await call('image:info', { path: r.a.file })) as { width: number }).width,
        r.a.width,
        'the viewer shows the output',
      );
    }
    assert.equal(heldCount(), 0, 'every file held for a job is let go once it ends');
  });

  test("a job's errors name each file as the request named it", async () => {
    const broken = path.join(suite.server.inbox, 'broken.png');
    await fs.writeFile(broken, 'not a photo');
    const { jobId } = (await call('job:upscale', {
      files: [broken],
      model: 'user:tiny.safetensors',
      format: 'png',
      outputDir: null,
      overwrite: false,
    })) as { jobId: string };
    await ended(jobId);
    const errors = events()
      .filter((e) => e.event === 'job:file-error' && (e.payload as { jobId: string }).jobId === jobId)
      .map((e) => (e.payload as { message: string }).message);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!, /broken\.png/);
    assert.doesNotMatch(errors[0]!, /\/proc\//);
    assert.equal(heldCount(), 0);
  });

  /**
   * The training folder: eight small photos in a sub-folder, then one more as z.png (read last, so
   * a while after the listing); outside, the same names as large photos (300×300: a training that
   * decodes any says more than 0.1 MB).
   */
  async function trainFolders(name: string): Promise<{ data: string; sub: string; away: string; secret: string }> {
    const data = path.join(suite.server.inbox, name);
    const sub = path.join(data, 'more');
    await fs.mkdir(sub, { recursive: true });
    const away = path.join(shm, name);
    await fs.mkdir(away);
    const big = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    for (let i = 1; i <= 8; i++) {
      const n = `c${i}`;
      await fs.copyFile(COFFEE, path.join(sub, `${n}.png`));
      await fs.writeFile(path.join(away, `${n}.png`), big);
    }
    await fs.copyFile(COFFEE, path.join(data, 'z.png'));
    await fs.writeFile(path.join(away, 'z.png'), big);
    const secret = path.join(shm, `${name}-secret.png`);
    await fs.writeFile(secret, big);
    return { data, sub, away, secret };
  }

  function noLeaks(what: string, r: Awaited<ReturnType<typeof trainRace>>): void {
    console.log(`train ${what}: ${r.leaked.length} of ${r.trained} trainings used outside photos (${r.ran} requests)`);
    assert.deepEqual(r.leaked, [], `${what}: trainings used photos from outside`);
    assert.ok(r.trained >= 3, `${what}: only ${r.trained} trainings listed their photos`);
    assert.deepEqual(r.shown, [], `${what}: messages name folders as given`);
    assert.equal(heldCount(), 0, 'every folder held for a job is let go once it ends');
  }

  test('job:train lists its photos through the folder it opened: the folder swapped for a symlink after the check leads nowhere', async () => {
    const f = await trainFolders('train-top');
    const blocker = await trainFolders('train-first');
    // The first training keeps the engine busy, so the second lists its folder after the swap.
    const first = (await call('job:train', trainArg(blocker.data, null))) as { jobId: string };
    const second = (await call('job:train', trainArg(f.data, null))) as { jobId: string };
    await fs.rename(f.data, `${f.data}.away`);
    await fs.symlink(f.away, f.data);
    const r = [await trained(first.jobId), await trained(second.jobId)].map(listedOf);
    await fs.unlink(f.data);
    await fs.rename(`${f.data}.away`, f.data);
    console.log(`train data folder: ${JSON.stringify(r)}`);
    assert.equal(
      r.filter((m) => m && isInside(m)).length,
      2,
      'both trainings used the photos their folders held when checked',
    );
    assert.equal(heldCount(), 0, 'every folder held for a job is let go once it ends');
  });

  test('job:train walks its sub-folders through handles: one swapped for a symlink leads nowhere', async () => {
    const f = await trainFolders('train-sub');
    noLeaks(
      'sub-folder',
      await trainRace(f.data, null, swapper('folder', f.sub, '', f.away, { insideMs: 1, outsideMs: 1 })),
    );
  });

  test('job:train reads each photo without following a symlink: a photo swapped for one leads nowhere', async () => {
    const f = await trainFolders('train-photo');
    // Three photos swapped at once, each read a while after the listing.
    const stops: Array<() => Promise<void>> = [];
    for (const n of ['x', 'y', 'z']) {
      const inside = path.join(suite.dir, `train-photo-${n}.png`);
      await fs.copyFile(COFFEE, inside);
      if (n !== 'z') await fs.copyFile(COFFEE, path.join(f.data, `${n}.png`));
      stops.push(swapper('file', path.join(f.data, `${n}.png`), inside, f.secret, { insideMs: 1, outsideMs: 1 }));
    }
    noLeaks('photo', await trainRace(f.data, null, async () => void (await Promise.all(stops.map((stop) => stop())))));
  });

  test("job:train makes its run in the folder it opened: a run folder's parent swapped for a symlink gets nothing written outside", async () => {
    const { data } = await trainFolders('train-out');
    const runs = path.join(suite.dir, 'my-runs');
    await fs.mkdir(runs);
    const away = path.join(shm, 'runs');
    await fs.mkdir(away);
    const r = await trainRace(data, runs, swapper('folder', runs, '', away, { insideMs: 3, outsideMs: 1 }));
    const written = await fs.readdir(away);
    const made = (await fs.readdir(runs)).filter((n) => !n.endsWith('.away'));
    console.log(
      `train run folders: ${written.length} written outside, ${made.length} inside (${r.ran} requests, ${r.trained} trained)`,
    );
    assert.ok(r.trained >= 3, `only ${r.trained} trainings ran`);
    assert.deepEqual(written, [], 'nothing was written outside');
    assert.ok(made.length >= 3, 'the runs are where the request was checked');
    assert.deepEqual(r.shown, [], 'messages and results name the run as given');
    assert.equal(heldCount(), 0, 'every folder held for a job is let go once it ends');
  });

  test('job:compare reads its photos through the folders it opened and names its folder as given', async () => {
    const f = await trainFolders('compare-top');
    const blocker = await trainFolders('compare-first');
    const first = (await call('job:train', trainArg(blocker.data, null))) as { jobId: string };
    const arg = {
      data: f.data,
      val: f.data,
      acts: ['relu', 'swish'],
      preset: 'tiny',
      scale: 2,
      iterations: 2,
      seeds: 1,
    };
    const second = (await call('job:compare', arg)) as { jobId: string };
    await fs.rename(f.data, `${f.data}.away`);
    await fs.symlink(f.away, f.data);
    await trained(first.jobId);
    const r = await trained(second.jobId);
    await fs.unlink(f.data);
    await fs.rename(`${f.data}.away`, f.data);
    const listed = listedOf(r);
    console.log(`compare data folder: ${listed}`);
    assert.ok(!r.failed && listed && isInside(listed), JSON.stringify(r));
    assert.doesNotMatch(JSON.stringify(r), /\/proc\//, 'messages and results name folders as given');
    const done = events().find(
      (e) => e.event === 'job:done' && (e.payload as { jobId: string }).jobId === second.jobId,
    );
    const out = (done!.payload as { result: { dir: string } }).result.dir;
    assert.equal(path.dirname(out), path.join(suite.dir, 'data', 'runs'), JSON.stringify(out));
    assert.ok((await fs.readdir(out)).includes('report.json'), 'the report is in the folder named');
    assert.equal(heldCount(), 0, 'every folder held for a job is let go once it ends');
  });

  test('job:train starts from a model and continues a run through what it opened, and names both as given', async () => {
    const f = await trainFolders('train-continue');
    const model = path.join(suite.dir, 'models', 'tiny.safetensors');
    const arg = { ...trainArg(f.data, null), activation: 'tanhexp', init: 'user:tiny.safetensors' };
    const first = await trained(((await call('job:train', arg)) as { jobId: string }).jobId);
    assert.ok(!first.failed, JSON.stringify(first));
    const run = (JSON.parse(first.summary) as { result: { runDir: string; modelPath: string } }).result;
    assert.equal(path.dirname(run.runDir), path.join(suite.dir, 'data', 'runs'), first.summary);
    assert.equal(run.modelPath, path.join(run.runDir, 'model_best.safetensors'));
    const record = JSON.parse(await fs.readFile(path.join(run.runDir, 'run.json'), 'utf8')) as {
      data: string;
      init: { model: string };
    };
    assert.equal(record.data, f.data);
    assert.equal(record.init.model, model, 'the start model is named as given');
    const again = await trained(
      (
        (await call('job:train', {
          ...arg,
          init: null,
          iterations: 4,
          run: { kind: 'continue', dir: run.runDir },
        })) as { jobId: string }
      ).jobId,
    );
    assert.ok(!again.failed, JSON.stringify(again));
    assert.ok(
      again.messages.some((m) => m.startsWith(`Continuing from iteration 2 in ${run.runDir}`)),
      JSON.stringify(again.messages),
    );
    for (const text of [
      first.summary,
      again.summary,
      ...first.messages,
      ...again.messages,
      await fs.readFile(path.join(run.runDir, 'run.json'), 'utf8'),
      await fs.readFile(path.join(run.runDir, 'config.json'), 'utf8'),
    ]) {
      assert.doesNotMatch(text, /\/proc\//, 'named as given');
    }
    assert.equal(heldCount(), 0, 'every file and folder held for a job is let go once it ends');
  });
});
