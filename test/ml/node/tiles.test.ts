import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readImage } from '../../../ml/node/image-io.ts';
import { levelCount, levelSize, TileCache, type TileSource } from '../../../ml/node/tiles.ts';
import { resizeImage } from '../../../ml/resize.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const COFFEE = path.join(DATA, 'val/coffee.png'); // 600×396
const CHELSEA = path.join(DATA, 'val/chelsea.png'); // 444×300
const MOTORCYCLE = path.join(DATA, 'tiny/motorcycle_200x150.png');
const ROOT = path.resolve(import.meta.dirname, '../../..');

/** One sentence: no line breaks, ends with a full stop, none of libvips' own words. */
const oneSentence = (m: string) =>
  !m.includes('\n') && /\.$/.test(m) && !/vips|wbuffer|unix error|system error/i.test(m);

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

const raw = async (input: string | Buffer): Promise<Raw> => {
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
};

/** Every tile of a level, pasted into one image. */
async function stitch(cache: TileCache, src: TileSource, level: number): Promise<Raw> {
  const info = await cache.info(src);
  const [w, h] = levelSize(info.width, info.height, level);
  const T = info.tileSize;
  let out: Raw | undefined;
  for (let row = 0; row * T < h; row++) {
    for (let col = 0; col * T < w; col++) {
      const t = await raw(await cache.tile(src, level, col, row));
      assert.equal(t.width, Math.min(T, w - col * T));
      assert.equal(t.height, Math.min(T, h - row * T));
      out ??= { data: Buffer.alloc(w * h * t.channels), width: w, height: h, channels: t.channels };
      for (let y = 0; y < t.height; y++)
        t.data.copy(
          out.data,
          ((row * T + y) * w + col * T) * t.channels,
          y * t.width * t.channels,
          (y + 1) * t.width * t.channels,
        );
    }
  }
  return out!;
}

function maxDiff(a: Raw, b: Raw): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

