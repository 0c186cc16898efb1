import { holdOut, subsetSource, type DatasetSource, type TrainImage } from '../dataset.ts';
import type { RgbImage } from '../image.ts';
import { prepareValImages, type ValImage } from '../train/validation.ts';
import { openImageFolder } from './dataset-folder.ts';

/**
 * Opens the training folder (and the validation folder, or holds out a tenth of the training
 * images when there is none) for a run: the same code serves the CLI, the worker and compare.
 */
export interface TrainingData {
  readonly train: DatasetSource;
  readonly val: ValImage[];
  /** One line each, for people. */
  readonly notes: string[];
}

export async function loadTrainingData(opts: {
  data: string;
  val?: string | undefined;
  scale: number;
  patch: number;
  seed: number;
  valMaxSide: number;
  onWarning?: ((msg: string) => void) | undefined;
  /** The folders are opened already: read through their handles only (dataset-folder.ts). */
  opened?: boolean | undefined;
}): Promise<TrainingData> {
  const notes: string[] = [];
  const train = await openImageFolder(opts.data, {
    minSide: opts.patch * opts.scale,
    onWarning: opts.onWarning,
    opened: opts.opened,
  });
  notes.push(train.summary);
  if (opts.val) {
    const val = await openValFolder(opts.val, opts.scale, opts.valMaxSide, opts.onWarning, opts.opened);
    notes.push(val.summary);
    return { train: train.source, val: val.images, notes };
  }
  if (train.source.size < 2)
    return {
      train: train.source,
      val: [],
      notes: [...notes, 'No validation folder and only one training image: validation is off.'],
    };
  const split = holdOut(train.source.size, 0.1, opts.seed);
  notes.push(
    `No validation folder: holding out ${split.val.length} of ${train.source.size} training images for validation.`,
  );
  return { train: subsetSource(train.source, split.train), val: await valImages(train.source, split.val, opts), notes };
}

/**
 * A validation folder's pairs at a scale, made as a training run makes them (also for scoring
 * models outside training, so their figures compare with the runs').
 */
export async function openValFolder(
  dir: string,
  scale: number,
  valMaxSide: number,
  onWarning?: (msg: string) => void,
  opened?: boolean,
): Promise<{ images: ValImage[]; summary: string }> {
  const val = await openImageFolder(dir, { minSide: scale * 12, onWarning, opened });
  const images = await valImages(val.source, range(val.source.size), { scale, valMaxSide });
  return { images, summary: val.summary.replace('training images', 'validation images') };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function valImages(
  source: DatasetSource,
  indices: number[],
  opts: { scale: number; valMaxSide: number },
): Promise<ValImage[]> {
  const images = [];
  for (const i of indices) {
    const t = await source.get(i);
    images.push({ name: t.name, image: toRgb(t) });
  }
  return prepareValImages(images, opts.scale, opts.valMaxSide);
}

function toRgb(t: TrainImage): RgbImage {
  return { width: t.width, height: t.height, rgb: Float32Array.from(t.rgb, (v) => v / 255) };
}
