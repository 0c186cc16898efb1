/**
 * The CLI never loses or strands a user's work and says what is wrong in its own terms: a run
 * killed before (or after) a checkpoint continues with records that read as one run; a new run
 * never writes into a folder of other files; outputs that would collide get distinct names; two
 * writers racing for one output cannot both succeed; temp files of killed writes are cleared; a
 * diverging loss is caught; settings are checked before any folder is made; and read errors are
 * not called write errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { assertNoStack, assertOneError, jsonLines, runCli, show, type CliOptions } from '../../helpers/cli.ts';
import { tensorflowInstalled } from '../../helpers/backends.ts';
import { DATA } from '../../helpers/photos.ts';

const TINY = path.join(DATA, 'tiny');
const PHOTO = path.join(TINY, 'coffee_64x64.png');
const FAST = ['--batch', '4', '--patch', '12', '--backend', 'wasm', '--threads', '0'];
let dir = '';
let modelsDir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
const cli = (args: string[], onStderr?: CliOptions['onStderr']) => runCli(args, { cwd: dir, modelsDir, onStderr });

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-safety-'));
  modelsDir = tmp('models');
  await fs.mkdir(modelsDir);
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The iterations of metrics.jsonl's loss rows, in file order. */
async function lossRows(run: string): Promise<number[]> {
  const text = await fs.readFile(path.join(run, 'metrics.jsonl'), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { iteration: number; loss?: number })
    .filter((m) => m.loss !== undefined)
    .map((m) => m.iteration);
}

/**
 * Starts a 1000-iteration training into `out` and kills it (SIGKILL) when its progress reaches
 * iteration `at`: plain progress lines come every 10%, so `at` is a multiple of 100.
 */
async function trainKilledAt(out: string, at: number): Promise<void> {
  let killed = false;
  const r = await cli(
    ['train', '--data', TINY, '--iters', '1000', '--val-every', '100000', '--out', out, ...FAST],
    (all, child) => {
      if (!killed && all.includes(`it ${at}/1000`)) {
        killed = true;
        child.kill('SIGKILL');
      }
    },
  );
  assert.equal(r.signal, 'SIGKILL', show(r));
}

describe('runs that were killed', () => {
  test('killed before its first checkpoint: the run continues from iteration 0, with no records left from the first try', async () => {
    const out = tmp('killed-early');
    await trainKilledAt(out, 100);
    assert.ok((await lossRows(out)).includes(90), 'it logged rows before it died');
    assert.deepEqual(await fs.readdir(path.join(out, 'checkpoints')), [], 'no checkpoint yet');
    const r = await cli(['train', '--data', TINY, '--resume', out, '--iters', '120', '--json', ...FAST]);
    assert.equal(r.code, 0, show(r));
    const started = jsonLines(r).find((e) => e.type === 'started')!;
    assert.equal(started.iteration, 0);
    assert.deepEqual(
      await lossRows(out),
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120],
      'one row per logged iteration: the dead try left none behind',
    );
  });

  test('killed after a checkpoint: continuing drops the records made after it', async () => {
    const out = tmp('killed-late');
    await trainKilledAt(out, 300);
    assert.ok((await lossRows(out)).includes(290), 'rows past the checkpoint at 250 were written');
    const r = await cli(['train', '--data', TINY, '--resume', out, '--iters', '320', '--json', ...FAST]);
    assert.equal(r.code, 0, show(r));
    assert.equal(jsonLines(r).find((e) => e.type === 'started')!.iteration, 250);
    const rows = await lossRows(out);
    assert.deepEqual(
      rows,
      Array.from({ length: 32 }, (_, i) => (i + 1) * 10),
      `one row per logged iteration: ${rows.join(' ')}`,
    );
  });
});

