import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errors, firstLine, fsError, isUserError, type UserError } from '../errors.ts';
import { fromHalf, toHalf } from '../half.ts';
import { readOnnxSummary, type OnnxSummary } from '../onnx/read.ts';
import { MIN_OVERLAP, upscaleImage, type Rect, type TileModel } from '../tiling.ts';
import { probeMargin, probeMultiple, probeRange, probeScale, ProbeRefusal, type InputRange } from './imported-probe.ts';
import { loadOrt, onnxTileSize, type Ort } from './onnx-runtime.ts';

/**
 * An ONNX super-resolution model someone brings (Real-ESRGAN, SPAN, compact VGG-style nets, …), run
 * by ONNX Runtime as a tile model. It must take one NCHW RGB image (float32 or float16, any or a
 * fixed size) and give one; its scale, input range and the context a tile needs are found by
 * running it on small tiles, unless known already (a sidecar written at import).
 */
export interface ImportedFacts {
  readonly scale: number;
  /** 1: takes and gives RGB in 0–1; 255: in 0–255. */
  readonly range: InputRange;
  /**
   * Where the range came from: given (--range, or chosen in the app), declared in the model's
   * metadata, found by the probe, or a guess of 0–1 (the probe could not tell). Absent in records
   * written before this was kept: the probe's.
   */
  readonly rangeFrom?: RangeSource | undefined;
  /** The margin was given (--overlap, or set in the app) instead of found by the probe. */
  readonly marginGiven?: boolean | undefined;
  /** Context in input pixels around a tile that its centre needs. */
  readonly margin: number;
  /** False when even the largest margin tried left the centre different. */
  readonly marginFound: boolean;
  readonly parameters: number;
  readonly initialisers: number;
  readonly opset: number;
  readonly ops: readonly string[];
  readonly dtype: 'float32' | 'float16';
  /** The only input size it takes, or null when any size goes. */
  readonly fixedSize: { readonly width: number; readonly height: number } | null;
  /** The most channels a convolution takes or gives (what a tile's memory grows with). */
  readonly channels: number;
  /** Input sides must be multiples of this (1: any); tiles are padded up to it. */
  readonly multiple: number;
  readonly producer: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Files above this are refused before they are read whole (protobuf stops at 2 GiB anyway). */
export const MAX_MODEL_BYTES = 1024 ** 3;
/** Op domains ONNX Runtime runs without custom op libraries. */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);
const PROBE_SIDE = 16;

export type RangeSource = 'given' | 'metadata' | 'probe' | 'guess';

/** Share of the machine's memory one tile of an imported model may use. */
export const MEMORY_SHARE = 1 / 4;
/** Feature maps counted as alive at once while a tile runs. */
const LIVE_MAPS = 4;
/** The smallest tile worth running: input pixels a side that a tile keeps, its margins aside. */
export const MIN_TILE = 16;

/** Bytes one tile of an imported model may use on this machine: a share of its memory. */
export const memoryBudget = (): number => Math.floor(os.totalmem() * MEMORY_SHARE);

/**
 * Bytes a tile of w×h input pixels (margins and padding included) takes while it runs: its widest
 * feature map (float32, at input resolution) LIVE_MAPS times over, and its input and output images.
 */
export const tileBytes = (f: Pick<ImportedFacts, 'channels' | 'scale'>, w: number, h: number): number =>
  4 * w * h * (LIVE_MAPS * Math.max(3, f.channels) + 3 + 3 * f.scale * f.scale);

/**
 * The largest tile (kept input pixels a side, at most `want`) whose memory with its margins and
 * padding fits `budget`; 0 when not even MIN_TILE does.
 */
export function fitTile(
  f: Pick<ImportedFacts, 'channels' | 'scale' | 'multiple'>,
  margin: number,
  want: number,
  budget: number,
): number {
  const side = Math.floor(Math.sqrt(budget / tileBytes(f, 1, 1))) - (f.multiple - 1) - 2 * margin;
  if (side < MIN_TILE) return 0;
  return Math.min(want, side >= 32 ? side - (side % 8) : side);
}

/** A model none of whose tiles fits in the memory a tile may use: the file, the tile and what it would need. */
export const memoryRefusal = (file: string, tile: string, need: number, budget: number): UserError =>
  errors.modelNeedsMemory(
    file,
    tile,
    need,
    budget,
    budget === memoryBudget() ? { share: MEMORY_SHARE, total: os.totalmem() } : undefined,
  );