describe('tile pyramids', () => {
  let dir: string;
  let cache: TileCache;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-tiles-'));
    cache = new TileCache({ dir: path.join(dir, 'cache'), tileSize: 128 });
  });
  after(async () => {
    await cache.close();
    assert.ok(!existsSync(path.join(dir, 'cache')), 'close removes the cache folder');
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('levels halve down to one tile, and level 0 is the file’s own pixels', async () => {
    const info = await cache.info({ path: COFFEE });
    assert.deepEqual([info.width, info.height, info.tileSize, info.levels], [600, 396, 128, 4]);
    assert.deepEqual(levelSize(600, 396, 3), [75, 50]);
    assert.equal(levelCount(128, 128, 128), 1);
    assert.equal(levelCount(129, 5, 128), 2);
    assert.equal(maxDiff(await stitch(cache, { path: COFFEE }, 0), await raw(COFFEE)), 0);
    // Smaller levels are the image reduced (a smooth reduction: close to a 2×2 box average).
    const l1 = await stitch(cache, { path: COFFEE }, 1);
    const box = await raw(await sharp(COFFEE).resize(300, 198, { kernel: 'linear', fit: 'fill' }).png().toBuffer());
    let sum = 0;
    for (let i = 0; i < l1.data.length; i++) sum += Math.abs(l1.data[i]! - box.data[i]!);
    assert.ok(sum / l1.data.length < 4, `level 1 is the image at half size (mean difference ${sum / l1.data.length})`);
    const top = await raw(await cache.tile({ path: COFFEE }, 3, 0, 0));
    assert.deepEqual([top.width, top.height], [75, 50]);
  });

  test('an enlargement’s full-size tiles are exactly nearest neighbour or the engine’s bicubic', async () => {
    const src = await raw(MOTORCYCLE);
    const near = await stitch(cache, { path: MOTORCYCLE, enlarge: { width: 600, height: 450, filter: 'nearest' } }, 0);
    for (let y = 0; y < 450; y++) {
      for (let x = 0; x < 600; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(
            near.data[(y * 600 + x) * 3 + c],
            src.data[(Math.floor(y / 3) * 200 + Math.floor(x / 3)) * 3 + c],
            `(${x}, ${y})`,
          );
        }
      }
    }
    const { image } = await readImage(MOTORCYCLE);
    const whole = resizeImage(image, 400, 300);
    const expected: Raw = {
      data: Buffer.from(whole.rgb.map((v) => Math.round(v * 255))),
      width: 400,
      height: 300,
      channels: 3,
    };
    const bicubic = await stitch(
      cache,
      { path: MOTORCYCLE, enlarge: { width: 400, height: 300, filter: 'bicubic' } },
      0,
    );
    assert.equal(maxDiff(bicubic, expected), 0, 'the same values as resizeImage on the whole image');
    // Level 1 of a ×2 enlargement is the input itself.
    const l1 = await stitch(cache, { path: MOTORCYCLE, enlarge: { width: 400, height: 300, filter: 'bicubic' } }, 1);
    assert.equal(maxDiff(l1, src), 0);
    const info = await cache.info({ path: MOTORCYCLE, enlarge: { width: 600, height: 450, filter: 'nearest' } });
    assert.deepEqual([info.width, info.height, info.levels], [600, 450, 4]);
    const l2 = await raw(
      await cache.tile({ path: MOTORCYCLE, enlarge: { width: 600, height: 450, filter: 'nearest' } }, 2, 1, 0),
    );
    assert.deepEqual([l2.width, l2.height], [150 - 128, 113]);
  });

  test('files are read upright, in sRGB and 8 bits, with alpha kept', async () => {
    const upright = await sharp(COFFEE).rotate(90).png().toBuffer();
    const jpeg = path.join(dir, 'rotated.jpg');
    // Stored sideways with EXIF orientation 8 (turn 90° anticlockwise to view).
    await sharp(upright).rotate(90).jpeg({ quality: 100 }).withMetadata({ orientation: 8 }).toFile(jpeg);
    const info = await cache.info({ path: jpeg });
    assert.deepEqual([info.width, info.height], [396, 600], 'the upright size');
    const viewed = await stitch(cache, { path: jpeg }, 0);
    assert.ok(maxDiff(viewed, await raw(await sharp(jpeg).autoOrient().png().toBuffer())) === 0);

    const deep = path.join(dir, 'deep.png');
    await sharp(COFFEE).toColourspace('rgb16').png().toFile(deep);
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    assert.ok(maxDiff(await stitch(cache, { path: deep }, 0), await raw(COFFEE)) <= 1);

    const alpha = path.join(dir, 'alpha.png');
    await sharp(MOTORCYCLE).ensureAlpha(0.5).png().toFile(alpha);
    const t = await raw(await cache.tile({ path: alpha }, 0, 0, 0));
    assert.equal(t.channels, 4);
    const a = (await raw(alpha)).data[3]!;
    assert.ok(a > 100 && a < 150);
    assert.equal(t.data[3], a);
    const big = await raw(
      await cache.tile({ path: alpha, enlarge: { width: 400, height: 300, filter: 'bicubic' } }, 0, 0, 0),
    );
    assert.equal(big.channels, 4);
    assert.ok(Math.abs(big.data[3]! - a) <= 1);
  });

  test('bad requests and bad files fail in one sentence', async () => {
    await assert.rejects(
      cache.info({ path: COFFEE, enlarge: { width: 900, height: 594, filter: 'bicubic' } }),
      /600×396; it can be enlarged to a whole multiple of that/,
    );
    await assert.rejects(
      cache.info({ path: COFFEE, enlarge: { width: 1200, height: 800, filter: 'bicubic' } }),
      /whole multiple/,
    );
    await assert.rejects(cache.tile({ path: COFFEE }, 4, 0, 0), /level must be a whole number from 0 to 3, not 4/);
    await assert.rejects(
      cache.tile({ path: COFFEE }, 0, 5, 0),
      /tiles 0–4 across and 0–3 down; there is no tile \(5, 0\)/,
    );
    await assert.rejects(cache.tile({ path: COFFEE }, 0, 0.5, 0), /no tile/);
    const broken = path.join(dir, 'broken.png');
    await fs.writeFile(broken, (await fs.readFile(COFFEE)).subarray(0, 300));
    await assert.rejects(
      cache.info({ path: broken }),
      (e: Error) => /broken\.png" could not be read as an image/.test(e.message) && !e.message.includes('\n'),
    );
    await assert.rejects(cache.info({ path: path.join(dir, 'nothing.png') }), /does not exist/);
    // A failed source is not kept: once the file is fixed it is read again.
    await fs.copyFile(COFFEE, broken);
    assert.equal((await cache.info({ path: broken })).width, 600);
  });

  test('a file that changes is read again', async () => {
    const file = path.join(dir, 'changing.png');
    await fs.copyFile(COFFEE, file);
    const first = await cache.info({ path: file });
    await sharp(COFFEE).negate().png().toFile(file);
    await fs.utimes(file, new Date(), new Date(Date.now() + 5000));
    const second = await cache.info({ path: file });
    assert.notEqual(first.version, second.version);
    const t = await raw(await cache.tile({ path: file }, 0, 0, 0));
    const c = await raw(await cache.tile({ path: COFFEE }, 0, 0, 0));
    assert.equal(t.data[0], 255 - c.data[0]!);
  });

  test('the cache stays within its byte budget, dropping the least recently used source', async () => {
    const small = new TileCache({ dir: path.join(dir, 'small'), tileSize: 128, maxBytes: 1_000_000 });
    try {
      const files = [];
      for (let i = 0; i < 4; i++) {
        const f = path.join(dir, `copy${i}.png`);
        await fs.copyFile(COFFEE, f);
        files.push(f);
      }
      for (const f of files) {
        await small.tile({ path: f }, 1, 0, 0);
        assert.ok(small.bytes <= 1_000_000, `${small.bytes} bytes`);
      }
      assert.equal((await fs.readdir(path.join(dir, 'small'))).length, 1, 'one 600×396 source (713 kB) fits in 1 MB');
      // The evicted ones are made again when asked for.
      assert.equal(
        maxDiff(
          await raw(await small.tile({ path: files[0]! }, 0, 0, 0)),
          await raw(await cache.tile({ path: COFFEE }, 0, 0, 0)),
        ),
        0,
      );
    } finally {
      await small.close();
    }
  });

  test('enlargements larger than a result are refused in one sentence, before anything is written', async () => {
    const c = new TileCache({ dir: path.join(dir, 'huge'), tileSize: 128 });
    try {
      // 16×: far larger than any result (the networks enlarge 2×, 3× or 4×).
      const huge = { path: COFFEE, enlarge: { width: 9600, height: 6336, filter: 'nearest' as const } };
      await assert.rejects(
        c.info(huge),
        (e: Error) =>
          /600×396; it can be enlarged to a whole multiple of that \(up to 4×/.test(e.message) &&
          oneSentence(e.message),
      );
      await assert.rejects(c.tile(huge, 1, 0, 0), /up to 4×/);
      assert.deepEqual(await fs.readdir(path.join(dir, 'huge', '0')), ['L0.v'], 'only the file itself was decoded');
      assert.ok(c.bytes < 1_000_000);
    } finally {
      await c.close();
    }
  });

  test('cache files are checked against the limits before they are written', async () => {
    // One image may use at most maxSourceBytes.
    const perSource = new TileCache({ dir: path.join(dir, 'per-source'), tileSize: 128, maxSourceBytes: 500_000 });
    try {
      await assert.rejects(perSource.info({ path: COFFEE }), (e: Error) =>
        /coffee\.png" is too large for the viewer: showing it needs 1 MB of cache files, more than the 1 MB one image may use; open a smaller or cropped image\.$/.test(
          e.message,
        ),
      );
      assert.deepEqual(await fs.readdir(path.join(dir, 'per-source')), [], 'nothing written');
      assert.equal(perSource.bytes, 0);
    } finally {
      await perSource.close();
    }
    // The disk keeps keepFreeBytes free.
    const disk = new TileCache({ dir: path.join(dir, 'disk'), tileSize: 128, keepFreeBytes: 2 ** 60 });
    try {
      await assert.rejects(
        disk.info({ path: COFFEE }),
        (e: Error) =>
          /There is not enough free disk space to show ".*coffee\.png": its cache files need 1 MB in ".*disk", where .* is free and .* is kept free; free some space there, then open the image again\.$/.test(
            e.message,
          ) && oneSentence(e.message),
      );
      assert.deepEqual(await fs.readdir(path.join(dir, 'disk')), []);
    } finally {
      await disk.close();
    }
    // Images opened together cannot all pass the whole cache's bound: each holds its bytes before writing.
    const together = new TileCache({
      dir: path.join(dir, 'together'),
      tileSize: 128,
      maxBytes: 1_000_000,
      maxSourceBytes: 1_000_000,
    });
    try {
      const files = [path.join(dir, 'one.png'), path.join(dir, 'two.png')];
      for (const f of files) await fs.copyFile(COFFEE, f);
      const got = await Promise.allSettled(files.map((f) => together.info({ path: f })));
      assert.equal(got.filter((g) => g.status === 'fulfilled').length, 1, JSON.stringify(got));
      const refused = got.find((g) => g.status === 'rejected')!.reason as Error;
      assert.match(
        refused.message,
        /^The viewer's cache cannot take ".*\.png" now: the images being shown hold 1 MB of the 1 MB it may use; wait until they have loaded, then open this one again\.$/,
      );
      assert.ok(together.bytes <= 1_000_000, `${together.bytes} bytes`);
      // Once the first is shown (no longer in use), the other takes its place.
      const other = files[got.findIndex((g) => g.status === 'rejected')]!;
      assert.equal((await together.info({ path: other })).width, 600);
      assert.ok(together.bytes <= 1_000_000);
      assert.equal((await fs.readdir(path.join(dir, 'together'))).length, 1);
    } finally {
      await together.close();
    }
  });

  test('a cache write that fails (the disk is full) leaves no partial file and breaks nothing else', {
    skip: process.platform === 'win32',
  }, async () => {
    const cacheDir = path.join(dir, 'fault');
    // Files may not grow past 2 MiB in the child: the enlargement's level 1 (2.9 MB) fails midway, as on a full disk.
    const script = `ulimit -f 2048; exec "${process.execPath}" --import tsx test/ml/node/tile-cache-child.ts "$@"`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', script, 'bash', cacheDir, COFFEE, CHELSEA],
        { cwd: ROOT, timeout: 60_000 },
        (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      failed: string;
      files: string[];
      again: string;
      later: string;
      same: string;
      bytes: number;
    };
    assert.match(
      r.failed,
      /^The viewer could not write its cache for ".*coffee\.png" to ".*fault" \(the file would be larger than the system allows\); free some space there, then open the image again\.$/,
    );
    assert.ok(oneSentence(r.failed), r.failed);
    assert.deepEqual(r.files, ['0', '0/L0.v'], 'no partial file is left');
    assert.equal(r.again, r.failed, 'asking again fails the same way, without a stale file');
    assert.equal(r.later, 'ok', 'another image still opens');
    assert.equal(r.same, 'ok', 'the same image still shows at the levels that fit');
    assert.ok(r.bytes < 2_000_000, `${r.bytes} bytes held`);
  });

  test('deleted cache files are let go, so their disk space is freed', {
    skip: process.platform !== 'linux',
  }, async () => {
    const c = new TileCache({ dir: path.join(dir, 'released'), tileSize: 128, maxBytes: 1 });
    // Files this process holds open that were deleted (Linux lists them in /proc/self/fd).
    const heldDeleted = async () => {
      const links = await Promise.all(
        (await fs.readdir('/proc/self/fd')).map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => '')),
      );
      return links.filter((l) => l.startsWith(path.join(dir, 'released')) && l.endsWith('(deleted)'));
    };
    try {
      for (const f of [COFFEE, CHELSEA, MOTORCYCLE]) {
        await c.tile({ path: f }, 0, 0, 0);
        await c.tile({ path: f }, 1, 0, 0);
      }
      assert.equal((await fs.readdir(path.join(dir, 'released'))).length, 1, 'the earlier sources were deleted');
      assert.deepEqual(await heldDeleted(), []);
    } finally {
      await c.close();
    }
  });

  test('concurrent requests for a new file decode it once', async () => {
    const file = path.join(dir, 'once.png');
    await fs.copyFile(COFFEE, file);
    const c = new TileCache({ dir: path.join(dir, 'once') });
    try {
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? c.info({ path: file }) : c.tile({ path: file }, 0, 0, 0))),
      );
      assert.deepEqual(await fs.readdir(path.join(dir, 'once')), ['0']);
    } finally {
      await c.close();
    }
  });
});
