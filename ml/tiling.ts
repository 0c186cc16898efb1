import * as tf from '@tensorflow/tfjs-core';
import { AbortError } from './errors.ts';
import type { RgbImage } from './image.ts';
import { Network } from './network.ts';

/**
 * Tiled inference. The image is cut into tiles of `tile` input pixels; each tile is computed with a
 * margin of real neighbouring pixels around it (the overlap) and only its centre is kept. The margin
 * defaults to the network's receptive radius (at least 16), so every output pixel sees exactly the
 * input it would see in a whole-image pass: tiles agree with the whole-image result, and there are
 * no seams to blend. Memory is bounded by one tile: pixels come from a source and go to a sink.
 */
export interface PixelSource {
  readonly width: number;
  readonly height: number;
  /** RGB floats in [0, 1] of the rectangle, row-major, interleaved (read-only for the caller). */
  read(x: number, y: number, w: number, h: number): Float32Array;
}

export interface PixelSink {
  /**
   * Receives RGB floats of an output rectangle, already in [0, 1] when `clamped` (else not); the
   * array is the sink's to keep or change.
   */
  write(x: number, y: number, w: number, h: number, rgb: Float32Array, clamped: boolean): void;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface TileOptions {
  /** Tile size in input pixels (default 192). */
  readonly tile?: number;
  /** Context margin in input pixels around each tile (default: receptive radius, ≥ 16). */
  readonly overlap?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface TileDone {
  readonly index: number;
  readonly total: number;
  /** Where the tile went in the output. */
  readonly out: Rect;
  /** The tile's output RGB floats (clamped to [0, 1]), for live previews; made when first read. */
  readonly rgb: Float32Array;
}

export const DEFAULT_TILE = 192;
export const MIN_OVERLAP = 16;

/**
 * What tiles are computed with: the tfjs network, or another runtime over the same weights (ONNX
 * Runtime on CPUs). `run` upscales one tile (with its margin) and returns only the `keep` part.
 */
export interface TileModel {
  readonly scale: number;
  /** Context in input pixels that an output pixel depends on. */
  readonly receptiveRadius: number;
  /** The tile size this runtime works best with, when the caller gives none. */
  readonly defaultTile: number;
  /** Whether `run` already clamps its output to [0, 1]. */
  readonly clamped: boolean;
  /**
   * Upscales a w×h tile of RGB floats (row-major, interleaved) and returns the output of `keep`
   * (a rectangle of the tile, in input pixels) as interleaved RGB floats (in [0, 1] if `clamped`).
   */
  run(rgb: Float32Array, w: number, h: number, keep: Rect): Promise<Float32Array>;
}

/** The tfjs network as a tile model; tensors live only inside `run`. */
export function networkTiles(net: Network): TileModel {
  const s = net.config.scale;
  return {
    scale: s,
    receptiveRadius: net.receptiveRadius,
    defaultTile: DEFAULT_TILE,
    clamped: false,
    async run(rgb, w, h, keep) {
      const input = tf.tensor4d(rgb, [1, h, w, 3]);
      let output: tf.Tensor4D | undefined;
      try {
        output = tf.tidy(() => {
          const y = net.forward(input);
          if (keep.w === w && keep.h === h) return y;
          return tf.slice(y, [0, keep.y * s, keep.x * s, 0], [1, keep.h * s, keep.w * s, 3]) as tf.Tensor4D;
        });
        input.dispose();
        return (await output.data()) as Float32Array;
      } finally {
        input.dispose();
        output?.dispose();
      }
    },
  };
}

function asTileModel(m: Network | TileModel): TileModel {
  return m instanceof Network ? networkTiles(m) : m;
}

export function defaultOverlap(m: Network | TileModel): number {
  return Math.max(MIN_OVERLAP, m.receptiveRadius);
}

/** The tile grid over an image, in input pixels. */
export function tileGrid(width: number, height: number, tile: number): Rect[] {
  const rects: Rect[] = [];
  for (let y = 0; y < height; y += tile) {
    for (let x = 0; x < width; x += tile) {
      rects.push({ x, y, w: Math.min(tile, width - x), h: Math.min(tile, height - y) });
    }
  }
  return rects;
}

/** Upscales tile by tile, writing each into `sink` and yielding it; abort throws AbortError. */
export async function* upscaleTiles(
  net: Network | TileModel,
  source: PixelSource,
  sink: PixelSink,
  opts: TileOptions = {},
): AsyncGenerator<TileDone> {
  const model = asTileModel(net);
  const s = model.scale;
  const tile = Math.max(8, Math.floor(opts.tile ?? model.defaultTile));
  const overlap = Math.max(MIN_OVERLAP, Math.floor(opts.overlap ?? defaultOverlap(model)));
  const grid = tileGrid(source.width, source.height, tile);
  for (let i = 0; i < grid.length; i++) {
    if (opts.signal?.aborted) throw new AbortError('Upscaling');
    const r = grid[i]!;
    // The tile plus its margin, clipped to the image (at the image's edge the network pads as usual).
    const x0 = Math.max(0, r.x - overlap);
    const y0 = Math.max(0, r.y - overlap);
    const x1 = Math.min(source.width, r.x + r.w + overlap);
    const y1 = Math.min(source.height, r.y + r.h + overlap);
    const full = await model.run(source.read(x0, y0, x1 - x0, y1 - y0), x1 - x0, y1 - y0, {
      x: r.x - x0,
      y: r.y - y0,
      w: r.w,
      h: r.h,
    });
    if (opts.signal?.aborted) throw new AbortError('Upscaling');
    const out = { x: r.x * s, y: r.y * s, w: r.w * s, h: r.h * s };
    sink.write(out.x, out.y, out.w, out.h, full, model.clamped);
    let rgb: Float32Array | undefined;
    yield {
      index: i,
      total: grid.length,
      out,
      get rgb() {
        return (rgb ??= model.clamped ? full : full.map(clamp01));
      },
    };
  }
}

/** v clamped to [0, 1] (NaN to 0). */
const clamp01 = (v: number) => (v > 0 ? (v < 1 ? v : 1) : 0);

/** A source over an image in memory; the whole image is handed out as is (sources' data is read-only). */
export function imageSource(img: RgbImage): PixelSource {
  return {
    width: img.width,
    height: img.height,
    read(x, y, w, h) {
      if (x === 0 && y === 0 && w === img.width && h === img.height) return img.rgb;
      const out = new Float32Array(w * h * 3);
      for (let row = 0; row < h; row++) {
        const from = ((y + row) * img.width + x) * 3;
        out.set(img.rgb.subarray(from, from + w * 3), row * w * 3);
      }
      return out;
    },
  };
}

/**
 * A sink that fills a float image in memory (clamped to [0, 1]). A write of the whole image (one
 * tile) is clamped in place and kept, not copied: the tile loop hands each output over.
 */
export function imageSink(width: number, height: number): PixelSink & { readonly rgb: Float32Array } {
  let rgb: Float32Array | undefined;
  const image = () => (rgb ??= new Float32Array(width * height * 3));
  return {
    get rgb() {
      return image();
    },
    write(x, y, w, h, data, clamped) {
      if (!clamped) for (let k = 0; k < data.length; k++) data[k] = clamp01(data[k]!);
      if (x === 0 && y === 0 && w === width && h === height && !rgb) {
        rgb = data;
        return;
      }
      const out = image();
      for (let row = 0; row < h; row++)
        out.set(data.subarray(row * w * 3, (row + 1) * w * 3), ((y + row) * width + x) * 3);
    },
  };
}

/** Upscales an image in memory; `onTile` sees each finished tile. Alpha is not handled here. */
export async function upscaleImage(
  net: Network | TileModel,
  img: RgbImage,
  opts: TileOptions & { onTile?: (t: TileDone) => void } = {},
): Promise<RgbImage> {
  const s = net instanceof Network ? net.config.scale : net.scale;
  const sink = imageSink(img.width * s, img.height * s);
  for await (const t of upscaleTiles(net, imageSource(img), sink, opts)) opts.onTile?.(t);
  return { width: img.width * s, height: img.height * s, rgb: sink.rgb };
}
