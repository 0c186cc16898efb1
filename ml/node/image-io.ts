/**
 * Node adapter between image files and `RgbImage`, built on sharp (libvips).
 *
 * Colour policy, one rule both ways: pixels in memory are always sRGB, and every file written is
 * tagged with the standard sRGB ICC profile. `readImage` converts through the embedded profile
 * (LittleCMS, perceptual intent; CMYK without a profile through libvips' CMYK profile; greyscale
 * copied to R = G = B; untagged files are taken as sRGB). `writeImage` never re-attaches the
 * source's own profile, even an sRGB one: the pixels are no longer in a foreign profile, and
 * attaching a profile through libvips means transforming to it, which for LUT-based (v4) sRGB
 * variants would alter pixels; the built-in sRGB profile keeps them exact. `SourceInfo.icc` is
 * kept for information only.
 *
 * Other metadata from `source` is carried over where the format allows: EXIF to JPEG, PNG and WebP
 * (with Orientation set to 1, since pixels are read upright, and the unrotated thumbnail dropped),
 * XMP to all five (tiff:Orientation set to 1), IPTC to JPEG, and the density (DPI). TIFF and AVIF
 * get no EXIF. Alpha is kept where the format has it and flattened on white for JPEG. One exception
 * to the tagging rule: 16-bit TIFF is written untagged (sRGB by convention), because libvips can
 * only attach a profile to 16-bit data by transforming it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Metadata } from 'sharp';
import { errors, UserError } from '../errors.ts';
import { assertImage, type RgbImage } from '../image.ts';
import { jpegWithSegments, pngWithChunk, uprightExif, uprightXmp, webpWithExif } from './metadata.ts';
import { writeFileAtomic } from './atomic.ts';

export type ImageFormat = 'jpg' | 'png' | 'webp' | 'tiff' | 'avif' | 'gif';
export type OutputFormat = Exclude<ImageFormat, 'gif'>;
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpg', 'webp', 'tiff', 'avif'];

/** Extensions `readImage` accepts (compare lower-cased, without the dot). */
export const IMAGE_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'avif', 'gif'];
/** Larger inputs are refused before decoding (a 150-MP image takes 1.8 GB as floats). */
export const MAX_INPUT_PIXELS = 150_000_000;

export interface SourceInfo {
  readonly path: string;
  /** jpg, png, webp, tiff, avif, gif (or libvips' name for anything else it decoded). */
  readonly format: string;
  /** Size after EXIF orientation, i.e. the size of the decoded `RgbImage`. */
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  readonly bitDepth: 8 | 16;
  /** libvips' interpretation of the file: srgb, rgb16, b-w, grey16, cmyk, ... */
  readonly space: string;
  readonly icc?: Buffer | undefined;
  readonly exif?: Buffer | undefined;
  readonly xmp?: Buffer | undefined;
  readonly iptc?: Buffer | undefined;
  /** Pixels per inch. */
  readonly density?: number | undefined;
  /** Frames of an animation or pages of a multi-page file; only the first is read. */
  readonly pages?: number | undefined;
}

export interface DecodedImage {
  readonly image: RgbImage;
  readonly info: SourceInfo;
}

export interface WriteOptions {
  readonly format: OutputFormat;
  /** Metadata to carry over (see the policy at the top of this file). */
  readonly source?: SourceInfo | undefined;
  /** 1–100 for jpg (default 92), webp (90) and avif (70); ignored for png and tiff (lossless). */
  readonly quality?: number | undefined;
  /** 16 is honoured for PNG and TIFF; defaults to 16 there when the source was 16-bit, else 8. */
  readonly bitDepth?: 8 | 16 | undefined;
  /** false: fail with output-exists rather than replace a file that is there (default true). */
  readonly replace?: boolean | undefined;
}

const EXT_FORMAT: Record<string, ImageFormat> = { jpeg: 'jpg', tif: 'tiff' };

