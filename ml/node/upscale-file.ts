import { setImmediate as nextTurn } from 'node:timers/promises';
import sharp from 'sharp';
import { AbortError, errors } from '../errors.ts';
import { upscaleTiles, type PixelSink, type PixelSource, type TileDone, type TileModel } from '../tiling.ts';
import { firstFrameOnly, readPixels, writeRawImage, type OutputFormat, type RawPixels } from './image-io.ts';

/** The output buffer's limit (typed arrays stop at 4 GiB; the encoder needs room too). */
export const MAX_OUTPUT_BYTES = 3 * 1024 ** 3;

/** The smallest side the network is worth running on. */
export const MIN_SIDE = 4;

export interface UpscaleFileOptions {
  /** What computes the tiles: a network from openUpscaler (ONNX Runtime or tfjs). */
  readonly model: TileModel;
  readonly input: string;
  readonly output: string;
  readonly format: OutputFormat;
  /** Replace an existing output (default false: another writer that got there first wins). */
  readonly overwrite?: boolean | undefined;
  readonly tile?: number | undefined;
  readonly overlap?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The output's size, once the input is read (before the first tile). */
  readonly onStart?: ((width: number, height: number) => void) | undefined;
  /** Fraction of this file done, and the tile just finished (for live previews). */
  readonly onProgress?: ((fraction: number, tile: TileDone) => void) | undefined;
}

/**
 * Reads one image, upscales it tile by tile into an 8- or 16-bit buffer (so a large photo costs
 * its output bytes, not floats), upscales its alpha separately (bicubic), and writes the result
 * atomically with the source's metadata. Nothing is written if it fails or is cancelled. An
 * animation or a multi-page file gives its first frame, and a warning that says so.
 */
export async function upscaleFile(
  o: UpscaleFileOptions,
): Promise<{ width: number; height: number; warning: string | null }> {
  const { pixels, hasAlpha, info } = await readPixels(o.input);
  if (pixels.width < MIN_SIDE || pixels.height < MIN_SIDE) {
    throw errors.imageTooSmall(o.input, pixels.width, pixels.height, MIN_SIDE);
  }
  const s = o.model.scale;
  const width = pixels.width * s;
  const height = pixels.height * s;
  const deep = info.bitDepth === 16 && (o.format === 'png' || o.format === 'tiff');
  const channels = hasAlpha && o.format !== 'jpg' ? 4 : 3;
  if (width * height * channels * (deep ? 2 : 1) > MAX_OUTPUT_BYTES)
    throw errors.outputTooLarge(o.input, width, height);
  o.onStart?.(width, height);
  const raw: RawPixels = {
    width,
    height,
    channels,
    data: deep ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels),
  };
  const alpha = hasAlpha ? await upscaleAlpha(pixels, width, height) : undefined;
  for await (const t of upscaleTiles(o.model, pixelSource(pixels), rawSink(raw, alpha, o.format === 'jpg'), o)) {
    o.onProgress?.((t.index + 1) / t.total, t);
    // Tiles resolve through microtasks only; let the event loop turn so a SIGINT (abort) gets through.
    await nextTurn();
  }
  if (o.signal?.aborted) throw new AbortError('Upscaling');
  await writeRawImage(o.output, raw, { format: o.format, source: info, replace: o.overwrite ?? false });
  return { width, height, warning: firstFrameOnly(info, 'upscaled') ?? null };
}

/** Reads regions of 8- or 16-bit pixels as the float RGB the network takes, one tile at a time. */
function pixelSource(p: RawPixels): PixelSource {
  const max = p.data instanceof Uint16Array ? 65535 : 255;
  const ch = p.channels;
  return {
    width: p.width,
    height: p.height,
    read(x, y, w, h) {
      const out = new Float32Array(w * h * 3);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const src = ((y + row) * p.width + x + col) * ch;
          const dst = (row * w + col) * 3;
          out[dst] = p.data[src]! / max;
          out[dst + 1] = p.data[src + 1]! / max;
          out[dst + 2] = p.data[src + 2]! / max;
        }
      }
      return out;
    },
  };
}

/** Bicubic upscaling of the alpha channel (8-bit is plenty for a mask). */
async function upscaleAlpha(p: RawPixels, outW: number, outH: number): Promise<Uint8Array> {
  const n = p.width * p.height;
  const shift = p.data instanceof Uint16Array ? 8 : 0;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = p.data[i * 4 + 3]! >> shift;
  const out = await sharp(bytes, { raw: { width: p.width, height: p.height, channels: 1 }, limitInputPixels: false })
    .resize(outW, outH, { kernel: 'cubic', fit: 'fill' })
    // One channel out as it came in (sharp would otherwise hand back three).
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Quantises tiles into the output buffer. With alpha and a format that has it, alpha fills the 4th
 * channel; for JPEG (no alpha) the colour is flattened on white.
 */
function rawSink(raw: RawPixels, alpha: Uint8Array | undefined, flatten: boolean): PixelSink {
  const top = raw.data instanceof Uint16Array ? 65535 : 255;
  const ch = raw.channels;
  return {
    write(x, y, w, h, rgb) {
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const p = (y + row) * raw.width + (x + col);
          const q = (row * w + col) * 3;
          const a = alpha ? alpha[p]! / 255 : 1;
          for (let c = 0; c < 3; c++) {
            let v = Math.min(1, Math.max(0, rgb[q + c]!));
            if (flatten && alpha) v = v * a + (1 - a);
            raw.data[p * ch + c] = Math.round(v * top);
          }
          if (ch === 4) raw.data[p * ch + 3] = Math.round(a * top);
        }
      }
    },
  };
}
