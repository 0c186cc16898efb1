/**
 * Run by tiles.test.ts in a process whose files may not grow past a few MB (`ulimit -f`): asks for
 * an enlargement level too large to write, then for other images, and prints what happened as JSON.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TileCache } from '../../../ml/node/tiles.ts';

const [dir, big, other] = process.argv.slice(2) as [string, string, string];
const cache = new TileCache({ dir, tileSize: 128, keepFreeBytes: 0 });
const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e as Error).message,
  );
// ×4: level 1 is twice the file's size, a cache file of its own (2.9 MB for 600×396).
const enlarged = { path: big, enlarge: { width: 2400, height: 1584, filter: 'nearest' as const } };
const failed = await attempt(cache.tile(enlarged, 1, 0, 0));
const files = (await fs.readdir(dir, { recursive: true })).map((f) => f.split(path.sep).join('/')).sort();
const again = await attempt(cache.tile(enlarged, 1, 0, 0));
const later = await attempt(cache.tile({ path: other }, 0, 0, 0));
const same = await attempt(cache.tile(enlarged, 0, 0, 0));
console.log(JSON.stringify({ failed, files, again, later, same, bytes: cache.bytes }));
await cache.close();