/** The format an extension names (case-insensitive), or undefined if it is not an image. */
export function imageFormatFromPath(p: string): ImageFormat | undefined {
  const ext = path.extname(p).slice(1).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) return undefined;
  return EXT_FORMAT[ext] ?? (ext as ImageFormat);
}

/** How every file is decoded: strict, upright, the first page, within the pixel limit. */
export const INPUT = { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, autoOrient: true, pages: 1 } as const;

const READ_FAILURES: readonly (readonly [RegExp, string])[] = [
  [/pixel limit/i, `it has more than ${MAX_INPUT_PIXELS / 1e6} megapixels`],
  [/unsupported image format/i, 'it is not in a supported image format'],
  [/premature|truncat|end of (file|input|image|data)|read error|short read/i, 'the file is cut short or damaged'],
];

/** Turns a failure to read `p` into one clear user error; sharp's own message is never shown. */
export function readError(e: unknown, p: string): Error {
  if (e instanceof UserError) return e;
  const code = (e as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return errors.missingPath(p);
  if (code === 'EACCES' || code === 'EPERM') return errors.unreadableImage(p, 'permission denied');
  if (typeof code === 'string') return errors.unreadableImage(p, `the file could not be opened: ${code}`);
  const msg = e instanceof Error ? e.message : String(e);
  if (/is missing/.test(msg)) return errors.missingPath(p); // deleted while being read
  const why = READ_FAILURES.find(([re]) => re.test(msg))?.[1] ?? 'the image data is damaged';
  return errors.unreadableImage(p, why);
}

async function checkFile(p: string): Promise<void> {
  const st = await fs.stat(p).catch((e: unknown) => {
    throw readError(e, p);
  });
  if (st.isDirectory()) throw errors.unreadableImage(p, 'it is a folder, not a file');
  // Never opened: reading a pipe waits for a writer, and a device may never end.
  if (!st.isFile()) throw errors.notARegularFile(p, st.isFIFO() ? 'pipe' : st.isSocket() ? 'socket' : 'device');
  if (st.size === 0) throw errors.emptyFile(p);
}

/** "2 frames" (an animation) or "3 pages" (a multi-page TIFF); undefined when the file holds one image. */
export function framesOf(info: SourceInfo): string | undefined {
  const n = info.pages ?? 1;
  return n > 1 ? `${n} ${info.format === 'tiff' ? 'pages' : 'frames'}` : undefined;
}

/** The sentence that says only the first frame (or page) of a file was `done` ("upscaled"). */
export function firstFrameOnly(info: SourceInfo, done: string): string | undefined {
  const frames = framesOf(info);
  return frames && `${JSON.stringify(info.path)} has ${frames}; only the first was ${done}.`;
}

const formatName = (m: Metadata): string =>
  m.format === 'heif' && m.compression === 'av1' ? 'avif' : m.format === 'jpeg' ? 'jpg' : m.format;

/** Width and height after EXIF orientation, from the header only (no pixels are decoded). */
export async function readImageSize(p: string): Promise<{ width: number; height: number }> {
  await checkFile(p);
  try {
    const m = await sharp(p, INPUT).metadata();
    return { width: m.autoOrient.width, height: m.autoOrient.height };
  } catch (e) {
    throw readError(e, p);
  }
}

/** Decoded pixels as they come from the file: interleaved RGB or RGBA, 8 or 16 bits. */
export interface DecodedPixels {
  readonly pixels: RawPixels;
  /** False when there is no alpha channel or every pixel is opaque. */
  readonly hasAlpha: boolean;
  readonly info: SourceInfo;
}

/**
 * Decodes the first frame of `p`, upright, in sRGB, keeping 8 or 16 bits per channel: a quarter or
 * half the memory of floats, for callers (tiled upscaling) that convert a region at a time.
 */
export async function readPixels(p: string): Promise<DecodedPixels> {
  await checkFile(p);
  try {
    const m = await sharp(p, INPUT).metadata();
    const deep = m.depth !== 'uchar' && m.depth !== 'char';
    // Our own 16-bit output is tagged with the built-in sRGB profile: skip the colour transform.
    const srgb = deep && m.icc?.equals(await srgbProfile()) === true;
    let pipe = sharp(p, { ...INPUT, ignoreIcc: srgb }).toColourspace(deep ? 'rgb16' : 'srgb');
    // sharp converts 16-bit RGB with a profile to Display P3, not sRGB: finish the trip to sRGB.
    if (deep && m.hasProfile && !srgb && m.space !== 'grey16') pipe = pipe.withIccProfile('srgb');
    const { data, info } = await pipe.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const aligned = data.byteOffset % 2 === 0 ? data : Uint8Array.from(data);
    const px = deep
      ? new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.length);
    const { width, height, channels } = info;
    // toColourspace gives 3 bands, or 4 with alpha.
    let hasAlpha = channels === 4;
    if (hasAlpha) {
      const max = deep ? 65535 : 255;
      hasAlpha = false;
      for (let j = 3; j < px.length; j += 4) {
        if (px[j] !== max) {
          hasAlpha = true;
          break;
        }
      }
    }
    const sourceInfo: SourceInfo = {
      path: p,
      format: formatName(m),
      width,
      height,
      hasAlpha: m.hasAlpha,
      bitDepth: deep ? 16 : 8,
      space: m.space,
      icc: m.icc,
      exif: m.exif,
      xmp: m.xmp,
      iptc: m.iptc,
      density: m.density,
      pages: m.pages ?? 1,
    };
    return { pixels: { width, height, channels: channels as 3 | 4, data: px }, hasAlpha, info: sourceInfo };
  } catch (e) {
    throw readError(e, p);
  }
}

