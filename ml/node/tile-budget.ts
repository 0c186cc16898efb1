/**
 * The tile cache's disk limits and its refusals, each one sentence: one source's cache files, all
 * of them together, and the free space the disk keeps. A cache file's size is known before it is
 * written (its pixels, uncompressed), so each is checked, and its bytes held, before libvips starts.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { errors, type UserError } from '../errors.ts';

const GiB = 1024 ** 3;

export interface CacheLimits {
  /** What the cache keeps: past it, the sources used least recently are deleted (default 2 GiB). */
  readonly maxBytes: number;
  /**
   * One source's cache files at most (default 4 GiB: the largest result the engine writes, 3 GiB,
   * and its smaller levels). The whole cache never holds more than this or maxBytes, whichever is larger.
   */
  readonly maxSourceBytes: number;
  /** Free space left on the cache's disk (default 256 MiB). */
  readonly keepFreeBytes: number;
}

export const CACHE_LIMITS: CacheLimits = { maxBytes: 2 * GiB, maxSourceBytes: 4 * GiB, keepFreeBytes: 256 * 1024 ** 2 };

/** A `.v` file's bytes: its pixels and, at most, this much header and metadata. */
export const vFileBytes = (width: number, height: number, channels: number) => width * height * channels + 64 * 1024;

/**
 * libvips keeps the files it read lately open (its operation cache), and a deleted file's disk
 * space is freed only once it is closed: emptying the cache closes them (the limits stay as set).
 */
export function releaseFiles(): void {
  const c = sharp.cache();
  sharp.cache(false);
  sharp.cache({ memory: c.memory.max, files: c.files.max, items: c.items.max });
}

/** Bytes free for this user on the disk holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

export const refusals = {
  sourceTooLarge: (file: string, need: number, max: number) => errors.viewerTooLarge(file, need, max),
  cacheFull: (file: string, held: number, max: number) => errors.viewerBusy(file, held, max),
  lowDisk: (file: string, dir: string, need: number, free: number, keep: number) =>
    errors.viewerLowDisk(file, dir, need, free, keep),
};

/**
 * A failure to write a cache file (libvips: "wbuffer_write: write failed", then the system's
 * reason) in one sentence naming the image and the folder; undefined for any other failure.
 */
export function writeFailure(e: unknown, file: string, dir: string): UserError | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  const msg = String((e as Error)?.message ?? e);
  const why =
    code === 'ENOSPC' || /no space left/i.test(msg)
      ? 'the disk is full'
      : code === 'EDQUOT' || /quota/i.test(msg)
        ? 'the disk quota is used up'
        : code === 'EFBIG' || /file too large/i.test(msg)
          ? 'the file would be larger than the system allows'
          : /write failed|unable to write|vips__file_write/i.test(msg)
            ? 'the disk reported an error'
            : undefined;
  if (!why) return undefined;
  return errors.viewerWriteFailed(file, dir, why);
}
