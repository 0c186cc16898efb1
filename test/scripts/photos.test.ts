/**
 * `npm run photos`: the list it works from (photos/SOURCES.md), copying the training photos from a
 * folder, and downloading them, checked against the list, from a local stand-in for a Debian mirror
 * (no network needed): refused in one sentence when the mirror cannot be reached or sends other bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { trainingPhotos, TRAIN_PHOTOS_ENV } from '../../scripts/photo-folders.ts';
import { arMember, extractFromDeb, parseSources, processPhoto, SOURCES } from '../../scripts/photos.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PHOTOS = path.join(ROOT, 'photos');

let dir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-photos-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Runs `npm run photos -- ARGS` (the script itself) from the repository root. */
function photos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/photos.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const listed = async (folder: string) => (await fs.readdir(folder).catch(() => [] as string[])).sort();

/** A local HTTP server answering every request with `answer`; its base URL. */
async function mirror(
  answer: (res: http.ServerResponse) => void,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    answer(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/debian`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('photos/SOURCES.md', () => {
  test('lists the 41 training photos, each from one of the 5 Debian packages it lists with size and SHA-256', async () => {
    const { packages, photos: train } = parseSources(await fs.readFile(SOURCES, 'utf8'));
    assert.equal(train.length, 41);
    assert.equal(new Set(train.map((p) => p.name)).size, 41, 'names are unique');
    assert.deepEqual([...packages.keys()].sort(), [
      'lomiri-wallpapers-16.04',
      'lomiri-wallpapers-20.04',
      'mate-backgrounds',
      'palapeli-data',
      'plasma-workspace-wallpapers',
    ]);
    for (const p of train) {
      assert.match(p.name, /^[\w-]+\.jpg$/, p.name);
      assert.match(p.member, /^\/usr\/share\/\S+\.jpg$/, p.name);
      assert.match(p.sha256, /^[0-9a-f]{16}$/, p.name);
      assert.ok(packages.has(p.package), `${p.name}: ${p.package}`);
    }
    for (const k of packages.values()) {
      assert.match(k.file, /^pool\/main\/[a-z]\/[\w.-]+\/[\w.+~-]+_all\.deb$/, k.name);
      assert.ok(Number.isInteger(k.size) && k.size > 0, k.name);
      assert.match(k.sha256, /^[0-9a-f]{64}$/, k.name);
      assert.ok(
        train.some((p) => p.package === k.name),
        `${k.name} gives at least one photo`,
      );
    }
  });

  test('every photo in the repository has its row, and the licence files it names are here', async () => {
    const md = await fs.readFile(SOURCES, 'utf8');
    for (const sub of ['val', 'tiny']) {
      const files = await listed(path.join(PHOTOS, sub));
      assert.ok(files.length >= 4, sub);
      for (const f of files)
        assert.match(
          md,
          new RegExp(`^\\| ${sub}/${f.replace('.', '\\.')} \\| \\d+x\\d+ \\|`, 'm'),
          `${sub}/${f} has a row`,
        );
      for (const m of md.matchAll(new RegExp(`^\\| ${sub}/(\\S+) \\| (\\d+)x(\\d+) \\|`, 'gm'))) {
        const meta = await sharp(path.join(PHOTOS, sub, m[1]!)).metadata();
        assert.deepEqual([meta.width, meta.height], [Number(m[2]), Number(m[3])], `${sub}/${m[1]} is as listed`);
      }
    }
    const licences = await listed(path.join(PHOTOS, 'licenses'));
    assert.deepEqual(licences, [
      'python-matplotlib-data.copyright',
      'python3-skimage.copyright',
      'python3-sklearn.copyright',
    ]);
    for (const pkg of licences.map((l) => l.replace('.copyright', '')))
      assert.match(
        md,
        new RegExp(`^\\| val/\\S+ \\| \\S+ \\| ${pkg.replace(/\./g, '\\.')} \\(`, 'm'),
        `${pkg} gives a photo in the repository`,
      );
  });
});

describe('npm run photos -- --from DIR', () => {
  test("copies the folder's photos into --out, byte for byte, and leaves other files", async () => {
    await fs.mkdir(tmp('mine'));
    await fs.copyFile(path.join(PHOTOS, 'tiny/coffee_64x64.png'), tmp('mine/coffee.png'));
    await sharp(path.join(PHOTOS, 'tiny/chelsea_96x72.png')).jpeg().toFile(tmp('mine/chelsea.JPG'));
    await fs.writeFile(tmp('mine/notes.txt'), 'not a photo\n');
    const r = await photos(['--from', tmp('mine'), '--out', tmp('copied/train')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await listed(tmp('copied/train')), ['chelsea.JPG', 'coffee.png']);
    for (const f of ['chelsea.JPG', 'coffee.png'])
      assert.ok((await fs.readFile(tmp('copied/train', f))).equals(await fs.readFile(tmp('mine', f))), f);
    assert.match(r.stdout, /^Copied 2 photos into .*copied\/train\.\n$/);
  });

  test('a missing folder, a file or a folder without photos is one sentence naming it and --from', async () => {
    await fs.mkdir(tmp('no-photos'));
    await fs.writeFile(tmp('no-photos/readme.txt'), 'nothing here\n');
    for (const [from, why] of [
      [
        tmp('missing'),
        /^The folder \S*missing does not exist: name the folder that holds the training photos with --from DIR\.$/,
      ],
      [
        path.join(PHOTOS, 'SOURCES.md'),
        /^\S*SOURCES\.md is a file, not a folder: name the folder that holds the training photos with --from DIR\.$/,
      ],
      [
        tmp('no-photos'),
        /^The folder \S*no-photos has no photos \(\.jpg, \.png, \.webp or \.tif\): name the folder that holds the training photos with --from DIR\.$/,
      ],
    ] as const) {
      const r = await photos(['--from', from, '--out', tmp('refused')]);
      assert.equal(r.code, 1, from);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr.trim(), why);
      assert.equal(existsSync(tmp('refused')), false, 'nothing was made');
    }
  });
});

describe('npm run photos (download)', () => {
  test('a mirror that cannot be reached is one sentence saying to use --from, and nothing is written', async () => {
    const closed = await mirror(() => undefined);
    await closed.close(); // its port is now refused
    const r = await photos(['--mirror', closed.url, '--out', tmp('unreachable')]);
    assert.equal(r.code, 1);
    const errors = lines(r.stderr).filter((l) => !l.startsWith('  '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0]!,
      /^Could not download the training photos from 127\.0\.0\.1:\d+ \(ECONNREFUSED\): copy them from a folder you have with npm run photos -- --from DIR\.$/,
    );
    assert.deepEqual(await listed(tmp('unreachable')), []);
  });

  test('a mirror that answers 404, or sends other bytes than the listed package, is refused in one sentence', async () => {
    const notFound = await mirror((res) => res.writeHead(404).end('not here'));
    const junk = await mirror((res) =>
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(4096, 7)),
    );
    try {
      const a = await photos(['--mirror', notFound.url, '--out', tmp('not-found')]);
      assert.equal(a.code, 1);
      assert.match(
        lines(a.stderr).at(-1)!,
        /^Could not download the training photos from 127\.0\.0\.1:\d+ \(http:\S+\.deb answered HTTP 404\): copy them from a folder you have with npm run photos -- --from DIR\.$/,
      );
      assert.match(
        notFound.requests[0]!,
        /^\/debian\/pool\/main\/p\/plasma-workspace-wallpapers\/plasma-workspace-wallpapers_5\.27\.5-2_all\.deb$/,
      );
      const b = await photos(['--mirror', junk.url, '--out', tmp('junk')]);
      assert.equal(b.code, 1);
      assert.match(
        lines(b.stderr).at(-1)!,
        /^http:\S+_all\.deb is not the package that photos\/SOURCES\.md lists \(4096 bytes, SHA-256 [0-9a-f]{16}…, expected \d+ bytes, [0-9a-f]{16}…\): try another Debian mirror with --mirror URL, or copy the photos with --from DIR\.$/,
      );
      assert.deepEqual(await listed(tmp('junk')), [], 'nothing was written');
    } finally {
      await notFound.close();
      await junk.close();
    }
  });

  test('photos already in the folder are kept and not downloaded again', async () => {
    const { photos: train } = parseSources(await fs.readFile(SOURCES, 'utf8'));
    await fs.mkdir(tmp('have-all'));
    for (const p of train) await fs.writeFile(tmp('have-all', p.name), 'kept');
    const server = await mirror((res) => res.writeHead(500).end());
    try {
      const r = await photos(['--mirror', server.url, '--out', tmp('have-all')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /has the 41 training photos \(0 downloaded, 41 already there\)\.\n$/);
      assert.deepEqual(server.requests, []);
      assert.equal(await fs.readFile(tmp('have-all', train[0]!.name), 'utf8'), 'kept');
    } finally {
      await server.close();
    }
  });

  test('a photo is extracted from a .deb and processed as SOURCES.md says: upright sRGB JPEG, at most 1600 px, q95 4:4:4, no metadata', async () => {
    // A .deb as dpkg-deb builds one: an ar archive of debian-binary, control.tar.xz and data.tar.xz.
    const pkg = tmp('deb');
    await fs.mkdir(path.join(pkg, 'root/usr/share/backgrounds'), { recursive: true });
    await sharp(path.join(PHOTOS, 'val/coffee.png'))
      .resize(2400, 1584)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(path.join(pkg, 'root/usr/share/backgrounds/coffee.jpg'));
    await fs.writeFile(path.join(pkg, 'debian-binary'), '2.0\n');
    execFileSync('tar', ['-cJf', path.join(pkg, 'control.tar.xz'), '-C', path.join(pkg, 'root'), '.']);
    execFileSync('tar', ['-cJf', path.join(pkg, 'data.tar.xz'), '-C', path.join(pkg, 'root'), '.']);
    execFileSync('ar', ['rc', path.join(pkg, 'test_1.0_all.deb'), 'debian-binary', 'control.tar.xz', 'data.tar.xz'], {
      cwd: pkg,
    });
    const deb = await fs.readFile(path.join(pkg, 'test_1.0_all.deb'));
    assert.equal(arMember(deb, 'data.tar')?.name, 'data.tar.xz');
    assert.equal(arMember(Buffer.from('not an archive'), 'data.tar'), undefined);

    const out = tmp('extracted');
    await fs.mkdir(out);
    await extractFromDeb(path.join(pkg, 'test_1.0_all.deb'), ['/usr/share/backgrounds/coffee.jpg'], out);
    const original = path.join(out, 'usr/share/backgrounds/coffee.jpg');
    assert.ok(
      (await fs.readFile(original)).equals(await fs.readFile(path.join(pkg, 'root/usr/share/backgrounds/coffee.jpg'))),
      'extracted as packed',
    );
    await processPhoto(original, tmp('coffee.jpg'));
    const m = await sharp(tmp('coffee.jpg')).metadata();
    // Orientation 6 shows the 2400×1584 pixels turned a quarter: 1584×2400, longer side to 1600.
    assert.deepEqual([m.format, m.width, m.height, m.chromaSubsampling], ['jpeg', 1056, 1600, '4:4:4']);
    assert.equal(m.exif, undefined);
    assert.equal(m.orientation, undefined);
    assert.equal(existsSync(tmp('coffee.jpg.part')), false);

    // A small photo is re-encoded, not enlarged.
    await processPhoto(path.join(PHOTOS, 'tiny/coffee_64x64.png'), tmp('small.jpg'));
    assert.deepEqual(
      [(await sharp(tmp('small.jpg')).metadata()).width, (await sharp(tmp('small.jpg')).metadata()).height],
      [64, 64],
    );

    await fs.writeFile(tmp('not-a.deb'), 'plain text');
    await assert.rejects(
      extractFromDeb(tmp('not-a.deb'), ['/usr/x.jpg'], out),
      /is not a Debian package \(it has no data\.tar\): download it again\.$/,
    );
  });
});

test('the scripts take the training photos from --data, else $SR_STUDIO_TRAIN_PHOTOS', () => {
  assert.equal(trainingPhotos('some/folder', { [TRAIN_PHOTOS_ENV]: '/elsewhere' }), path.resolve('some/folder'));
  assert.equal(trainingPhotos(undefined, { [TRAIN_PHOTOS_ENV]: '/elsewhere' }), '/elsewhere');
});