/** Decodes the first frame of `p`, upright, as sRGB floats in [0, 1] (16-bit files keep 16 bits). */
export async function readImage(p: string): Promise<DecodedImage> {
  const { pixels, hasAlpha, info } = await readPixels(p);
  const { width, height, channels: ch, data: px } = pixels;
  const max = px instanceof Uint16Array ? 65535 : 255;
  const n = width * height;
  const rgb = new Float32Array(n * 3);
  const alpha = hasAlpha ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = px[i * ch]! / max;
    rgb[i * 3 + 1] = px[i * ch + 1]! / max;
    rgb[i * 3 + 2] = px[i * ch + 2]! / max;
    if (alpha) alpha[i] = px[i * ch + 3]! / max;
  }
  return { image: { width, height, rgb, alpha }, info };
}

let srgbIcc: Promise<Buffer> | undefined;
/** libvips' built-in sRGB profile, the one every output is tagged with. */
export function srgbProfile(): Promise<Buffer> {
  srgbIcc ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then(async (b) => {
      const icc = (await sharp(b).metadata()).icc;
      if (!icc) throw new Error('libvips has no built-in sRGB profile');
      return icc;
    });
  return srgbIcc;
}

/** Pixels already quantised for writing: interleaved RGB (3) or RGBA (4), 8 or 16 bits. */
export interface RawPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array | Uint16Array;
}

const MAX_SIDE: Partial<Record<OutputFormat, number>> = { jpg: 65535, webp: 16383 };
const FORMAT_NAME: Record<OutputFormat, string> = { jpg: 'JPEG', png: 'PNG', webp: 'WebP', tiff: 'TIFF', avif: 'AVIF' };

/**
 * Encodes `img` and writes it to `p` atomically: the bytes go to a temporary file beside `p`
 * which is then renamed over it, so `p` is never left half-written. Errors are user errors.
 */