export interface OpenImportedOptions {
  readonly threads?: number | undefined;
  /** Context margin to use instead of the probe's (--overlap). */
  readonly overlap?: number | undefined;
  readonly range?: InputRange | undefined;
  /** Facts recorded at import: no probes are run. */
  readonly known?: ImportedFacts | undefined;
  /** How messages name the file, when it is read by another path (an open file's /proc/self/fd/N). */
  readonly shownAs?: string | undefined;
  /** Bytes one tile may use (default: memoryBudget()). */
  readonly memoryBudget?: number | undefined;
}

type Session = import('onnxruntime-node').InferenceSession;
type Dim = number | string;

export const isOnnxPath = (p: string): boolean => p.toLowerCase().endsWith('.onnx');

/** Checks the declared graph; returns why it cannot be an SR model, or null. */
function graphProblem(s: OnnxSummary): string | null {
  if (s.externalData) return 'it keeps its weights in separate files; save it as one file';
  const custom = s.ops.find((o) => !KNOWN_DOMAINS.has(o.domain));
  if (custom)
    return `it uses the custom operator ${custom.op} from ${JSON.stringify(custom.domain)}, which ONNX Runtime does not have`;
  if (s.inputs.length !== 1) return `it takes ${s.inputs.length} inputs, not one image`;
  if (s.outputs.length !== 1) return `it gives ${s.outputs.length} outputs, not one image`;
  return null;
}

function ioProblem(
  what: 'input' | 'output',
  meta: { isTensor: boolean; type?: string; shape?: readonly Dim[] },
): string | null {
  if (!meta.isTensor || !meta.shape) return `its ${what} is not a tensor`;
  if (meta.type !== 'float32' && meta.type !== 'float16') return `its ${what} is ${meta.type}, not float32 or float16`;
  if (meta.shape.length !== 4)
    return `its ${what} has ${meta.shape.length} dimensions, not 4 (batch, RGB, height, width)`;
  const [n, c] = meta.shape;
  if (typeof c === 'number' && c !== 3) return `its ${what} has ${c} channel${c === 1 ? '' : 's'}, not 3 (RGB)`;
  if (typeof n === 'number' && n > 1) return `its ${what} holds ${n} images at once, not one`;
  return null;
}

const fixedDim = (d: Dim | undefined): number | null => (typeof d === 'number' && d > 0 ? d : null);

/** Input pixels a tile keeps in a fixed input size once its margins are taken (the tiler keeps at least 8). */
const room = (f: { width: number; height: number }, margin: number): number =>
  Math.min(f.width, f.height) - 2 * Math.max(MIN_OVERLAP, margin);

export class ImportedOnnx implements TileModel {
  readonly clamped = false;
  readonly facts: ImportedFacts;
  readonly receptiveRadius: number;
  readonly defaultTile: number;
  readonly #ort: Ort;
  readonly #session: Session;
  readonly #budget: number;
  /** facts.multiple, known to the probe before the rest of the facts. */
  #multiple: number;

  get scale(): number {
    return this.facts.scale;
  }

  private constructor(ort: Ort, session: Session, facts: ImportedFacts, overlap?: number, budget = Infinity) {
    this.#ort = ort;
    this.#session = session;
    this.facts = facts;
    this.#multiple = facts.multiple;
    this.#budget = budget;
    this.receptiveRadius = overlap ?? facts.margin;
    const f = facts.fixedSize;
    const margin = Math.max(MIN_OVERLAP, this.receptiveRadius);
    // A fixed input size is filled exactly by a tile and its margins.
    // Otherwise tiles hold about as many values as SR Studio's own networks' do on ONNX Runtime
    // (onnxTileSize: ~250 MB), by the widest feature map; at most 512 pixels a side, and smaller
    // where that would not fit in the memory a tile may use.
    this.defaultTile = f
      ? room(f, this.receptiveRadius)
      : Math.max(
          MIN_TILE,
          fitTile(facts, margin, Math.min(512, onnxTileSize(Math.max(16, facts.channels), margin)), budget),
        );
  }

