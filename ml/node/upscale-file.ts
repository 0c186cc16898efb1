import { setImmediate as nextTurn } from 'node:timers/promises';
import sharp from 'sharp';
import { AbortError, errors } from '../errors.ts';
import type { Network } from '../network.ts';
import { imageSource, upscaleTiles, type PixelSink, type TileDone } from '../tiling.ts';
import type { OutputFormat } from './image-io.ts';
import { readImage, writeRawImage, type RawPixels } from './image-io.ts';

/** The smallest side the network is worth running on. */
export const MIN_SIDE = 4;

export interface UpscaleFileOptions {
  readonly net: Network;
  readonly input: string;
  readonly output: string;
  readonly format: OutputFormat;
  readonly tile?: number | undefined;
  readonly overlap?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Fraction of this file done, and the tile just finished (for live previews). */
  readonly onProgress?: ((fraction: number, tile: TileDone) => void) | undefined;
}

/**
 * Reads one image, upscales it tile by tile into an 8- or 16-bit buffer (so a large photo costs
 * its output bytes, not floats), upscales its alpha separately (bicubic), and writes the result
 * atomically with the source's metadata. Nothing is written if it fails or is cancelled.
 */
export async function upscaleFile(o: UpscaleFileOptions): Promise<{ width: number; height: number }> {
  const { image, info } = await readImage(o.input);
  if (image.width < MIN_SIDE || image.height < MIN_SIDE) {
    throw errors.imageTooSmall(o.input, image.width, image.height, MIN_SIDE);
  }
  const s = o.net.config.scale;
  const width = image.width * s;
  const height = image.height * s;
  const deep = info.bitDepth === 16 && (o.format === 'png' || o.format === 'tiff');
  const channels = image.alpha && o.format !== 'jpg' ? 4 : 3;
  const raw: RawPixels = {
    width,
    height,
    channels,
    data: deep ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels),
  };
  const alpha = image.alpha ? await upscaleAlpha(image.alpha, image.width, image.height, width, height) : undefined;
  for await (const t of upscaleTiles(o.net, imageSource(image), rawSink(raw, alpha, o.format === 'jpg'), o)) {
    o.onProgress?.((t.index + 1) / t.total, t);
    // Tiles resolve through microtasks only; let the event loop turn so a SIGINT (abort) gets through.
    await nextTurn();
  }
  if (o.signal?.aborted) throw new AbortError('Upscaling');
  await writeRawImage(o.output, raw, { format: o.format, source: info });
  return { width, height };
}

/** Bicubic upscaling of the alpha channel (8-bit is plenty for a mask). */
async function upscaleAlpha(a: Float32Array, w: number, h: number, outW: number, outH: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, a[i]!)) * 255);
  const out = await sharp(bytes, { raw: { width: w, height: h, channels: 1 }, limitInputPixels: false })
    .resize(outW, outH, { kernel: 'cubic', fit: 'fill' })
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
