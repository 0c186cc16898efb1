import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError } from '../errors.ts';
import type { RgbImage } from '../image.ts';
import { decodeCheckpoint, type Checkpoint } from '../train/checkpoint.ts';
import { parseTrainConfig, type TrainConfig } from '../train/config.ts';
import type { RunStore } from '../train/trainer.ts';
import { ensureDir, writeFileAtomic } from './atomic.ts';
import { writeImage } from './image-io.ts';

/**
 * A training run's folder:
 *   config.json                 the validated configuration
 *   metrics.jsonl               one JSON record per line (progress and validation)
 *   checkpoints/ckpt_NNNNNNN.safetensors   the newest N, plus best.safetensors
 *   preview.png, previews/NNNNNNN.png      bicubic | network | ground truth
 *   model_best.safetensors      the best model, ready for `sr-studio upscale --model`
 * Every file is written atomically, so a crash or a full disk never loses the previous one.
 */
export const MODEL_FILE = 'model_best.safetensors';

export class RunFolder implements RunStore {
  constructor(
    readonly dir: string,
    readonly keep: number,
  ) {}

  static async create(dir: string, keep: number): Promise<RunFolder> {
    await ensureDir(dir);
    await ensureDir(path.join(dir, 'checkpoints'));
    await ensureDir(path.join(dir, 'previews'));
    try {
      const probe = path.join(dir, `.write-test-${process.pid}`);
      await fs.writeFile(probe, '');
      await fs.rm(probe);
    } catch (e) {
      throw fsError(e, dir);
    }
    return new RunFolder(dir, keep);
  }

  get modelPath(): string {
    return path.join(this.dir, MODEL_FILE);
  }

  async writeConfig(config: TrainConfig): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'config.json'), new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
  }

  async appendMetrics(record: Record<string, unknown>): Promise<void> {
    const file = path.join(this.dir, 'metrics.jsonl');
    try {
      await fs.appendFile(file, JSON.stringify(record) + '\n');
    } catch (e) {
      throw fsError(e, file);
    }
  }

  async writeCheckpoint(iteration: number, bytes: Uint8Array, best: boolean): Promise<string> {
    const dir = path.join(this.dir, 'checkpoints');
    const file = path.join(dir, `ckpt_${String(iteration).padStart(7, '0')}.safetensors`);
    await writeFileAtomic(file, bytes);
    if (best) await writeFileAtomic(path.join(dir, 'best.safetensors'), bytes);
    const old = (await this.#checkpointFiles()).slice(0, -this.keep);
    for (const f of old) await fs.rm(path.join(dir, f), { force: true });
    return file;
  }

  async #checkpointFiles(): Promise<string[]> {
    try {
      return (await fs.readdir(path.join(this.dir, 'checkpoints'))).filter((f) => /^ckpt_\d+\.safetensors$/.test(f)).sort();
    } catch {
      return [];
    }
  }

  async readLatestCheckpoint(): Promise<{ bytes: Uint8Array; path: string } | undefined> {
    const last = (await this.#checkpointFiles()).at(-1);
    if (!last) return undefined;
    const p = path.join(this.dir, 'checkpoints', last);
    return { bytes: await fs.readFile(p), path: p };
  }

  async writePreview(iteration: number, image: RgbImage): Promise<string> {
    const numbered = path.join(this.dir, 'previews', `${String(iteration).padStart(7, '0')}.png`);
    await writeImage(numbered, image, { format: 'png' });
    const latest = path.join(this.dir, 'preview.png');
    await writeImage(latest, image, { format: 'png' });
    return latest;
  }

  async writeModel(bytes: Uint8Array): Promise<string> {
    await writeFileAtomic(this.modelPath, bytes);
    return this.modelPath;
  }

  /** The run's config and newest checkpoint, for --resume. */
  static async open(dir: string): Promise<{ folder: RunFolder; config: TrainConfig; checkpoint: Checkpoint }> {
    let config: TrainConfig;
    const cfgPath = path.join(dir, 'config.json');
    try {
      config = parseTrainConfig(JSON.parse(await fs.readFile(cfgPath, 'utf8')));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        throw errors.badArgument(`${JSON.stringify(dir)} is not a training run folder (it has no config.json); pass the folder a run was started with --out.`);
      }
      throw errors.badArgument(`${JSON.stringify(cfgPath)} cannot be read (${(e as Error).message.replace(/\.$/, '')}); the run folder is damaged.`);
    }
    const folder = new RunFolder(dir, config.keepCheckpoints);
    const latest = await folder.readLatestCheckpoint();
    if (!latest) throw errors.badArgument(`${JSON.stringify(dir)} has no checkpoint to resume from yet; start the run again without --resume.`);
    return { folder, config, checkpoint: decodeCheckpoint(latest.bytes, latest.path) };
  }
}