  /** A refusal when even the smallest tile (or a fixed input) needs more memory than a tile may use. */
  #memoryProblem(file: string): UserError | null {
    const f = this.facts.fixedSize;
    const margin = Math.max(MIN_OVERLAP, this.receptiveRadius);
    if (f) {
      const need = tileBytes(this.facts, f.width, f.height);
      return need > this.#budget
        ? memoryRefusal(file, `its fixed ${f.width}×${f.height} input`, need, this.#budget)
        : null;
    }
    if (fitTile(this.facts, margin, Infinity, this.#budget) > 0) return null;
    const side = MIN_TILE + 2 * margin + this.facts.multiple - 1;
    return memoryRefusal(
      file,
      `even its smallest tile (${MIN_TILE}×${MIN_TILE} pixels with a margin of ${margin})`,
      tileBytes(this.facts, side, side),
      this.#budget,
    );
  }

  static async open(file: string, options: OpenImportedOptions = {}): Promise<ImportedOnnx> {
    const shown = options.shownAs ?? file;
    let bytes: Uint8Array;
    try {
      const st = await fs.stat(file);
      if (st.isFile() && st.size > MAX_MODEL_BYTES)
        throw errors.badOnnxModel(
          shown,
          `it is ${(st.size / 1024 ** 3).toFixed(1)} GB, more than the 1 GB SR Studio runs`,
        );
      bytes = await fs.readFile(file);
    } catch (e) {
      throw isUserError(e) ? e : fsError(e, shown, { what: 'ONNX model (.onnx)' });
    }
    return ImportedOnnx.fromBytes(bytes, shown, options);
  }

  /** The model in `bytes`; `file` is how messages name it. */
  static async fromBytes(bytes: Uint8Array, file: string, options: OpenImportedOptions = {}): Promise<ImportedOnnx> {
    if (bytes.length > MAX_MODEL_BYTES)
      throw errors.badOnnxModel(
        file,
        `it is ${(bytes.length / 1024 ** 3).toFixed(1)} GB, more than the 1 GB SR Studio runs`,
      );
    let summary: OnnxSummary;
    try {
      summary = readOnnxSummary(bytes);
    } catch {
      throw errors.badOnnxModel(file, 'it is not an ONNX model file');
    }
    const problem = graphProblem(summary);
    if (problem) throw errors.badOnnxModel(file, problem);
    const o = await loadOrt();
    if (!o.ok) throw errors.backendFailed('onnx', o.reason);
    let session: Session;
    try {
      session = await o.ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        // A probe's tile that the model does not take is an answer, not something to print.
        logSeverityLevel: 4,
        ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      });
    } catch (e) {
      throw errors.badOnnxModel(file, `ONNX Runtime could not load it: ${firstLine(e).replace(/\.$/, '')}`);
    }
    try {
      const input = session.inputMetadata[0] as { isTensor: boolean; type?: string; shape?: readonly Dim[] };
      const output = session.outputMetadata[0] as { isTensor: boolean; type?: string; shape?: readonly Dim[] };
      const bad = ioProblem('input', input) ?? ioProblem('output', output);
      if (bad) throw errors.badOnnxModel(file, bad);
      const h = fixedDim(input.shape![2]);
      const w = fixedDim(input.shape![3]);
      if ((h === null) !== (w === null)) throw errors.badOnnxModel(file, 'only one side of its input has a fixed size');
      const fixedSize = h && w ? { width: w, height: h } : null;
      const base = {
        parameters: summary.parameters,
        channels: summary.widest,
        initialisers: summary.initialisers,
        opset: summary.opsets.get('') ?? summary.opsets.get('ai.onnx') ?? 0,
        ops: summary.ops.map((x) => (x.domain ? `${x.domain}.${x.op}` : x.op)),
        dtype: input.type as 'float32' | 'float16',
        fixedSize,
        producer: summary.producer,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
      const budget = options.memoryBudget ?? memoryBudget();
      const probe = new ImportedOnnx(
        o.ort,
        session,
        { ...base, scale: 1, range: 1, margin: 0, marginFound: true, multiple: 1 },
        MIN_OVERLAP,
        budget,
      );
      // Facts recorded for another file (the model was replaced since) are found again.
      const k = options.known?.sha256 === base.sha256 ? options.known : undefined;
      const kept = k && { rangeFrom: k.rangeFrom, marginGiven: k.marginGiven };
      // Before any probe: a model too wide for the smallest tile is refused without running it.
      const early = k ? null : probe.#memoryProblem(file);
      if (early) throw early;
      const facts = k
        ? {
            ...base,
            scale: k.scale,
            range: k.range,
            margin: k.margin,
            marginFound: k.marginFound,
            multiple: k.multiple ?? 1,
            ...kept,
          }
        : await probe.#probe(base, summary.metadata, options.range, budget);
      const f = facts.fixedSize;
      if (f && options.overlap !== undefined && room(f, options.overlap) < 8) {
        throw errors.overlapTooLarge(
          file,
          f.width,
          f.height,
          options.overlap,
          Math.floor((Math.min(f.width, f.height) - 8) / 2),
        );
      }
      const model = new ImportedOnnx(
        o.ort,
        session,
        { ...facts, ...(options.range ? { range: options.range, rangeFrom: 'given' as const } : {}) },
        options.overlap,
        budget,
      );
      const tooBig = model.#memoryProblem(file);
      if (tooBig) throw tooBig;
      return model;
    } catch (e) {
      await session.release();
      if (e instanceof ProbeRefusal) throw errors.badOnnxModel(file, e.message);
      if (isUserError(e)) throw e;
      throw errors.badOnnxModel(file, `it failed on a test tile: ${firstLine(e).replace(/\.$/, '')}`);
    }
  }

  async #probe(
    base: Omit<ImportedFacts, 'scale' | 'range' | 'margin' | 'marginFound' | 'multiple'>,
    metadata: ReadonlyMap<string, string>,
    given: InputRange | undefined,
    budget: number,
  ): Promise<ImportedFacts> {
    const side = base.fixedSize ?? { width: PROBE_SIDE, height: PROBE_SIDE };
    const infer = this.#infer.bind(this);
    const scale = await probeScale(infer, side);
    const multiple = base.fixedSize ? 1 : await probeMultiple(infer, scale);
    this.#multiple = multiple;
    const declared = declaredRange(metadata);
    const probed = given ?? declared ?? (await probeRange(infer, base.fixedSize ?? { width: 32, height: 32 }));
    const { range, rangeFrom } =
      typeof probed === 'object'
        ? { range: probed.range, rangeFrom: probed.sure ? ('probe' as const) : ('guess' as const) }
        : { range: probed, rangeFrom: given ? ('given' as const) : ('metadata' as const) };
    // The margin probe's largest window must fit in the memory a tile may use.
    const fits = Math.floor(
      (Math.sqrt(budget / tileBytes({ channels: base.channels, scale }, 1, 1)) - multiple - 8) / 2,
    );
    const most = Math.min(
      base.fixedSize ? Math.floor((Math.min(base.fixedSize.width, base.fixedSize.height) - 8) / 2) : Infinity,
      fits,
    );
    const { margin, found } = await probeMargin(infer, scale, range, Number.isFinite(most) ? most : undefined);
    if (base.fixedSize && room(base.fixedSize, margin) < 8)
      throw new ProbeRefusal(
        `its fixed ${base.fixedSize.width}×${base.fixedSize.height} input leaves no room for the context its tiles need`,
      );
    return { ...base, scale, range, rangeFrom, margin, marginFound: found, multiple };
  }