export async function writeImage(p: string, img: RgbImage, opts: WriteOptions): Promise<void> {
  assertImage(img);
  const { width, height, alpha } = img;
  const deep = (opts.format === 'png' || opts.format === 'tiff') && (opts.bitDepth ?? opts.source?.bitDepth) === 16;
  const keepAlpha = alpha !== undefined && opts.format !== 'jpg';
  const ch = keepAlpha ? 4 : 3;
  const top = deep ? 65535 : 255;
  const n = width * height;
  const data = deep ? new Uint16Array(n * ch) : new Uint8Array(n * ch);
  for (let i = 0; i < n; i++) {
    const a = alpha ? alpha[i]! : 1;
    for (let c = 0; c < 3; c++) {
      let v = img.rgb[i * 3 + c]!;
      if (alpha && !keepAlpha) v = v * a + (1 - a); // flatten on white
      data[i * ch + c] = Math.round(Math.min(Math.max(v, 0), 1) * top);
    }
    if (keepAlpha) data[i * ch + 3] = Math.round(Math.min(Math.max(a, 0), 1) * top);
  }
  await writeRawImage(p, { width, height, channels: ch, data }, opts);
}

/**
 * `writeImage` for pixels already quantised (so a large output costs its bytes, not floats).
 * 16-bit data stays 16-bit for PNG and TIFF and is rounded to 8 bits for the other formats; RGBA
 * written as JPEG is flattened on white. `opts.bitDepth` is ignored (the data decides).
 */
export async function writeRawImage(p: string, raw: RawPixels, opts: WriteOptions): Promise<void> {
  const { width, height, channels } = raw;
  if (raw.data.length !== width * height * channels)
    throw new Error(`bad raw buffer for ${width}×${height}×${channels}`);
  const max = MAX_SIDE[opts.format];
  if (max && Math.max(width, height) > max) {
    throw errors.badArgument(
      `${JSON.stringify(p)} would be ${width}×${height} pixels, more than ${FORMAT_NAME[opts.format]} allows ` +
        `(${max} per side); choose PNG or TIFF.`,
    );
  }
  await writeFileAtomic(p, await encode(raw, opts), { replace: opts.replace ?? true });
}

async function encode(raw: RawPixels, opts: WriteOptions): Promise<Buffer> {
  const { format, source } = opts;
  const { width, height, channels } = raw;
  let { data } = raw;
  if (data instanceof Uint16Array && format !== 'png' && format !== 'tiff') {
    data = Uint8Array.from(data, (v) => Math.round(v / 257));
  }
  const deep = data instanceof Uint16Array;
  let s = sharp(data, { raw: { width, height, channels }, limitInputPixels: false });
  // 8-bit: sRGB → built-in sRGB is the identity. 16-bit: sharp would take the data for Display P3
  // and transform it, so PNG gets the profile added below and TIFF stays untagged (= sRGB).
  s = deep ? s.toColourspace('rgb16') : s.withIccProfile('srgb');
  if (source?.density) s = s.withDensity(source.density);
  if (source?.xmp) s = s.withXmp(uprightXmp(source.xmp));
  const quality = opts.quality;
  if (format === 'jpg') {
    const q = quality ?? 92;
    if (channels === 4) s = s.flatten({ background: '#ffffff' });
    s = s.jpeg({ quality: q, chromaSubsampling: q >= 90 ? '4:4:4' : '4:2:0' });
  } else if (format === 'png') s = s.png({ compressionLevel: 6 });
  else if (format === 'webp') s = s.webp({ quality: quality ?? 90, alphaQuality: 100 });
  else if (format === 'tiff') s = s.tiff({ compression: 'deflate', predictor: 'horizontal' });
  else s = s.avif({ quality: quality ?? 70 });
  let out: Buffer = await s.toBuffer();
  if (deep && format === 'png') {
    const iccp = Buffer.concat([Buffer.from('sRGB\0\0', 'latin1'), deflateSync(await srgbProfile())]);
    out = pngWithChunk(out, 'iCCP', iccp); // name "sRGB", compression 0, zlib data
  }
  const exif = source?.exif && uprightExif(source.exif);
  if (format === 'jpg') out = jpegWithSegments(out, exif, source?.iptc);
  if (exif && format === 'png') out = pngWithChunk(out, 'eXIf', exif);
  if (exif && format === 'webp') out = webpWithExif(out, exif);
  return out;
}
