/**
 * Where the scripts find their photos. The validation and tiny photos are in the repository
 * (photos/val, photos/tiny); the training photos are not, `npm run photos` puts them in
 * photos/train. photos/SOURCES.md says where each one comes from and under which licence.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const PHOTOS = path.join(ROOT, 'photos');
export const VAL_PHOTOS = path.join(PHOTOS, 'val');
export const TINY_PHOTOS = path.join(PHOTOS, 'tiny');
/** Where `npm run photos` puts the training photos by default (git-ignored). */
export const TRAIN_PHOTOS = path.join(PHOTOS, 'train');
/** The environment variable that names the training photos' folder for the scripts. */
export const TRAIN_PHOTOS_ENV = 'SR_STUDIO_TRAIN_PHOTOS';

const hasPhotos = (dir: string) => {
  try {
    return readdirSync(dir).some((f) => /\.(jpe?g|png|webp|tiff?)$/i.test(f));
  } catch {
    return false;
  }
};

/**
 * The training photos' folder: `flag` (a script's --data) when given, else $SR_STUDIO_TRAIN_PHOTOS,
 * else photos/train when it holds photos, else ../shared/data/train beside the repository when it
 * exists. Throws one sentence saying how to get them when there are none.
 */
export function trainingPhotos(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env[TRAIN_PHOTOS_ENV]) return path.resolve(env[TRAIN_PHOTOS_ENV]);
  if (hasPhotos(TRAIN_PHOTOS)) return TRAIN_PHOTOS;
  const beside = path.resolve(ROOT, '..', 'shared', 'data', 'train');
  if (existsSync(beside)) return beside;
  throw new Error(
    `There are no training photos in ${path.relative(process.cwd(), TRAIN_PHOTOS) || '.'}: run npm run photos to put them there, or name a folder with --data DIR or ${TRAIN_PHOTOS_ENV}=DIR.`,
  );
}
