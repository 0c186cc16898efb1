import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp, { type SharpOptions } from 'sharp';
import { UserError } from '../../../ml/errors.ts';
import type { RgbImage } from '../../../ml/image.ts';
import {
  firstFrameOnly,
  IMAGE_EXTENSIONS,
  imageFormatFromPath,
  readImage,
  readImageSize,
  srgbProfile,
  writeImage,
  writeRawImage,
} from '../../../ml/node/image-io.ts';
import { maxDiff } from '../../helpers/photos.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const COFFEE = path.join(DATA, 'val/coffee.png'); // 600×396
const CHELSEA = path.join(DATA, 'val/chelsea.png'); // 444×300
const XMP =
  '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
  '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" tiff:Model="XmpModel"/>' +
  '</rdf:RDF></x:xmpmeta>';

let dir = '';
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-image-io-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
const tmp = (name: string) => path.join(dir, name);

/** 8-bit sRGB pixels of a file as sharp decodes them, as floats. */
async function reference(file: string, opts: SharpOptions = {}, rotate = 0) {
  const pipe = sharp(file, { autoOrient: true, ...opts })
    .rotate(rotate)
    .removeAlpha();
  const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: Float32Array.from(data, (v) => v / 255) };
}
const meanDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};
const pixel = (img: RgbImage, x: number, y: number) => {
  const at = (y * img.width + x) * 3;
  return Array.from(img.rgb.subarray(at, at + 3));
};
const isUserError = (code: string) => (e: unknown) => {
  assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
  assert.equal(e.code, code);
  assert.doesNotMatch(e.message, /vips|sharp|libpng|\n/i);
  return true;
};
const leftovers = async (folder: string) => (await fs.readdir(folder)).filter((f) => f.endsWith('.tmp'));
const hasSrgbProfile = async (file: string) => (await sharp(file).metadata()).icc?.equals(await srgbProfile()) === true;

test('reads a PNG photo exactly, and its size without decoding', async () => {
  const { image, info } = await readImage(COFFEE);
  assert.equal(image.width, 600);
  assert.equal(image.height, 396);
  assert.equal(image.alpha, undefined);
  assert.deepEqual([info.format, info.bitDepth, info.space, info.hasAlpha], ['png', 8, 'srgb', false]);
  assert.equal(maxDiff(image.rgb, (await reference(COFFEE)).rgb), 0);
  assert.deepEqual(await readImageSize(COFFEE), { width: 600, height: 396 });
});

