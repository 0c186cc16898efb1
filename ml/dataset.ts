/**
 * Training data: random (low-resolution, high-resolution) patch pairs cut from a set of photos.
 *
 * Pure TypeScript with no platform imports (no Node, DOM or tfjs), so it runs in Node and in a
 * browser worker alike; the platform supplies the photos through a `DatasetSource`
 * (ml/node/dataset-folder.ts in Node).
 *
 * How one sample is made (`PatchSampler.next`), with P the LR patch side and s the scale:
 *
 * 1. Pick an image uniformly at random.
 * 2. Cut a random (P·s)×(P·s) crop of its 8-bit pixels (every position equally likely).
 * 3. With `augment` (default on), apply one of the 8 dihedral transforms of the square, chosen
 *    uniformly (see `DIHEDRAL`). The result, divided by 255, is the HR target: its values are
 *    exactly the 8-bit source values / 255.
 * 4. LR = the antialiased bicubic downscale of that HR patch by s (`resizeBicubic`, Pillow's
 *    method, = torch `interpolate(mode='bicubic', antialias=True)`), clamped to [0, 1] and
 *    quantised to 8 bits, round(v·255)/255, because the users' low-resolution photos are 8-bit
 *    files: the network should learn from inputs that look like them. (`makeLr` is the same step
 *    for a whole image, for validation.)
 *
 *    Edge effect: the crop is downscaled on its own, so the outer ~1–2 LR pixels of each patch
 *    are computed from the HR pixels inside the crop only (the kernel window, 4·s HR pixels wide,
 *    is clipped at the crop border and its weights renormalised) instead of from the neighbours
 *    that the whole photo has there. That is exactly what Pillow does at the border of a real
 *    photo, and it keeps LR and HR strictly aligned, so it is left as is rather than cropping a
 *    larger HR region first.
 *
 * With a `degrade` function (ml/degrade.ts: blur, a random downscaling kernel, noise, JPEG), step 4
 * is replaced by it: it gets the HR patch (which it must not modify) and the Rng, and returns the LR
 * patch, which is then clamped and quantised to 8 bits as above.
 *
 * Determinism: every random choice comes from the `Rng` passed in, in a fixed order, so the same
 * seed gives bit-identical batches, and the sampler keeps no other state: save `rng.state`
 * between `next()` calls and `new PatchSampler(source, opts, new Rng(saved))` continues exactly
 * where the run stopped. The draws of one `next()` are, in order: `batch` image indices
 * (`rng.int(size)`), then per sample: crop x (`rng.int(W − P·s + 1)`), crop y (likewise with H),
 * the transform (`rng.int(8)`, only with `augment`), then whatever `degrade` draws (nothing
 * without it). Calls to `next()` made without awaiting the previous one are queued, so they still
 * draw in call order.
 */
import { Rng } from './random.ts';
import { resizeBicubic } from './resize.ts';

/** One training photo in memory: compact 8-bit pixels. */
export interface TrainImage {
  /** For messages: the file's path relative to the dataset folder, or any label. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes, interleaved RGB (HWC), row-major, sRGB. */
  readonly rgb: Uint8Array;
}

/** The platform's set of training photos; indices 0 … size−1 must always name the same image. */
export interface DatasetSource {
  readonly size: number;
  name(i: number): string;
  get(i: number): Promise<TrainImage>;
}

/**
 * Makes the LR patch (side/scale a side, 3 values per pixel) of an HR patch (side × side × 3
 * values in [0, 1], not to be modified), drawing what it needs from `rng`.
 */
export type Degrader = (hr: Float32Array, side: number, scale: number, rng: Rng) => Promise<Float32Array>;

export interface PatchSamplerOptions {
  /** Upscaling factor s (integer ≥ 1). */
  readonly scale: number;
  /** Side of the LR patch; HR patches are patch·scale. */
  readonly patch: number;
  readonly batch: number;
  /** Random flips and 90° rotations (default true). */
  readonly augment?: boolean | undefined;
  /** Replaces the clean bicubic LR (step 4); see ml/degrade.ts. */
  readonly degrade?: Degrader | undefined;
}

