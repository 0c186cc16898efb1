import { createRequire } from 'node:module';
import { errors, firstLine } from '../errors.ts';
import { receptiveRadius, type NetworkConfig } from '../network.ts';
import { exportOnnx } from '../onnx/export.ts';
import { defaultOverlap, type Rect, type TileModel } from '../tiling.ts';

/**
 * Upscaling through ONNX Runtime (onnxruntime-node, CPU execution provider), on the network
 * exported in memory by ml/onnx/export.ts. It is an optional dependency: when it is missing or
 * fails to load, `probeOnnxRuntime` says why and the tfjs backends are used instead.
 */
export type Ort = typeof import('onnxruntime-node');

const require = createRequire(import.meta.url);
let loaded: Promise<{ ok: true; ort: Ort; version: string } | { ok: false; reason: string }> | undefined;

/** onnxruntime-node, loaded once; or why it cannot be. */
export function loadOrt() {
  loaded ??= (async () => {
    try {
      require.resolve('onnxruntime-node');
    } catch {
      return { ok: false as const, reason: 'ONNX Runtime is not installed' };
    }
    try {
      const ort = (await import('onnxruntime-node')) as Ort & { default?: Ort };
      const api = (ort.InferenceSession ? ort : ort.default) as Ort;
      return { ok: true as const, ort: api, version: api.env.versions.node ?? api.env.versions.common ?? '' };
    } catch (e) {
      return { ok: false as const, reason: `onnxruntime-node failed to load (${firstLine(e)})` };
    }
  })();
  return loaded;
}

export type OnnxProbe = { ok: true; device: string } | { ok: false; reason: string };

export async function probeOnnxRuntime(): Promise<OnnxProbe> {
  const o = await loadOrt();
  return o.ok ? { ok: true, device: `ONNX Runtime ${o.version} (CPU)` } : o;
}

/**
 * Input-pixel tile side for a network width and context margin: the tile with its margins holds
 * 8 M floats per feature map (32 MB). ONNX Runtime keeps about 8 such maps while it runs a tile
 * (measured: ~510 bytes per pixel at 16 features), so a tile costs ~250 MB whatever the width.
 */
export function onnxTileSize(features: number, margin: number): number {
  const side = Math.sqrt(2 ** 23 / features) - 2 * margin;
  return Math.max(128, Math.floor(side / 32) * 32);
}

export interface OnnxUpscalerOptions {
  /** Intra-op threads (default: ONNX Runtime's, one per physical core). */
  readonly threads?: number;
}

export class OnnxUpscaler implements TileModel {
  readonly scale: number;
  readonly receptiveRadius: number;
  readonly defaultTile: number;
  /** The in-memory model clips its output in the graph. */
  readonly clamped = true;
  readonly #ort: Ort;
  readonly #session: import('onnxruntime-node').InferenceSession;

  private constructor(config: NetworkConfig, ort: Ort, session: import('onnxruntime-node').InferenceSession) {
    this.scale = config.scale;
    this.receptiveRadius = receptiveRadius(config);
    this.defaultTile = onnxTileSize(config.features, defaultOverlap(this));
    this.#ort = ort;
    this.#session = session;
  }

  static async create(
    config: NetworkConfig,
    weights: ReadonlyMap<string, Float32Array>,
    options: OnnxUpscalerOptions = {},
  ): Promise<OnnxUpscaler> {
    const o = await loadOrt();
    if (!o.ok) throw errors.backendFailed('onnx', o.reason);
    try {
      const session = await o.ort.InferenceSession.create(
        exportOnnx(config, weights, { layout: 'nhwc', clamp: true }),
        {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
        },
      );
      return new OnnxUpscaler(config, o.ort, session);
    } catch (e) {
      throw errors.backendFailed('onnx', `it could not load the network (${firstLine(e)})`);
    }
  }

  async run(rgb: Float32Array, w: number, h: number, keep: Rect): Promise<Float32Array> {
    // The in-memory model takes and gives interleaved RGB (clipped to [0, 1]), so tiles go in and
    // out without copies.
    const input = new this.#ort.Tensor('float32', rgb, [1, h, w, 3]);
    const output = (await this.#session.run({ input })).output!;
    const y = output.data as Float32Array;
    input.dispose();
    output.dispose();
    const s = this.scale;
    if (keep.x === 0 && keep.y === 0 && keep.w === w && keep.h === h) return y;
    const row = w * s * 3;
    const kept = keep.w * s * 3;
    const out = new Float32Array(kept * keep.h * s);
    for (let r = 0; r < keep.h * s; r++) {
      const from = (keep.y * s + r) * row + keep.x * s * 3;
      out.set(y.subarray(from, from + kept), r * kept);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