  /**
   * Runs one tile as it is; RGB in [0, 1] in and out. A fixed input size (or one a multiple of
   * `multiple`) is filled by repeating the
   * tile's edge pixels on the side `end` does not name: a tile that ends at the image's right or
   * bottom edge sits at that edge of the input, where the model sees the image's border as it would.
   */
  async #infer(
    rgb: Float32Array,
    w: number,
    h: number,
    range: InputRange = this.facts.range,
    end = { right: false, bottom: false },
  ) {
    const f = this.facts.fixedSize;
    const W = f?.width ?? Math.ceil(w / this.#multiple) * this.#multiple;
    const H = f?.height ?? Math.ceil(h / this.#multiple) * this.#multiple;
    const ox = end.right ? W - w : 0;
    const oy = end.bottom ? H - h : 0;
    const plane = W * H;
    const x = new Float32Array(3 * plane);
    for (let y = 0; y < H; y++) {
      const sy = Math.min(Math.max(y - oy, 0), h - 1);
      for (let xx = 0; xx < W; xx++) {
        const src = (sy * w + Math.min(Math.max(xx - ox, 0), w - 1)) * 3;
        const dst = y * W + xx;
        x[dst] = rgb[src]! * range;
        x[plane + dst] = rgb[src + 1]! * range;
        x[2 * plane + dst] = rgb[src + 2]! * range;
      }
    }
    const half = this.facts.dtype === 'float16';
    const input = new this.#ort.Tensor(half ? 'float16' : 'float32', half ? toHalf(x) : x, [1, 3, H, W]);
    const outputs = await this.#session.run({ [this.#session.inputNames[0]!]: input });
    const out = outputs[this.#session.outputNames[0]!]!;
    input.dispose();
    const dims = out.dims;
    const data = half ? fromHalf(out.data as Uint16Array) : (out.data as Float32Array);
    out.dispose();
    if (dims.length !== 4 || dims[1] !== 3)
      throw new ProbeRefusal(`its output is ${dims.join('×')}, not one RGB image`);
    const OH = dims[2]!;
    const OW = dims[3]!;
    // The part of the output that belongs to the tile (all of it without padding).
    const ow = (OW / W) * w;
    const oh = (OH / H) * h;
    const op = OW * OH;
    const s = OW / W;
    const y = new Float32Array(ow * oh * 3);
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        const src = (r + oy * s) * OW + c + ox * s;
        const dst = (r * ow + c) * 3;
        y[dst] = data[src]! / range;
        y[dst + 1] = data[op + src]! / range;
        y[dst + 2] = data[2 * op + src]! / range;
      }
    }
    return { rgb: y, width: ow, height: oh };
  }

  async run(rgb: Float32Array, w: number, h: number, keep: Rect): Promise<Float32Array> {
    const f = this.facts.fixedSize;
    const s = this.scale;
    let y: Float32Array;
    // A tile larger than the model's fixed input, or than the memory a tile may use holds (a --tile
    // asked for), is itself upscaled in tiles that fit.
    if (f ? w > f.width || h > f.height : tileBytes(this.facts, w, h) > this.#budget) {
      const overlap = Math.max(MIN_OVERLAP, this.receptiveRadius);
      const inner: TileModel = {
        scale: s,
        receptiveRadius: this.receptiveRadius,
        defaultTile: this.defaultTile,
        clamped: false,
        run: async (r, ww, hh, k) =>
          crop((await this.#infer(r, ww, hh, undefined, endsAt(ww, hh, k))).rgb, ww * s, k, s),
      };
      y = (
        await upscaleImage(
          inner,
          { width: w, height: h, rgb },
          { tile: f ? Math.min(f.width, f.height) - 2 * overlap : this.defaultTile, overlap },
        )
      ).rgb;
    } else y = (await this.#infer(rgb, w, h, undefined, endsAt(w, h, keep))).rgb;
    return crop(y, w * s, keep, s);
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * Which image edges a tile ends at: the tiler gives every tile its margin except where the image
 * ends, so a kept part that reaches the tile's right (bottom) side but not its left (top) one lies
 * at the image's right (bottom) edge.
 */
const endsAt = (w: number, h: number, keep: Rect) => ({
  right: keep.x > 0 && keep.x + keep.w === w,
  bottom: keep.y > 0 && keep.y + keep.h === h,
});

/** The `keep` rectangle (in input pixels) of an interleaved RGB output `width` pixels wide. */
function crop(y: Float32Array, width: number, keep: Rect, s: number): Float32Array {
  if (keep.x === 0 && keep.y === 0 && keep.w * s === width && keep.h * s * width * 3 === y.length) return y;
  const out = new Float32Array(keep.w * s * keep.h * s * 3);
  const row = keep.w * s * 3;
  for (let r = 0; r < keep.h * s; r++) {
    const from = ((keep.y * s + r) * width + keep.x * s) * 3;
    out.set(y.subarray(from, from + row), r * row);
  }
  return out;
}

/** The input range a model's metadata declares (SR Studio's own exports, and common keys), if any. */
export function declaredRange(metadata: ReadonlyMap<string, string>): InputRange | undefined {
  for (const [k, v] of metadata) {
    if (!/input|range/i.test(k)) continue;
    if (/\b0\s*(?:-|–|,|to)\s*255\b/.test(v)) return 255;
    if (/\b0(?:\.0)?\s*(?:-|–|,|to)\s*1(?:\.0)?\b/.test(v)) return 1;
  }
  return undefined;
}

/** The name an imported model goes by: its file name without `.onnx`. */
export const importedName = (file: string): string => path.basename(file).replace(/\.onnx$/i, '');
