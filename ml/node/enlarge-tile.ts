/**
 * One tile of an image enlarged by a whole factor: nearest neighbour, or the engine's bicubic
 * (ml/resize.ts, Pillow's method, exactly the values a whole-image resize gives), computed from the
 * input pixels around the tile only. It runs in the tile threads (tile-workers.ts): the pixel loops
 * take tens of milliseconds a tile, which the server's main thread must not spend.
 */
import sharp from 'sharp';
import { bicubicInputRegion, resizeBicubicRegion, type Region } from '../resize.ts';
import type { EnlargeFilter } from './tiles.ts';

/** What a tile thread is asked for: a region of `input` (a w×h cache file) enlarged to W×H. */
export interface EnlargeTileSpec {
  /** The input's cache file (upright, sRGB, 8 bits). */
  readonly input: string;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly to: { readonly width: number; readonly height: number; readonly filter: EnlargeFilter };
  /** The tile: a rectangle of the enlarged image. */
  readonly region: Region;
}

const VIPS = { limitInputPixels: false } as const;
const PNG = { compressionLevel: 1, adaptiveFiltering: false } as const;

/** The tile as PNG bytes. */
export async function enlargeTile(s: EnlargeTileSpec): Promise<Buffer> {
  const { region: r, channels: ch } = s;
  const k = s.to.width / s.width;
  const from: Region =
    s.to.filter === 'nearest'
      ? {
          x: Math.floor(r.x / k),
          y: Math.floor(r.y / k),
          width: Math.floor((r.x + r.width - 1) / k) - Math.floor(r.x / k) + 1,
          height: Math.floor((r.y + r.height - 1) / k) - Math.floor(r.y / k) + 1,
        }
      : bicubicInputRegion(s.width, s.height, s.to.width, s.to.height, r);
  const input = await sharp(s.input, VIPS)
    .extract({ left: from.x, top: from.y, width: from.width, height: from.height })
    .raw()
    .toBuffer();
  const out = Buffer.alloc(r.width * r.height * ch);
  if (s.to.filter === 'nearest') nearestInto(out, input, from, ch, k, r);
  else bicubicInto(out, input, from, s.width, s.height, ch, s.to.width, s.to.height, r);
  return sharp(out, { raw: { width: r.width, height: r.height, channels: ch as 3 | 4 } })
    .png(PNG)
    .toBuffer();
}

/** Each input pixel as a k×k square; a row that repeats the one above is copied whole. */
function nearestInto(out: Buffer, input: Buffer, from: Region, ch: number, k: number, r: Region): void {
  const cols = Int32Array.from({ length: r.width }, (_, x) => (Math.floor((r.x + x) / k) - from.x) * ch);
  const rowBytes = r.width * ch;
  for (let y = 0; y < r.height; y++) {
    const sy = Math.floor((r.y + y) / k) - from.y;
    if (y > 0 && sy === Math.floor((r.y + y - 1) / k) - from.y) {
      out.copyWithin(y * rowBytes, (y - 1) * rowBytes, y * rowBytes);
      continue;
    }
    const src = sy * from.width * ch;
    let o = y * rowBytes;
    for (let x = 0; x < r.width; x++) for (let c = 0; c < ch; c++) out[o++] = input[src + cols[x]! + c]!;
  }
}

/**
 * Bicubic (ml/resize.ts) of 8-bit pixels into 8-bit pixels; with alpha, colours are resized
 * premultiplied and divided back, as resizeImage does.
 */
function bicubicInto(
  out: Buffer,
  input: Buffer,
  from: Region,
  w: number,
  h: number,
  ch: number,
  W: number,
  H: number,
  r: Region,
): void {
  const n = from.width * from.height;
  const m = r.width * r.height;
  const alpha = ch === 4;
  const rgbIn = new Float32Array(n * 3);
  const aIn = alpha ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const a = alpha ? input[i * 4 + 3]! / 255 : 1;
    if (aIn) aIn[i] = a;
    for (let c = 0; c < 3; c++) rgbIn[i * 3 + c] = (input[i * ch + c]! / 255) * (alpha ? a : 1);
  }
  const rgb = resizeBicubicRegion(rgbIn, from, w, h, 3, W, H, r);
  const a = aIn ? resizeBicubicRegion(aIn, from, w, h, 1, W, H, r) : undefined;
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < m; i++) {
    const ap = a ? Math.min(1, Math.max(0, a[i]!)) : 1;
    for (let c = 0; c < 3; c++) out[i * ch + c] = q(a ? (ap > 0 ? rgb[i * 3 + c]! / ap : 0) : rgb[i * 3 + c]!);
    if (a) out[i * 4 + 3] = q(ap);
  }
}
