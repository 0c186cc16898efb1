/**
 * Model files made for download in browser mode. Each is written once per model version and
 * format (named by a hash of the model's bytes), so downloading the same model again writes
 * nothing; at most DOWNLOADS_KEPT are kept, the least recently asked for go first, and all of them
 * live in the host's temp folder, removed when it closes.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../ml/node/atomic.ts';

export const DOWNLOADS_KEPT = 8;

/**
 * The file `<dir>/<hash of source>-<format>/<name>`, made with `make` unless it is there already;
 * older ones beyond DOWNLOADS_KEPT are removed.
 */
export async function keptDownload(
  dir: string,
  source: Uint8Array,
  format: string,
  name: string,
  make: () => Promise<Uint8Array>,
): Promise<string> {
  const key = `${createHash('sha256').update(source).digest('hex').slice(0, 32)}-${format}`;
  const file = path.join(dir, key, name);
  const now = new Date();
  const there = await fs
    .utimes(path.join(dir, key), now, now)
    .then(() => fs.stat(file))
    .then(
      (s) => s.isFile(),
      () => false,
    );
  if (!there) await writeFileAtomic(file, await make());
  await prune(dir);
  return file;
}

async function prune(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  if (names.length <= DOWNLOADS_KEPT) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => b.t - a.t);
  for (const { n } of dated.slice(DOWNLOADS_KEPT)) await fs.rm(path.join(dir, n), { recursive: true, force: true });
}
