/**
 * The feature-map viewer: the network's forward pass re-done with taps, from a Network's own
 * parameters (ml/network.ts stays as it is). Tapped are the head conv's output and every residual
 * block's activation output, the places where TanhExp and Swish differ. Each tap reports its "dead"
 * share: the fraction of values the activation squashed to (nearly) zero, |y| < DEAD_EPS.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATIONS } from '../../ml/activations.ts';
import { conv3x3 } from '../../ml/conv.ts';
import { errors } from '../../ml/errors.ts';
import { centreCrop, type RgbImage } from '../../ml/image.ts';
import { Network } from '../../ml/network.ts';
import { readImage } from '../../ml/node/image-io.ts';
import { loadModelFile } from '../../ml/node/models.ts';
import type { ImageData64 } from '../api.ts';
import { greyImageData } from './images.ts';
import { basename, type JobContext } from './job.ts';
import type { FeaturesResult, FeaturesSpec } from './protocol.ts';

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

/** The tap names, in order, for a network's shape. */
export function tapNames(net: Network): string[] {
  const c = net.config;
  const names = ['head'];
  for (let g = 0; g < c.groups; g++) for (let b = 0; b < c.blocks; b++) names.push(`body.${g}.body.${b}.act`);
  return names;
}

/** Runs the body of the network on `img` and returns every tap (the upsampler is not needed). */
export async function forwardTaps(net: Network, img: RgbImage): Promise<Tap[]> {
  const c = net.config;
  const act = ACTIVATIONS[c.activation];
  const p = (name: string) => [net.params.get(`${name}.weight`) as tf.Tensor4D, net.params.get(`${name}.bias`) as tf.Tensor1D] as const;
  const conv = (name: string, x: tf.Tensor4D) => conv3x3(x, ...p(name));
  const taps: Array<{ name: string; t: tf.Tensor4D }> = [];
  tf.tidy(() => {
    const x = tf.tensor4d(img.rgb, [1, img.height, img.width, 3]);
    const h = conv('head', x);
    taps.push({ name: 'head', t: tf.keep(h) });
    let group = h;
    for (let g = 0; g < c.groups; g++) {
      let y = group;
      for (let b = 0; b < c.blocks; b++) {
        const name = `body.${g}.body.${b}`;
        const a = act(conv(`${name}.c1`, y)) as tf.Tensor4D;
        taps.push({ name: `${name}.act`, t: tf.keep(a) });
        y = tf.add(y, conv(`${name}.c2`, a));
      }
      group = tf.add(group, conv(`body.${g}.body.${c.blocks}`, y));
    }
  });
  const out: Tap[] = [];
  try {
    for (const { name, t } of taps) {
      const data = (await t.data()) as Float32Array;
      let dead = 0;
      for (const v of data) if (Math.abs(v) < DEAD_EPS) dead++;
      const [, height, width, channels] = t.shape;
      out.push({ name, data, height, width, channels, deadShare: dead / data.length });
    }
  } finally {
    for (const { t } of taps) t.dispose();
  }
  return out;
}

/** One grey PNG per channel, each stretched to its own range. */
export async function tapImages(tap: Tap): Promise<ImageData64[]> {
  const { width, height, channels, data } = tap;
  const images: ImageData64[] = [];
  for (let ch = 0; ch < channels; ch++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = ch; i < data.length; i += channels) {
      lo = Math.min(lo, data[i]!);
      hi = Math.max(hi, data[i]!);
    }
    const range = hi - lo || 1;
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = Math.round(((data[i * channels + ch]! - lo) / range) * 255);
    images.push(await greyImageData(grey, width, height));
  }
  return images;
}

export async function runFeatures(spec: FeaturesSpec, ctx: JobContext): Promise<void> {
  const { image } = await readImage(spec.image);
  const crop = centreCrop(image, spec.maxSide).image;
  const result: FeaturesResult = [];
  for (const [k, file] of spec.models.entries()) {
    ctx.post({ type: 'progress', id: ctx.id, fraction: k / 2, message: `Feature maps of ${basename(file)}` });
    const m = await loadModelFile(file);
    const net = new Network(m.config, m.weights, false);
    try {
      const layers = tapNames(net);
      if (spec.layer >= layers.length) {
        throw errors.badArgument(`Layer ${spec.layer} does not exist in ${basename(file)}, which has ${layers.length} layers (0 to ${layers.length - 1}).`);
      }
      const taps = await forwardTaps(net, crop);
      result.push({ layers, maps: await tapImages(taps[spec.layer]!), deadShare: taps.map((t) => t.deadShare) });
    } finally {
      net.dispose();
    }
  }
  ctx.post({ type: 'done', id: ctx.id, summary: 'Feature maps ready.', result });
}
