/** Feature maps for the UI (ml/jobs/features.ts): the chosen layer's maps as grey images, one per channel. */
import { featuresJob, type Tap } from '../../ml/jobs/features.ts';
import type { FeatureMapsResult, ImageData64 } from '../api.ts';
import { greyImageData } from './images.ts';
import { basename, type JobContext } from './job.ts';
import type { FeaturesSpec } from './protocol.ts';

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
  const models = await featuresJob(spec, (k, file) =>
    ctx.emit('job:progress', { fraction: k / 2, message: `Feature maps of ${basename(file)}` }),
  );
  const result: FeatureMapsResult = [];
  for (const m of models) result.push({ layers: m.layers, maps: await tapImages(m.tap), deadShare: m.deadShare });
  ctx.post({ type: 'answer', jobId: ctx.jobId, result });
}