/** Where one sample came from (for tests, debugging and logs). */
export interface SamplePick {
  readonly index: number;
  /** Top-left corner of the HR crop in the source image. */
  readonly x: number;
  readonly y: number;
  /** Index into `DIHEDRAL`. */
  readonly transform: number;
}

export interface PatchBatch {
  /** [batch, patch, patch, 3], values in [0, 1], multiples of 1/255. */
  readonly lr: Float32Array;
  /** [batch, patch·scale, patch·scale, 3], the 8-bit source values / 255. */
  readonly hr: Float32Array;
  readonly picks: readonly SamplePick[];
}

/**
 * The 8 transforms of `dihedralCrop`, by index t. Output pixel (x, y) of an N×N patch reads crop
 * pixel (u, v) where (u, v) = (y, x) if t & 4 else (x, y), then u → N−1−u if t & 1 and
 * v → N−1−v if t & 2.
 */
export const DIHEDRAL = [
  'identity',
  'mirror left-right',
  'flip top-bottom',
  'rotate 180°',
  'transpose',
  'rotate 90° counter-clockwise',
  'rotate 90° clockwise',
  'anti-transpose',
] as const;

/** k/255 as float32 for k = 0 … 255: the one encoding of 8-bit values used everywhere here. */
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, k) => k / 255);

/**
 * The side×side crop of `img` at (x0, y0), transformed by `DIHEDRAL[t]`, as floats (bytes / 255)
 * written to `out` at `offset` (a new array by default).
 */
export function dihedralCrop(
  img: TrainImage,
  x0: number,
  y0: number,
  side: number,
  t: number,
  out: Float32Array = new Float32Array(side * side * 3),
  offset = 0,
): Float32Array {
  if (!(Number.isInteger(t) && t >= 0 && t < 8)) throw new Error(`dihedralCrop: bad transform ${t}`);
  if (x0 < 0 || y0 < 0 || x0 + side > img.width || y0 + side > img.height) {
    throw new Error(`dihedralCrop: ${side}×${side} at (${x0}, ${y0}) is outside ${img.width}×${img.height}`);
  }
  const { rgb, width } = img;
  const swap = (t & 4) !== 0;
  const flipU = (t & 1) !== 0;
  const flipV = (t & 2) !== 0;
  let o = offset;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let u = swap ? y : x;
      let v = swap ? x : y;
      if (flipU) u = side - 1 - u;
      if (flipV) v = side - 1 - v;
      const s = ((y0 + v) * width + x0 + u) * 3;
      out[o++] = BYTE_TO_FLOAT[rgb[s]!]!;
      out[o++] = BYTE_TO_FLOAT[rgb[s + 1]!]!;
      out[o++] = BYTE_TO_FLOAT[rgb[s + 2]!]!;
    }
  }
  return out;
}

/** Clamps to [0, 1] and rounds to the nearest multiple of 1/255, in place. */
export function quantise8(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    a[i] = BYTE_TO_FLOAT[v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0]!;
  }
  return a;
}

/**
 * The LR image of an HR image (interleaved RGB in [0, 1], width and height multiples of `scale`):
 * antialiased bicubic downscale by `scale`, clamped and quantised to 8 bits. The sampler's step 4.
 */
export function makeLr(hr: Float32Array, width: number, height: number, scale: number): Float32Array {
  if (width % scale !== 0 || height % scale !== 0) {
    throw new Error(`makeLr: ${width}×${height} is not a multiple of the scale ${scale}`);
  }
  return quantise8(resizeBicubic(hr, width, height, 3, width / scale, height / scale, { antialias: true }));
}

const isPositiveInt = (n: number) => Number.isInteger(n) && n > 0;

