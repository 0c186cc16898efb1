import path from 'node:path';
import sharp from 'sharp';
import type { DatasetSource, TrainImage } from '../../../ml/dataset.ts';
import type { RgbImage } from '../../../ml/image.ts';
import type { TrainConfig } from '../../../ml/train/config.ts';
import type { TrainEvent } from '../../../ml/train/events.ts';
import type { RunStore } from '../../../ml/train/trainer.ts';

/** The photos in the repository (photos/). */
export const DATA = path.resolve(import.meta.dirname, '../../../photos');
export const TINY = path.join(DATA, 'tiny');

/** A RunStore that keeps everything in memory, for tests: every write is a copy, in order. */
export class MemoryStore implements RunStore {
  configs: TrainConfig[] = [];
  metrics: Array<Record<string, unknown>> = [];
  /** Every checkpoint write, in order (a cancelled run writes its last iteration twice). */
  checkpointWrites: Array<{ iteration: number; bytes: Uint8Array; best: boolean }> = [];
  previews: Array<{ iteration: number; image: RgbImage }> = [];
  models: Uint8Array[] = [];

  async writeConfig(config: TrainConfig): Promise<void> {
    this.configs.push(structuredClone(config));
  }
  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    this.metrics.push(structuredClone(record));
  }
  async writeCheckpoint(iteration: number, bytes: Uint8Array, best: boolean): Promise<string> {
    this.checkpointWrites.push({ iteration, bytes: bytes.slice(), best });
    return `memory:ckpt_${iteration}`;
  }
  /** The newest write of the checkpoint for `iteration`. */
  checkpointAt(iteration: number): Uint8Array {
    const w = this.checkpointWrites.filter((c) => c.iteration === iteration).at(-1);
    if (!w)
      throw new Error(
        `no checkpoint at iteration ${iteration} (have ${this.checkpointWrites.map((c) => c.iteration).join(', ')})`,
      );
    return w.bytes;
  }
  async readLatestCheckpoint(): Promise<{ bytes: Uint8Array; path: string } | undefined> {
    if (!this.checkpointWrites.length) return undefined;
    const top = Math.max(...this.checkpointWrites.map((c) => c.iteration));
    return { bytes: this.checkpointAt(top), path: `memory:ckpt_${top}` };
  }
  async writePreview(iteration: number, image: RgbImage): Promise<string | undefined> {
    this.previews.push({ iteration, image });
    return undefined;
  }
  async writeModel(bytes: Uint8Array): Promise<string> {
    this.models.push(bytes.slice());
    return 'memory:model';
  }
}

/** Consumes a training run; `onEvent` may steer it (pause, cancel) as events arrive. */
export async function collect(
  events: AsyncGenerator<TrainEvent>,
  onEvent?: (e: TrainEvent) => void,
): Promise<TrainEvent[]> {
  const out: TrainEvent[] = [];
  for await (const e of events) {
    out.push(e);
    onEvent?.(e);
  }
  return out;
}

export const ofType = <T extends TrainEvent['type']>(events: readonly TrainEvent[], type: T) =>
  events.filter((e): e is Extract<TrainEvent, { type: T }> => e.type === type);

export const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / a.length;

/** Three small real photos as a training source, decoded once. */
export async function photoSource(): Promise<DatasetSource> {
  const names = ['tiny/chelsea_96x72.png', 'tiny/astronaut_128x128.png', 'tiny/motorcycle_200x150.png'];
  const images: TrainImage[] = [];
  for (const n of names) {
    const { data, info } = await sharp(path.join(DATA, n)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    images.push({ name: n, width: info.width, height: info.height, rgb: new Uint8Array(data) });
  }
  return { size: images.length, name: (i) => images[i]!.name, get: async (i) => images[i]! };
}
