/**
 * End-to-end tests of `sr-studio upscale`: the real CLI in a child process, on real photos from
 * photos/, with bad inputs built from them in a temp folder. Every spawn gets a fresh, empty
 * SR_STUDIO_MODELS so the user's own models never leak in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertNoStack, assertOneError, errorLines, runCli, show, type CliOptions } from '../../helpers/cli.ts';
import sharp from 'sharp';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const COFFEE = path.join(DATA, 'val/coffee.png'); // 600×396
const SMALL_COFFEE = path.join(DATA, 'tiny/coffee_64x64.png');
const SMALL_CHELSEA = path.join(DATA, 'tiny/chelsea_96x72.png');
const SMALL_ASTRONAUT = path.join(DATA, 'tiny/astronaut_128x128.png');
/** Real photos saved as JPEG (q95, 4:4:4, as the training photos are) in the temp folder by before(). */
const BIG_JPEG = () => tmp('photos/motorcycle_1600x1200.jpg'); // 1600×1200
const PHOTO_JPEG = () => tmp('photos/china.jpg'); // 636×420

let dir = '';
let modelsDir = '';
let tinyX2 = '';
const tmp = (...p: string[]) => path.join(dir, ...p);

const cli = (args: string[], opts: { cwd?: string; onStderr?: CliOptions['onStderr'] } = {}) =>
  runCli(args, { cwd: opts.cwd ?? dir, modelsDir, onStderr: opts.onStderr });

/** Every entry under `root` (hidden ones too), relative, sorted; [] when `root` does not exist. */
async function listAll(root: string): Promise<string[]> {
  try {
    return ((await fs.readdir(root, { recursive: true })) as string[]).sort();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return [];
    throw e;
  }
}