describe('folders and outputs', () => {
  test('a new run never goes into a folder that holds other files', async () => {
    const out = tmp('my-documents');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'letter.txt'), 'keep me\n');
    const r = await cli(['train', '--data', TINY, '--iters', '2', '--out', out, ...FAST]);
    assertOneError(
      r,
      /^error: ".*my-documents" already holds other files, which a training run would mix with its own; choose an empty or new folder with --out\.$/,
      1,
    );
    assert.deepEqual(await fs.readdir(out), ['letter.txt']);
  });

  test('settings are checked before any folder is made', async () => {
    for (const [args, what] of [
      [['--threads', '65'], /--threads must be a whole number from 0 to 64, not "65"/],
      // The TensorFlow C library cannot be installed offline, so that backend cannot start here.
      ...(tensorflowInstalled
        ? []
        : [
            [
              ['--backend', 'tensorflow'],
              /The tensorflow backend could not start \(the TensorFlow library is not installed\)/,
            ] as const,
          ]),
      [['--lr', '1e-9'], /--lr must be a learning rate from 1e-7 to 1, not "1e-9"/],
      [['--seed', '-1'], /--seed must be a whole number from 0 to 2147483647, not "-1"/],
    ] as const) {
      const out = tmp(`never-made-${args[0].slice(2)}`);
      const r = await cli(['train', '--data', TINY, '--iters', '2', '--out', out, ...args]);
      assertOneError(r, what);
      assert.equal(existsSync(out), false, `${args.join(' ')} made ${out}`);
    }
  });

  test('photo.jpg and photo.png into one folder: distinct names, both written', async () => {
    const src = tmp('pair');
    await fs.mkdir(src);
    await sharp(PHOTO).jpeg().toFile(path.join(src, 'photo.jpg'));
    await sharp(PHOTO).png().toFile(path.join(src, 'photo.png'));
    const r = await cli(['upscale', src, '-o', tmp('pair-out'), '--backend', 'wasm']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /\n2 upscaled\.\n$/);
    assert.deepEqual((await fs.readdir(tmp('pair-out'))).sort(), ['photo.jpg_x2.png', 'photo.png_x2.png']);
  });

  test('two upscales racing for one output: one writes it, the other says it exists', async () => {
    const out = tmp('race');
    const runs = await Promise.all([0, 1].map(() => cli(['upscale', PHOTO, '-o', out, '--backend', 'cpu'])));
    assert.deepEqual(runs.map((r) => r.code).sort(), [0, 1], runs.map(show).join('\n'));
    const loser = runs.find((r) => r.code === 1)!;
    assert.match(loser.stderr, /coffee_64x64_x2\.png" already exists; pass --overwrite/);
    assert.deepEqual(await fs.readdir(out), ['coffee_64x64_x2.png']);
  });

  test("temp files left by killed writes are cleared; a live writer's is left alone", async () => {
    const out = tmp('stale');
    await fs.mkdir(out);
    const dead = path.join(out, '.coffee_64x64_x2.png.999999999.deadbeef.tmp');
    const live = path.join(out, `.other_x2.png.${process.pid}.cafebabe.tmp`);
    await fs.writeFile(dead, 'half a file');
    await fs.writeFile(live, 'being written');
    const r = await cli(['upscale', PHOTO, '-o', out, '--backend', 'wasm']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual((await fs.readdir(out)).sort(), [path.basename(live), 'coffee_64x64_x2.png'].sort());
  });
});

describe('messages', () => {
  test('a folder given as --model is a file that cannot be read, not an output problem', async () => {
    const r = await cli(['upscale', PHOTO, '--model', TINY, '--backend', 'wasm']);
    assertOneError(
      r,
      /^error: ".*tiny" cannot be read \(it is a folder\); choose a readable weights file \(\.safetensors\)\.$/,
      1,
    );
  });

  test('--resume of a file says it is not a run folder, without an errno', async () => {
    const r = await cli(['train', '--data', TINY, '--resume', PHOTO, ...FAST]);
    assertOneError(
      r,
      /^error: ".*coffee_64x64\.png" is not a training run folder \(it is a file, not a folder\); name the folder a run was started in\.$/,
      1,
    );
    assert.doesNotMatch(r.stderr, /ENOTDIR|ENOENT/);
  });

  test('a negative number is read as a value and checked against its range', async () => {
    assertOneError(
      await cli(['upscale', PHOTO, '--tile', '-5']),
      /^error: --tile must be a whole number from 16 to 4096, not "-5"\.$/,
      2,
    );
  });
});

describe('divergence', () => {
  test('--lr 0.99: a loss that explodes is caught, the weights go back and the rate halves; the loss never runs away', async () => {
    const r = await cli([
      'train',
      '--data',
      TINY,
      '--iters',
      '40',
      '--lr',
      '0.99',
      '--val-every',
      '100000',
      '--out',
      tmp('lr099'),
      '--json',
      ...FAST,
    ]);
    assert.equal(r.code, 0, show(r));
    const events = jsonLines(r);
    const warnings = events.filter((e) => e.type === 'warning').map((e) => String(e.message));
    assert.ok(warnings.length >= 1, show(r));
    assert.match(
      warnings[0]!,
      /^Iteration \d+: the loss jumped to .*, more than 100× its usual level in this run \(.*\), so the weights went back to iteration \d+ and the learning rate was halved \(now ×0\.5\)\.$/,
    );
    const losses = events.filter((e) => e.type === 'progress').map((e) => Number(e.loss));
    assert.ok(Math.max(...losses) < 5, `the reported losses stay sane: max ${Math.max(...losses)}`);
    assertNoStack(r);
  });
});