test('16-bit PNG keeps its 16 bits and agrees with the 8-bit read', async () => {
  const eight = await readImage(COFFEE);
  const u16 = Uint16Array.from(eight.image.rgb, (v, i) => Math.min(65535, Math.round(v * 65535) + (i % 97)));
  await sharp(u16, { raw: { width: 600, height: 396, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(tmp('deep.png'));
  const { image, info } = await readImage(tmp('deep.png'));
  assert.deepEqual([info.bitDepth, info.space], [16, 'rgb16']);
  assert.equal(
    maxDiff(
      image.rgb,
      Float32Array.from(u16, (v) => v / 65535),
    ),
    0,
  );
  assert.ok(maxDiff(image.rgb, eight.image.rgb) <= 1 / 255);
});

test('greyscale, CMYK and palette images come back as sRGB', async () => {
  const coffee = await reference(COFFEE);
  await sharp(COFFEE).toColourspace('b-w').png().toFile(tmp('grey.png'));
  const grey = await readImage(tmp('grey.png'));
  assert.equal(grey.info.space, 'b-w');
  const { data: g, info: gi } = await sharp(tmp('grey.png'))
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(gi.channels, 1);
  for (let i = 0; i < 600 * 396; i++) {
    for (let c = 0; c < 3; c++) assert.equal(grey.image.rgb[i * 3 + c], Math.fround(g[i]! / 255));
  }
  await sharp(COFFEE).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(tmp('cmyk.jpg'));
  const cmyk = await readImage(tmp('cmyk.jpg'));
  assert.equal(cmyk.info.space, 'cmyk');
  assert.ok(meanDiff(cmyk.image.rgb, coffee.rgb) < 0.05, `cmyk ${meanDiff(cmyk.image.rgb, coffee.rgb)}`);
  await sharp(COFFEE).png({ palette: true, colours: 256 }).toFile(tmp('palette.png'));
  assert.equal((await sharp(tmp('palette.png')).metadata()).isPalette, true);
  const pal = await readImage(tmp('palette.png'));
  assert.ok(meanDiff(pal.image.rgb, coffee.rgb) < 0.02, `palette ${meanDiff(pal.image.rgb, coffee.rgb)}`);
});

test('WebP, TIFF, AVIF and the first frame of a GIF decode to the photo', async () => {
  const coffee = await reference(COFFEE);
  const cases = [
    ['webp', sharp(COFFEE).webp({ quality: 95 }), 0.02],
    ['tiff', sharp(COFFEE).tiff({ compression: 'lzw' }), 0],
    ['avif', sharp(COFFEE).avif({ quality: 80 }), 0.03],
  ] as const;
  for (const [format, pipe, tolerance] of cases) {
    await pipe.toFile(tmp(`photo.${format}`));
    const { image, info } = await readImage(tmp(`photo.${format}`));
    assert.equal(info.format, format);
    assert.deepEqual([image.width, image.height], [600, 396]);
    assert.ok(meanDiff(image.rgb, coffee.rgb) <= tolerance, `${format} ${meanDiff(image.rgb, coffee.rgb)}`);
  }
  // Two frames: the photo, then its negative.
  const raw = await sharp(COFFEE).raw().toBuffer();
  const frames = Buffer.concat([raw, Buffer.from(raw.map((v) => 255 - v))]);
  await sharp(frames, { raw: { width: 600, height: 792, channels: 3, pageHeight: 396 } })
    .gif()
    .toFile(tmp('anim.gif'));
  const gif = await readImage(tmp('anim.gif'));
  assert.deepEqual([gif.info.format, gif.image.width, gif.image.height], ['gif', 600, 396]);
  assert.ok(meanDiff(gif.image.rgb, coffee.rgb) < 0.03, `gif ${meanDiff(gif.image.rgb, coffee.rgb)}`);
});

test('alpha is returned separately, and dropped when fully opaque', async () => {
  const raw = await sharp(COFFEE).raw().toBuffer();
  const rgba = Buffer.alloc(600 * 396 * 4);
  for (let i = 0; i < 600 * 396; i++) {
    raw.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = Math.round(((i % 600) / 599) * 255);
  }
  await sharp(rgba, { raw: { width: 600, height: 396, channels: 4 } })
    .png()
    .toFile(tmp('alpha.png'));
  const { image, info } = await readImage(tmp('alpha.png'));
  assert.ok(info.hasAlpha && image.alpha);
  assert.equal(
    maxDiff(
      image.rgb,
      Float32Array.from(raw, (v) => v / 255),
    ),
    0,
  );
  assert.equal(image.alpha[0], 0);
  assert.equal(image.alpha[599], 1);
  assert.equal(image.alpha[300], Math.fround(rgba[300 * 4 + 3]! / 255));
  await sharp(COFFEE).ensureAlpha(1).png().toFile(tmp('opaque.png'));
  const opaque = await readImage(tmp('opaque.png'));
  assert.equal(opaque.info.hasAlpha, true);
  assert.equal(opaque.image.alpha, undefined);
});

test('EXIF orientation 6 is applied: sizes swap and pixels move', async () => {
  const original = await reference(CHELSEA);
  await sharp(CHELSEA)
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .withMetadata({ orientation: 6 })
    .toFile(tmp('o6.jpg'));
  assert.deepEqual(await readImageSize(tmp('o6.jpg')), { width: 300, height: 444 });
  const { image, info } = await readImage(tmp('o6.jpg'));
  assert.deepEqual([image.width, image.height, info.width, info.height], [300, 444, 300, 444]);
  const at = (x: number, y: number) => pixel({ ...original, alpha: undefined }, x, y);
  // Displayed (x, y) is stored (y, H-1-x): the top-left shows the bottom-left, the top-right the top-left.
  assert.ok(maxDiff(pixel(image, 0, 0), at(0, 299)) < 0.03);
  assert.ok(maxDiff(pixel(image, 299, 0), at(0, 0)) < 0.03);
  assert.ok(maxDiff(pixel(image, 150, 200), at(200, 149)) < 0.03);
  // Written back, it carries no rotation: the size stays upright.
  for (const format of ['jpg', 'png', 'webp', 'tiff', 'avif'] as const) {
    await writeImage(tmp(`upright.${format}`), image, { format, source: info });
    const m = await sharp(tmp(`upright.${format}`)).metadata();
    assert.ok(m.orientation === undefined || m.orientation === 1, `${format} orientation ${m.orientation}`);
    assert.deepEqual(await readImageSize(tmp(`upright.${format}`)), { width: 300, height: 444 });
  }
});

test('damaged, empty, missing and oversized inputs give one clear user error', async () => {
  // A real photo saved as the training photos are (JPEG q95, 4:4:4), then cut in half.
  await sharp(path.join(DATA, 'val/motorcycle_left.png'))
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toFile(tmp('photo.jpg'));
  const jpg = await fs.readFile(tmp('photo.jpg'));
  await fs.writeFile(tmp('half.jpg'), jpg.subarray(0, jpg.length >> 1));
  await assert.rejects(readImage(tmp('half.jpg')), isUserError('unreadable-image'));
  await assert.rejects(readImage(tmp('half.jpg')), /cut short/);
  await fs.writeFile(tmp('text.png'), 'this is not a picture\n');
  await assert.rejects(readImage(tmp('text.png')), isUserError('unreadable-image'));
  await assert.rejects(readImageSize(tmp('text.png')), isUserError('unreadable-image'));
  await fs.writeFile(tmp('empty.png'), '');
  await assert.rejects(readImage(tmp('empty.png')), isUserError('empty-file'));
  await assert.rejects(readImage(tmp('nope.png')), isUserError('missing-path'));
  await assert.rejects(readImage(dir), isUserError('unreadable-image'));
  // A PNG whose header claims 20000×20000 pixels is refused before decoding.
  const png = Buffer.from(await sharp(COFFEE).png().toBuffer());
  png.writeUInt32BE(20000, 16);
  png.writeUInt32BE(20000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  await fs.writeFile(tmp('huge.png'), png);
  await assert.rejects(readImage(tmp('huge.png')), /megapixels/);
});

test('a pipe or a device is refused as not a regular file, without being opened', async () => {
  const fifo = tmp('fifo.png');
  const made = await new Promise<number | null>((resolve) => spawn('mkfifo', [fifo]).on('close', resolve));
  assert.equal(made, 0, 'mkfifo made the pipe');
  await fs.symlink('/dev/zero', tmp('zero.png'));
  // Opening the pipe (it has no writer) would block for ever, and /dev/zero never ends.
  for (const [file, kind] of [
    [fifo, 'pipe'],
    [tmp('zero.png'), 'device'],
  ] as const) {
    for (const read of [readImage, readImageSize]) {
      await assert.rejects(read(file), isUserError('unreadable-image'));
      await assert.rejects(
        read(file),
        new RegExp(
          `"[^"]*${path.basename(file)}" is not a regular file \\(it is a ${kind}\\); save the image to a file`,
        ),
      );
    }
  }
  await assert.rejects(readImage(dir), /it is a folder, not a file/);
});

test('an animation or a multi-page file gives its first frame, with its number of frames or pages', async () => {
  const second = await sharp(CHELSEA).resize(64, 64).png().toBuffer();
  const first = await sharp(COFFEE).resize(64, 64).png().toBuffer();
  for (const [format, what] of [
    ['gif', 'frames'],
    ['webp', 'frames'],
    ['tiff', 'pages'],
  ] as const) {
    const file = tmp(`two.${format}`);
    await sharp([first, second], { join: { animated: true } })
      [format]()
      .toFile(file);
    const { image, info } = await readImage(file);
    assert.deepEqual([image.width, image.height, info.pages], [64, 64, 2], format);
    const ref = await reference(file, { pages: 1 });
    assert.ok(meanDiff(image.rgb, ref.rgb) < 0.01, `${format}: the first frame`);
    assert.equal(
      firstFrameOnly(info, 'upscaled'),
      `${JSON.stringify(file)} has 2 ${what}; only the first was upscaled.`,
    );
  }
  const one = await readImage(COFFEE);
  assert.equal(one.info.pages, 1);
  assert.equal(firstFrameOnly(one.info, 'upscaled'), undefined);
});

test('a 60-megapixel photo is read', async () => {
  const file = tmp('60mp.jpg');
  await sharp(path.join(DATA, 'val/motorcycle_left.png'))
    .resize(10000, 6000, { kernel: 'nearest' })
    .jpeg()
    .toFile(file);
  const { image } = await readImage(file);
  assert.deepEqual([image.width, image.height, image.rgb.length], [10000, 6000, 180e6]);
});

test('PNG and TIFF round trips are exact, lossy formats are close, all tagged sRGB', async () => {
  const { image, info } = await readImage(COFFEE);
  for (const [format, tolerance] of [
    ['png', 0],
    ['tiff', 0],
    ['jpg', 0.015],
    ['webp', 0.015],
    ['avif', 0.02],
  ] as const) {
    const file = tmp(`round.${format}`);
    await writeImage(file, image, { format, source: info });
    const back = await readImage(file);
    assert.ok(meanDiff(back.image.rgb, image.rgb) <= tolerance, `${format} ${meanDiff(back.image.rgb, image.rgb)}`);
    if (tolerance === 0) assert.equal(maxDiff(back.image.rgb, image.rgb), 0);
    assert.ok(await hasSrgbProfile(file), `${format} is tagged sRGB`);
  }
  assert.equal((await sharp(tmp('round.png')).metadata()).density, 96);
});

test('16-bit PNG output keeps 16 bits, is tagged sRGB and round-trips exactly', async () => {
  const u16 = Uint16Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7919) % 65536);
  await sharp(u16, { raw: { width: 64, height: 48, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(tmp('in16.png'));
  const { image, info } = await readImage(tmp('in16.png'));
  await writeImage(tmp('out16.png'), image, { format: 'png', source: info });
  const m = await sharp(tmp('out16.png')).metadata();
  assert.equal(m.depth, 'ushort');
  assert.ok(await hasSrgbProfile(tmp('out16.png')));
  assert.equal(maxDiff((await readImage(tmp('out16.png'))).image.rgb, image.rgb), 0);
  await writeImage(tmp('out8.png'), image, { format: 'png', source: info, bitDepth: 8 });
  assert.equal((await sharp(tmp('out8.png')).metadata()).depth, 'uchar');
});

test('alpha survives a round trip; JPEG flattens it on white', async () => {
  const { image } = await readImage(COFFEE);
  const alpha = Float32Array.from({ length: 600 * 396 }, (_, i) => Math.round(((i % 600) / 599) * 255) / 255);
  const img: RgbImage = { ...image, alpha };
  for (const [format, tolerance] of [
    ['png', 0],
    ['tiff', 0],
    ['webp', 1 / 255],
    ['avif', 0.02],
  ] as const) {
    await writeImage(tmp(`alpha.${format}`), img, { format });
    const back = await readImage(tmp(`alpha.${format}`));
    assert.ok(back.image.alpha, format);
    assert.ok(maxDiff(back.image.alpha, alpha) <= tolerance, `${format} ${maxDiff(back.image.alpha, alpha)}`);
  }
  await writeImage(tmp('alpha16.png'), img, { format: 'png', bitDepth: 16 });
  assert.ok(maxDiff((await readImage(tmp('alpha16.png'))).image.alpha!, alpha) < 1e-6);
  await writeImage(tmp('flat.jpg'), img, { format: 'jpg', quality: 95 });
  const flat = await readImage(tmp('flat.jpg'));
  assert.equal(flat.image.alpha, undefined);
  for (const v of pixel(flat.image, 0, 200)) assert.ok(v > 0.95, 'transparent becomes white');
  assert.ok(maxDiff(pixel(flat.image, 599, 200), pixel(image, 599, 200)) < 0.05, 'opaque stays');
});

describe('metadata is carried over, orientation reset, colours converted to sRGB', () => {
  // A JPEG with EXIF, XMP, an orientation and a Display P3 profile, read once.
  let read: Awaited<ReturnType<typeof readImage>>;
  let photo: Awaited<ReturnType<typeof reference>>;
  let p3: Awaited<ReturnType<typeof reference>>;
  before(async () => {
    const src = tmp('tagged.jpg');
    await sharp(CHELSEA)
      .withExif({ IFD0: { Make: 'SRTestCam' } })
      .withMetadata({ orientation: 6 })
      .withXmp(XMP)
      .withIccProfile('p3')
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toFile(src);
    read = await readImage(src);
    photo = await reference(CHELSEA, {}, 90);
    p3 = await reference(src, { ignoreIcc: true });
  });

  test('a P3 file is read with its metadata and its pixels converted to sRGB', async () => {
    const { image, info } = read;
    assert.ok(info.exif && info.xmp && info.icc && !info.icc.equals(await srgbProfile()));
    // P3 pixels were converted back to sRGB: close to the photo, unlike the file's raw values.
    assert.deepEqual([p3.width, p3.height, photo.width, photo.height], [300, 444, 300, 444]);
    assert.ok(meanDiff(image.rgb, photo.rgb) < 0.005, `sRGB ${meanDiff(image.rgb, photo.rgb)}`);
    assert.ok(meanDiff(p3.rgb, photo.rgb) > 0.01, `P3 ${meanDiff(p3.rgb, photo.rgb)}`);
  });

  for (const format of ['jpg', 'png', 'webp', 'tiff', 'avif'] as const) {
    test(`${format}: written upright and tagged sRGB, with the XMP (and EXIF and IPTC where the format keeps them)`, async () => {
      const { image, info } = read;
      const iptc = Buffer.from([0x1c, 0x02, 0x78, 0x00, 0x07, ...Buffer.from('caption')]);
      const file = tmp(`meta.${format}`);
      await writeImage(file, image, { format, source: { ...info, iptc } });
      const m = await sharp(file).metadata();
      assert.ok(m.orientation === undefined || m.orientation === 1, format);
      assert.ok(await hasSrgbProfile(file), `${format} is tagged sRGB`);
      assert.match(m.xmp?.toString() ?? '', /XmpModel/);
      assert.match(m.xmp?.toString() ?? '', /tiff:Orientation="1"/);
      if (format === 'jpg' || format === 'png' || format === 'webp') {
        assert.ok(m.exif?.includes('SRTestCam'), `${format} keeps EXIF`);
      }
      if (format === 'jpg') assert.ok(m.iptc?.includes('caption'), 'JPEG keeps IPTC');
    });
  }

  test('a 16-bit P3 file is converted to sRGB too', async () => {
    const { image } = read;
    const deep = Uint16Array.from(p3.rgb, (v) => Math.round(v * 65535));
    await sharp(deep, { raw: { width: 300, height: 444, channels: 3 } })
      .toColourspace('rgb16')
      .withIccProfile('p3')
      .png()
      .toFile(tmp('p3-16.png'));
    const read16 = await readImage(tmp('p3-16.png'));
    assert.equal(read16.info.bitDepth, 16);
    assert.ok(meanDiff(read16.image.rgb, image.rgb) < 0.002, `16-bit ${meanDiff(read16.image.rgb, image.rgb)}`);
    assert.ok(meanDiff(read16.image.rgb, photo.rgb) < 0.005);
  });
});

test('writes are atomic: failures leave no temporary file and give user errors', async () => {
  const { image } = await readImage(path.join(DATA, 'tiny/coffee_64x64.png'));
  await fs.mkdir(tmp('taken.png'));
  await fs.writeFile(tmp('taken.png/keep'), 'x');
  await assert.rejects(writeImage(tmp('taken.png'), image, { format: 'png' }), isUserError('unwritable-output'));
  assert.deepEqual(await leftovers(dir), []);
  await fs.writeFile(tmp('file'), 'x');
  await assert.rejects(writeImage(tmp('file/out.png'), image, { format: 'png' }), isUserError('unwritable-output'));
  // A missing folder is created, as the CLI's -o promises.
  await writeImage(tmp('no/such/out.png'), image, { format: 'png' });
  assert.equal((await readImage(tmp('no/such/out.png'))).image.width, image.width);
  if (process.getuid?.() !== 0) {
    await fs.mkdir(tmp('locked'));
    await fs.chmod(tmp('locked'), 0o555);
    await assert.rejects(writeImage(tmp('locked/out.png'), image, { format: 'png' }), isUserError('unwritable-output'));
    assert.deepEqual(await leftovers(tmp('locked')), []);
    await fs.chmod(tmp('locked'), 0o755);
  }
  // A successful write replaces the old file whole and leaves nothing beside it.
  await fs.writeFile(tmp('over.png'), 'old contents');
  await writeImage(tmp('over.png'), image, { format: 'png' });
  assert.deepEqual(await readImageSize(tmp('over.png')), { width: 64, height: 64 });
  assert.deepEqual(await leftovers(dir), []);
  const huge: RgbImage = { width: 16384, height: 1, rgb: new Float32Array(16384 * 3) };
  await assert.rejects(writeImage(tmp('huge.webp'), huge, { format: 'webp' }), isUserError('bad-argument'));
});

test('formats by extension', () => {
  assert.equal(imageFormatFromPath('a/B.JPEG'), 'jpg');
  assert.equal(imageFormatFromPath('x.jpg'), 'jpg');
  assert.equal(imageFormatFromPath('x.Tif'), 'tiff');
  assert.equal(imageFormatFromPath('x.avif'), 'avif');
  assert.equal(imageFormatFromPath('x.gif'), 'gif');
  assert.equal(imageFormatFromPath('x.txt'), undefined);
  assert.equal(imageFormatFromPath('png'), undefined);
  assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['avif', 'gif', 'jpeg', 'jpg', 'png', 'tif', 'tiff', 'webp']);
});

test('16-bit greyscale keeps its 16 bits', async () => {
  const g16 = Uint16Array.from({ length: 40 * 30 }, (_, i) => (i * 4099) % 65536);
  await sharp(g16, { raw: { width: 40, height: 30, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(tmp('g16.png'));
  const { image, info } = await readImage(tmp('g16.png'));
  assert.deepEqual([info.bitDepth, info.space], [16, 'grey16']);
  for (let i = 0; i < 40 * 30; i++) {
    assert.deepEqual(pixel(image, i % 40, Math.floor(i / 40)), Array(3).fill(Math.fround(g16[i]! / 65535)));
  }
});

test('writeRawImage writes quantised pixels: 16 bits for PNG and TIFF, 8 bits elsewhere', async () => {
  const { image } = await readImage(path.join(DATA, 'tiny/chelsea_96x72.png'));
  const data = Uint16Array.from(image.rgb, (v, i) => Math.round(v * 65535) ^ (i % 3)); // below 8-bit precision
  const raw = { width: 96, height: 72, channels: 3, data } as const;
  await writeRawImage(tmp('raw16.tiff'), raw, { format: 'tiff' });
  assert.equal((await sharp(tmp('raw16.tiff')).metadata()).depth, 'ushort');
  assert.equal(
    maxDiff(
      (await readImage(tmp('raw16.tiff'))).image.rgb,
      Float32Array.from(data, (v) => v / 65535),
    ),
    0,
  );
  await writeRawImage(tmp('raw16.png'), raw, { format: 'png' });
  assert.equal(
    maxDiff(
      (await readImage(tmp('raw16.png'))).image.rgb,
      Float32Array.from(data, (v) => v / 65535),
    ),
    0,
  );
  await writeRawImage(tmp('raw16.webp'), raw, { format: 'webp', quality: 100 });
  const webp = await readImage(tmp('raw16.webp'));
  assert.equal(webp.info.bitDepth, 8);
  assert.ok(meanDiff(webp.image.rgb, image.rgb) < 0.01, 'no colour shift when dropping to 8 bits');
  const rgba = new Uint8Array(96 * 72 * 4).fill(0); // transparent black
  await writeRawImage(tmp('rgba.jpg'), { width: 96, height: 72, channels: 4, data: rgba }, { format: 'jpg' });
  for (const v of (await readImage(tmp('rgba.jpg'))).image.rgb) assert.ok(v > 0.98, 'flattened on white');
  await assert.rejects(writeRawImage(tmp('bad.png'), { ...raw, width: 95 }, { format: 'png' }), /bad raw buffer/);
});
