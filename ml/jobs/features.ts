/**
 * The feature-map job: two networks' tapped feature maps (Network.forward with taps: the head conv
 * and each residual block's activation) on the centre crop of one image, with each tap's "dead"
 * share: the fraction of values the activation squashed to (nearly) zero, |y| < DEAD_EPS. Runs on
 * the active tfjs backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { errors } from '../errors.ts';
import { centreCrop } from '../image.ts';
import { Network, tapNames } from '../network.ts';
import { readImage } from '../node/image-io.ts';
import { loadModelFile } from '../node/models.ts';

export const DEAD_EPS = 1e-3;

export interface Tap {
  readonly name: string;
  /** [h, w, c] feature maps. */
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly deadShare: number;
}

export interface FeaturesJobSpec {
  readonly models: readonly string[];
  readonly image: string;
  /** Index into tapNames: the layer whose maps are returned (every layer's dead share is). */
  readonly layer: number;
  /** The centre crop, in input pixels a side. */
  readonly maxSide: number;
}

export interface FeaturesJobResult {
  readonly model: string;
  readonly layers: string[];
  /** The chosen layer's maps. */
  readonly tap: Tap;
  readonly deadShare: number[];
}

/** Every tap of the network on `img` (the caller owns nothing: tensors are released here). */
export async function forwardTaps(net: Network, rgb: Float32Array, width: number, height: number): Promise<Tap[]> {
  const taps = new Map<string, tf.Tensor4D>();
  const x = tf.tensor4d(rgb, [1, height, width, 3]);
  try {
    tf.dispose(net.forward(x, { taps }));
    const out: Tap[] = [];
    for (const name of tapNames(net.config)) {
      const t = taps.get(name)!;
      const data = (await t.data()) as Float32Array;
      let dead = 0;
      for (const v of data) if (Math.abs(v) < DEAD_EPS) dead++;
      const [, h, w, channels] = t.shape;
      out.push({ name, data, height: h, width: w, channels, deadShare: dead / data.length });
    }
    return out;
  } finally {
    x.dispose();
    tf.dispose([...taps.values()]);
  }
}

export async function featuresJob(
  spec: FeaturesJobSpec,
  onModel?: (index: number, file: string) => void,
): Promise<FeaturesJobResult[]> {
  const { image } = await readImage(spec.image);
  const crop = centreCrop(image, spec.maxSide).image;
  const out: FeaturesJobResult[] = [];
  for (const [k, file] of spec.models.entries()) {
    onModel?.(k, file);
    const m = await loadModelFile(file);
    const layers = tapNames(m.config);
    if (spec.layer >= layers.length) {
      throw errors.badArgument(
        `Layer ${spec.layer} does not exist in ${JSON.stringify(file)}, which has ${layers.length} layers (0 to ${layers.length - 1}).`,
      );
    }
    const net = new Network(m.config, m.weights, false);
    try {
      const taps = await forwardTaps(net, crop.rgb, crop.width, crop.height);
      out.push({ model: file, layers, tap: taps[spec.layer]!, deadShare: taps.map((t) => t.deadShare) });
    } finally {
      net.dispose();
    }
  }
  return out;
}