/** Only files (no folders) under `root`. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await listAll(root)) if ((await fs.stat(path.join(root, p))).isFile()) out.push(p);
  return out;
}

async function assertNoTemp(root: string) {
  const temps = (await listAll(root)).filter((p) => /(^|\/)\..*\.tmp$/.test(p));
  assert.deepEqual(temps, [], `temp files left in ${root}`);
}

async function size(file: string) {
  const m = await sharp(file).metadata();
  return { width: m.width, height: m.height, format: m.format };
}

/** A weights file whose tensors were renamed (same data, edited header), i.e. another architecture. */
async function renameTensor(src: string, dst: string, from: string, to: string) {
  const bytes = await fs.readFile(src);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  assert.ok(header[from], `${from} is in the weights file`);
  header[to] = header[from];
  delete header[from];
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await fs.writeFile(dst, Buffer.concat([len, json, bytes.subarray(8 + n)]));
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-upscale-'));
  modelsDir = tmp('user-models');
  await fs.mkdir(modelsDir);
  await fs.mkdir(tmp('models'));
  tinyX2 = tmp('models/tiny_x2.safetensors');
  await fs.mkdir(tmp('photos'));
  const asJpeg = { quality: 95, chromaSubsampling: '4:4:4' } as const;
  await sharp(path.join(DATA, 'val/motorcycle_left.png')).resize(1600, 1200).jpeg(asJpeg).toFile(BIG_JPEG());
  await sharp(path.join(DATA, 'val/china.png')).jpeg(asJpeg).toFile(PHOTO_JPEG());
  const made = await cli(['new-model', '-o', tinyX2, '--preset', 'tiny', '--scale', '2']);
  assert.equal(made.code, 0, show(made));

  // Bad inputs, built from real photos.
  await fs.mkdir(tmp('bad/text-only'), { recursive: true });
  await fs.writeFile(tmp('bad/text-only/notes.txt'), 'no pictures here\n');
  await fs.writeFile(tmp('bad/empty.jpg'), '');
  const jpeg = await fs.readFile(PHOTO_JPEG());
  await fs.writeFile(tmp('bad/truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  await fs.writeFile(tmp('bad/letter.png'), 'Dear reader, this is not a PNG.\n');
  await sharp(SMALL_COFFEE).resize(1, 1).png().toFile(tmp('bad/one-pixel.png'));
  await fs.writeFile(tmp('bad/blocker'), 'a regular file where a folder is expected\n');
  await renameTensor(tinyX2, tmp('models/renamed.safetensors'), 'head.weight', 'stem.weight');
  await fs.writeFile(
    tmp('models/random.safetensors'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 255)),
  );
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio upscale', { concurrency: 2 }, () => {
  test('upscales coffee.png into -o OUT as a 1200×792 PNG, messages on stderr only', async () => {
    const out = tmp('out-coffee');
    const r = await cli(['upscale', COFFEE, '--model', tinyX2, '-o', out, '--backend', 'wasm']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, '', 'human output goes to stderr');
    assert.deepEqual(errorLines(r), []);
    assertNoStack(r);
    assert.deepEqual(await listAll(out), ['coffee_x2.png']);
    assert.deepEqual(await size(path.join(out, 'coffee_x2.png')), { width: 1200, height: 792, format: 'png' });
    assert.match(r.stderr, /1 upscaled\.\n?$/);
  });

  test("with no --model and no --backend, the bundled TanhExp model for photos of the scale runs on auto's pick", async () => {
    for (const scale of [2, 3]) {
      const out = tmp(`out-default-x${scale}`);
      const r = await cli(['upscale', SMALL_CHELSEA, '-o', out, ...(scale === 2 ? [] : ['--scale', String(scale)])]);
      assert.equal(r.code, 0, show(r));
      assert.match(
        r.stderr,
        new RegExp(
          `^Model: tanhexp_photo_x${scale}\\.safetensors \\(x${scale} tanhexp, trained with the photo degradations\\)$`,
          'm',
        ),
      );
      assert.match(r.stderr, /^Backend: (onnx|wasm|webgpu|tensorflow) — /m);
      assert.deepEqual(await size(path.join(out, `chelsea_96x72_x${scale}.png`)), {
        width: 96 * scale,
        height: 72 * scale,
        format: 'png',
      });
    }
  });

  for (const [fmt, sharpName] of [
    ['webp', 'webp'],
    ['jpg', 'jpeg'],
    ['tiff', 'tiff'],
    ['avif', 'heif'],
  ] as const) {
    test(`--format ${fmt} writes NAME_x2.${fmt} in that format`, async () => {
      const out = tmp(`out-format-${fmt}`);
      const r = await cli([
        'upscale',
        SMALL_CHELSEA,
        '--model',
        tinyX2,
        '-o',
        out,
        '--backend',
        'wasm',
        '--format',
        fmt,
      ]);
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(await listAll(out), [`chelsea_96x72_x2.${fmt}`]);
      assert.deepEqual(await size(path.join(out, `chelsea_96x72_x2.${fmt}`)), {
        width: 192,
        height: 144,
        format: sharpName,
      });
    });
  }

  test('--json prints only JSON lines on stdout, ending with a summary; done records name the outputs', async () => {
    const out = tmp('out-json');
    const r = await cli([
      'upscale',
      SMALL_COFFEE,
      SMALL_ASTRONAUT,
      '--model',
      tinyX2,
      '-o',
      out,
      '--backend',
      'wasm',
      '--json',
    ]);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.endsWith('\n'), show(r));
    const records = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as { type: string; [k: string]: unknown };
        } catch {
          assert.fail(`not a JSON line: ${JSON.stringify(l)}\n${show(r)}`);
        }
      });
    assert.ok(
      records.some((x) => x.type === 'progress'),
      'progress records',
    );
    assert.ok(
      records.some((x) => x.type === 'backend' && x.backend === 'wasm'),
      'backend record',
    );
    const done = records.filter((x) => x.type === 'done');
    assert.deepEqual(
      done.map((x) => x.output),
      [path.join(out, 'coffee_64x64_x2.png'), path.join(out, 'astronaut_128x128_x2.png')],
    );
    for (const x of done) await fs.access(x.output as string);
    assert.deepEqual(records.at(-1), { type: 'summary', done: 2, failed: 0, failures: [] });
    assert.equal(records.filter((x) => x.type === 'summary').length, 1);
  });

  describe('bad input: one error line naming it, a non-zero exit, nothing left behind', { concurrency: 2 }, () => {
    const cases: Array<{ name: string; args: () => string[]; names: () => string; code: number }> = [
      { name: 'missing path', args: () => [tmp('bad/no-such-photo.jpg')], names: () => 'no-such-photo.jpg', code: 1 },
      { name: 'folder without images', args: () => [tmp('bad/text-only')], names: () => 'text-only', code: 1 },
      { name: 'zero-byte .jpg', args: () => [tmp('bad/empty.jpg')], names: () => 'empty.jpg', code: 1 },
      { name: 'truncated JPEG', args: () => [tmp('bad/truncated.jpg')], names: () => 'truncated.jpg', code: 1 },
      { name: 'text file named .png', args: () => [tmp('bad/letter.png')], names: () => 'letter.png', code: 1 },
      { name: '1×1 PNG', args: () => [tmp('bad/one-pixel.png')], names: () => 'one-pixel.png', code: 1 },
      {
        name: 'output folder under a regular file (ENOTDIR)',
        args: () => [SMALL_COFFEE, '-o', tmp('bad/blocker/out')],
        names: () => tmp('bad/blocker/out'),
        code: 1,
      },
      { name: 'weights of another scale', args: () => [SMALL_COFFEE, '--scale', '3'], names: () => tinyX2, code: 1 },
      {
        name: 'weights of another architecture (renamed tensor)',
        args: () => [SMALL_COFFEE, '--model', tmp('models/renamed.safetensors')],
        names: () => 'renamed.safetensors',
        code: 1,
      },
      {
        name: 'random bytes named .safetensors',
        args: () => [SMALL_COFFEE, '--model', tmp('models/random.safetensors')],
        names: () => 'random.safetensors',
        code: 1,
      },
      { name: 'unknown backend', args: () => [SMALL_COFFEE, '--backend', 'foo'], names: () => '"foo"', code: 2 },
      { name: 'unknown option', args: () => [SMALL_COFFEE, '--sharpen'], names: () => '--sharpen', code: 2 },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const out = tmp(`out-bad-${c.name.replace(/\W+/g, '-')}`);
        const args = c.args();
        // Later options win with parseArgs, so a case's own -o, --model or --backend replaces these.
        const r = await cli(['upscale', '--model', tinyX2, '--backend', 'wasm', '-o', out, ...args]);
        assertOneError(r, c.names(), c.code);
        assert.deepEqual(await listFiles(out), [], `nothing written to ${out}`);
        await assertNoTemp(out);
        await assertNoTemp(tmp('bad'));
        if (c.name.includes('ENOTDIR')) assert.ok((await fs.stat(tmp('bad/blocker'))).isFile());
      });
    }
  });

  test('a batch goes on past a bad file, lists it in the summary and exits 1', async () => {
    const src = tmp('batch');
    const out = tmp('out-batch');
    await fs.mkdir(src);
    await fs.copyFile(SMALL_COFFEE, path.join(src, 'good1.png'));
    await fs.writeFile(path.join(src, 'bad.png'), 'not an image\n');
    await sharp(SMALL_CHELSEA).jpeg().toFile(path.join(src, 'good2.jpg'));
    const r = await cli(
      ['upscale', 'good1.png', 'bad.png', 'good2.jpg', '-o', out, '--model', tinyX2, '--backend', 'wasm'],
      { cwd: src },
    );
    assertOneError(r, 'bad.png', 1);
    assert.deepEqual(await listAll(out), ['good1_x2.png', 'good2_x2.png']);
    assert.deepEqual(await size(path.join(out, 'good2_x2.png')), { width: 192, height: 144, format: 'png' });
    // The summary comes last and names the failure.
    // Each failure is said once, where it happens; the summary names the files only.
    assert.match(r.stderr, /\n2 upscaled, 1 failed \(bad\.png\)\.\n$/, show(r));
    assert.equal(r.stderr.split('could not be read as an image').length, 2, `the reason is printed once:\n${show(r)}`);
  });

  test('odd files in one batch: a 245-byte name is upscaled, an output name too long fails alone, a pipe and a device are named as such', async () => {
    const src = tmp('odd');
    const out = tmp('out-odd');
    await fs.mkdir(src);
    const long = `${'é'.repeat(122)}x`; // 245 bytes: its temp file's name would pass 255
    const tooLong = 'l'.repeat(250); // its output, tooLong_x2.png, would be 257 bytes
    assert.equal(Buffer.byteLength(long), 245);
    await fs.copyFile(SMALL_COFFEE, path.join(src, `${long}.png`));
    await fs.copyFile(SMALL_COFFEE, path.join(src, `${tooLong}.png`));
    await fs.copyFile(SMALL_CHELSEA, path.join(src, 'z-last.png'));
    const pipes = tmp('odd-special');
    await fs.mkdir(pipes);
    const made = await new Promise<number | null>((resolve) =>
      spawn('mkfifo', [path.join(pipes, 'fifo.png')]).on('close', resolve),
    );
    assert.equal(made, 0, 'mkfifo made the pipe');
    await fs.symlink('/dev/zero', path.join(pipes, 'zero.png'));
    // The pipe has no writer: opening it would block for ever, so the test would time out.
    const r = await cli([
      'upscale',
      src,
      path.join(pipes, 'fifo.png'),
      path.join(pipes, 'zero.png'),
      '-o',
      out,
      '--model',
      tinyX2,
      '--backend',
      'wasm',
    ]);
    assert.equal(r.code, 1, show(r));
    assertNoStack(r);
    const errs = errorLines(r);
    assert.equal(errs.length, 3, show(r));
    assert.match(
      errs[0]!,
      new RegExp(
        `^error: Cannot write to "[^"]*${tooLong}_x2\\.png" \\(its name is longer than the file system allows\\); give the input a shorter name`,
      ),
    );
    assert.match(errs[1]!, /^error: "[^"]*fifo\.png" is not a regular file \(it is a pipe\); save the image to a file/);
    assert.match(
      errs[2]!,
      /^error: "[^"]*zero\.png" is not a regular file \(it is a device\); save the image to a file/,
    );
    assert.deepEqual(await listAll(out), [`${long}_x2.png`, 'z-last_x2.png'].sort());
    assert.deepEqual(await size(path.join(out, `${long}_x2.png`)), { width: 128, height: 128, format: 'png' });
    await assertNoTemp(out);
    assert.match(r.stderr, /\n2 upscaled, 3 failed \([^)]*fifo\.png, zero\.png\)\.\n$/, show(r));
  });

  test('a write that fails in a way not foreseen fails that file alone, in one sentence, and the batch goes on', async () => {
    const src = tmp('unforeseen');
    const out = tmp('out-unforeseen');
    await fs.mkdir(src);
    for (const n of ['a', 'b', 'c']) await fs.copyFile(SMALL_COFFEE, path.join(src, `${n}.png`));
    const r = await runCli(['upscale', src, '-o', out, '--model', tinyX2, '--backend', 'wasm'], {
      cwd: dir,
      modelsDir,
      nodeArgs: ['--import', path.resolve(import.meta.dirname, '../../fixtures/disk-full.mjs')],
      env: { SR_TEST_DISK_FULL: '/\\.b_x2\\.png\\.', SR_TEST_WRITE_ERROR: 'ESTALE' },
    });
    const line = assertOneError(
      r,
      /^error: "[^"]*b\.png" could not be upscaled because of an unexpected error \(ESTALE: .*\); try it again, and report it if it repeats\.$/,
      1,
    );
    assert.doesNotMatch(line, /internal error/);
    assert.deepEqual(await listAll(out), ['a_x2.png', 'c_x2.png']);
    assert.match(r.stderr, /\n2 upscaled, 1 failed \(b\.png\)\.\n$/, show(r));
  });

  test('an animated GIF and WebP and a 2-page TIFF: the first frame is upscaled, with one warning for each', async () => {
    const src = tmp('frames');
    const out = tmp('out-frames');
    await fs.mkdir(src);
    const second = await sharp(SMALL_CHELSEA).resize(64, 64).png().toBuffer();
    for (const f of ['gif', 'webp', 'tiff'] as const)
      await sharp([SMALL_COFFEE, second], { join: { animated: true } })
        [f]()
        .toFile(path.join(src, `two.${f}`));
    await fs.copyFile(SMALL_COFFEE, path.join(src, 'one.png'));
    const r = await cli(['upscale', src, '-o', out, '--model', tinyX2, '--backend', 'wasm']);
    assert.equal(r.code, 0, show(r));
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    assert.deepEqual(
      warnings.map((l) => l.replace(/"[^"]*\//, '"')),
      [
        'warning: "two.gif" has 2 frames; only the first was upscaled.',
        'warning: "two.tiff" has 2 pages; only the first was upscaled.',
        'warning: "two.webp" has 2 frames; only the first was upscaled.',
      ],
    );
    // The output is the first frame, upscaled: its size, and closer to that frame than to the second.
    const first = await sharp(SMALL_COFFEE).resize(128, 128).raw().toBuffer();
    const other = await sharp(second).resize(128, 128).raw().toBuffer();
    for (const f of ['gif', 'tiff', 'webp']) {
      const file = path.join(out, `two.${f}_x2.png`);
      assert.deepEqual(await size(file), { width: 128, height: 128, format: 'png' }, f);
      const px = await sharp(file).removeAlpha().raw().toBuffer();
      const dist = (a: Buffer) => px.reduce((sum, v, i) => sum + Math.abs(v - a[i]!), 0);
      assert.ok(dist(first) < dist(other) / 2, `${f}: the first frame was upscaled`);
    }
  });

  test('never overwrites an input: a.png → a_x2.png is refused while a_x2.png → a_x2_x2.png next to it', async () => {
    const src = tmp('overwrite-input');
    await fs.mkdir(src);
    await fs.copyFile(SMALL_COFFEE, path.join(src, 'a.png'));
    await fs.copyFile(SMALL_CHELSEA, path.join(src, 'a_x2.png'));
    const before = await fs.readFile(path.join(src, 'a_x2.png'));
    const r = await cli([
      'upscale',
      path.join(src, 'a.png'),
      path.join(src, 'a_x2.png'),
      '--model',
      tinyX2,
      '--backend',
      'wasm',
    ]);
    const line = assertOneError(r, 'a_x2.png', 1);
    assert.match(line, /would overwrite an input image/);
    assert.deepEqual(await fs.readFile(path.join(src, 'a_x2.png')), before, 'the input is untouched');
    assert.deepEqual(await listAll(src), ['a.png', 'a_x2.png', 'a_x2_x2.png']);
    assert.deepEqual(await size(path.join(src, 'a_x2_x2.png')), { width: 192, height: 144, format: 'png' });
    assert.match(r.stderr, /^error: .*would overwrite an input image/m);
    assert.match(r.stderr, /\n1 upscaled, 1 failed \(a\.png\)\.\n$/);
  });

  test('an existing output is refused without --overwrite and replaced with it', async () => {
    const src = tmp('existing');
    await fs.mkdir(src);
    await fs.copyFile(SMALL_COFFEE, path.join(src, 'b.png'));
    const target = path.join(src, 'b_x2.png');
    await fs.writeFile(target, 'an earlier result, keep me\n');
    const old = new Date('2020-01-02T03:04:05Z');
    await fs.utimes(target, old, old);

    const refused = await cli(['upscale', path.join(src, 'b.png'), '--model', tinyX2, '--backend', 'wasm']);
    const line = assertOneError(refused, 'b_x2.png', 1);
    assert.match(line, /already exists; pass --overwrite/);
    assert.equal(await fs.readFile(target, 'utf8'), 'an earlier result, keep me\n');
    assert.equal((await fs.stat(target)).mtimeMs, old.getTime());
    await assertNoTemp(src);

    const replaced = await cli([
      'upscale',
      path.join(src, 'b.png'),
      '--model',
      tinyX2,
      '--backend',
      'wasm',
      '--overwrite',
    ]);
    assert.equal(replaced.code, 0, show(replaced));
    assert.deepEqual(await size(target), { width: 128, height: 128, format: 'png' });
    assert.deepEqual(await listAll(src), ['b.png', 'b_x2.png']);
  });

  test('a folder is walked recursively and its sub-folders are mirrored under -o', async () => {
    const src = tmp('album');
    const out = tmp('out-album');
    await fs.mkdir(path.join(src, 'trip/day 2'), { recursive: true });
    await fs.copyFile(SMALL_COFFEE, path.join(src, 'coffee.png'));
    await sharp(PHOTO_JPEG()).resize(80, 45).jpeg().toFile(path.join(src, 'trip/bridge.jpg'));
    await fs.copyFile(SMALL_CHELSEA, path.join(src, 'trip/day 2/cat.PNG'));
    await fs.writeFile(path.join(src, 'trip/notes.txt'), 'not an image\n');
    const r = await cli(['upscale', src, '-o', out, '--model', tinyX2, '--backend', 'wasm']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await listFiles(out), ['coffee_x2.png', 'trip/bridge_x2.png', 'trip/day 2/cat_x2.png']);
    assert.deepEqual(await size(path.join(out, 'trip/bridge_x2.png')), { width: 160, height: 90, format: 'png' });
    assert.deepEqual(await size(path.join(out, 'trip/day 2/cat_x2.png')), { width: 192, height: 144, format: 'png' });
    assert.match(r.stderr, /3 upscaled\./);
  });

  test('SIGINT after the first progress line stops with one "cancelled" line and writes nothing', async () => {
    const out = tmp('out-cancel');
    let sent = false;
    // 63 tiles of ~0.3 s each with tiny on wasm: long enough to interrupt, short enough to stop
    // promptly (light on cpu takes about a minute per tile on 2 cores, and aborts between tiles).
    const r = await cli(['upscale', BIG_JPEG(), '--model', tinyX2, '--backend', 'wasm', '-o', out], {
      onStderr(all, child) {
        if (!sent && /: \d+%\n/.test(all)) {
          sent = true;
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref(); // never hang the suite
        }
      },
    });
    assert.ok(sent, `no progress line was seen:\n${show(r)}`);
    assert.equal(r.signal, null, `it should exit by itself, not die of the signal:\n${show(r)}`);
    const line = assertOneError(r, 'cancelled', 130);
    assert.match(line, /^error: Upscaling was cancelled; nothing was written\.$/);
    assert.doesNotMatch(r.stderr, /→|upscaled/, 'nothing was reported done');
    assert.deepEqual(await listFiles(out), []);
    await assertNoTemp(out);
  });
});