/** Random LR/HR patch pairs from a `DatasetSource`; see the top of this file. */
export class PatchSampler {
  readonly scale: number;
  readonly patch: number;
  readonly batch: number;
  readonly augment: boolean;
  readonly degrade: Degrader | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly source: DatasetSource,
    opts: PatchSamplerOptions,
    readonly rng: Rng,
  ) {
    const { scale, patch, batch } = opts;
    if (![scale, patch, batch].every(isPositiveInt)) {
      throw new Error(`PatchSampler: scale, patch and batch must be positive integers (${scale}, ${patch}, ${batch})`);
    }
    if (!(source.size > 0)) throw new Error('PatchSampler: the dataset is empty');
    this.scale = scale;
    this.patch = patch;
    this.batch = batch;
    this.augment = opts.augment ?? true;
    this.degrade = opts.degrade;
  }

  /** Side of the HR patches (patch · scale). */
  get hrPatch(): number {
    return this.patch * this.scale;
  }

  /** The next batch. Save `rng.state` only between calls (after the promise settles). */
  next(): Promise<PatchBatch> {
    const run = this.#queue.then(() => this.#next());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #next(): Promise<PatchBatch> {
    const { rng, batch, patch, scale, source, degrade } = this;
    const side = this.hrPatch;
    const hrSize = side * side * 3;
    const lrSize = patch * patch * 3;
    const indices: number[] = [];
    for (let b = 0; b < batch; b++) indices.push(rng.int(source.size));
    const images = await Promise.all(indices.map((i) => source.get(i)));
    const hr = new Float32Array(batch * hrSize);
    const lr = new Float32Array(batch * lrSize);
    const picks: SamplePick[] = [];
    for (let b = 0; b < batch; b++) {
      const img = images[b]!;
      const index = indices[b]!;
      if (img.width < side || img.height < side) {
        throw new Error(
          `PatchSampler: image ${index} (${source.name(index)}) is ${img.width}×${img.height}, smaller than the ${side}×${side} patch`,
        );
      }
      const x = rng.int(img.width - side + 1);
      const y = rng.int(img.height - side + 1);
      const transform = this.augment ? rng.int(8) : 0;
      picks.push({ index, x, y, transform });
      const hrPatch = hr.subarray(b * hrSize, (b + 1) * hrSize);
      dihedralCrop(img, x, y, side, transform, hrPatch);

      if (degrade) {
        const low = await degrade(hrPatch, side, scale, rng);
        if (low.length !== lrSize)
          throw new Error(`PatchSampler: the degradation returned ${low.length} values, not ${lrSize}`);
        lr.set(quantise8(low), b * lrSize);
      } else {
        lr.set(makeLr(hrPatch, side, side, scale), b * lrSize);
      }
    }
    return { lr, hr, picks };
  }
}

/** A source restricted to some indices of another (e.g. the `train` half of `holdOut`). */
export function subsetSource(source: DatasetSource, indices: readonly number[]): DatasetSource {
  const map = indices.slice();
  for (const i of map) {
    if (!(Number.isInteger(i) && i >= 0 && i < source.size)) throw new Error(`subsetSource: bad index ${i}`);
  }
  const at = (i: number) => {
    const j = map[i];
    if (j === undefined) throw new Error(`subsetSource: index ${i} out of range`);
    return j;
  };
  return { size: map.length, name: (i) => source.name(at(i)), get: (i) => source.get(at(i)) };
}

/**
 * Splits indices 0 … size−1 into training and validation sets for when no validation folder is
 * given: round(size · fraction) indices (at least 1 when fraction > 0, and always leaving at least
 * 1 for training), chosen by a shuffle seeded with `seed`. Both lists are sorted ascending.
 */
export function holdOut(size: number, fraction: number, seed: number): { train: number[]; val: number[] } {
  if (!(Number.isInteger(size) && size >= 0)) throw new Error(`holdOut: bad size ${size}`);
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`holdOut: fraction must be in [0, 1), not ${fraction}`);
  const all = Array.from({ length: size }, (_, i) => i);
  let nVal = Math.round(size * fraction);
  if (fraction > 0 && nVal === 0) nVal = 1;
  nVal = Math.min(nVal, size - 1);
  if (nVal <= 0) return { train: all, val: [] };
  const rng = new Rng(seed);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const byNumber = (a: number, b: number) => a - b;
  return { val: all.slice(0, nVal).sort(byNumber), train: all.slice(nVal).sort(byNumber) };
}
