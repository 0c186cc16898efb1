/**
 * Every relative link in the repository's Markdown files leads somewhere: the file or folder it
 * names exists, and a `#anchor` (in the same file or another Markdown file) names one of that
 * file's headings as GitHub spells heading anchors. Links to web addresses are not followed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Folders that are not the project's own text: dependencies, build outputs, caches, run folders. */
const SKIP = new Set(['node_modules', 'dist', 'runs', 'test-artifacts', 'generated']);

/** The Markdown files under `dir`, hidden folders and SKIP left out. */
function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...markdownFiles(p));
    else if (e.isFile() && e.name.endsWith('.md')) out.push(p);
  }
  return out.sort();
}

/** The text outside fenced code blocks and inline code, line by line (code is blanked, so line numbers stay). */
function proseLines(text: string): string[] {
  let fence: string | null = null;
  return text.split('\n').map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]![0]!;
      else if (m[1]![0] === fence) fence = null;
      return '';
    }
    return fence === null ? line.replace(/(`+)[^`]*?\1/g, '') : '';
  });
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (repeated headings get -1, -2, … as on GitHub). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | null = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      continue;
    }
    const h = fence === null && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link of the Markdown files under `root` that leads nowhere, as "file:line: target (why)". */
export function brokenLinks(root: string): string[] {
  const broken: string[] = [];
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (f: string) => cache.get(f) ?? (cache.set(f, anchors(f)), cache.get(f)!);
  for (const file of markdownFiles(root)) {
    proseLines(readFileSync(file, 'utf8')).forEach((line, i) => {
      for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
        const where = `${path.relative(root, file)}:${i + 1}: ${target}`;
        const [rel, anchor] = target.split('#', 2) as [string, string | undefined];
        const dest = rel === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
        if (!existsSync(dest)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!dest.endsWith('.md') || !statSync(dest).isFile()) {
          broken.push(`${where} (an anchor into something that is not a Markdown file)`);
        } else if (!anchorsOf(dest).has(decodeURIComponent(anchor))) {
          broken.push(`${where} (no heading with that anchor)`);
        }
      }
    });
  }
  return broken;
}

test('heading anchors are spelled as GitHub spells them', () => {
  assert.equal(slug('Quality against the UpscalerJS models'), 'quality-against-the-upscalerjs-models');
  assert.equal(slug('Is fine-tuning worth it?'), 'is-fine-tuning-worth-it');
  assert.equal(slug('The run folder, stopping and continuing'), 'the-run-folder-stopping-and-continuing');
  assert.equal(slug('`--init`: start from a model'), '--init-start-from-a-model');
});

test('a missing file, a missing heading and an anchor into a non-Markdown file are each reported; good links are not', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sr-studio-links-'));
  mkdirSync(path.join(dir, 'docs'));
  writeFileSync(path.join(dir, 'docs', 'a.md'), '# A\n\n## Two words\n\n## Two words\n\ntext\n');
  writeFileSync(path.join(dir, 'x.txt'), 'x\n');
  writeFileSync(
    path.join(dir, 'README.md'),
    [
      '# Top',
      '[ok](docs/a.md) [ok](docs/a.md#two-words) [ok](docs/a.md#two-words-1) [ok](#top) [web](https://example.org/nothing)',
      '[gone](docs/b.md)',
      '[no heading](docs/a.md#three-words)',
      '[not markdown](x.txt#top)',
      '`[in code](nowhere.md)`',
      '```',
      '[in a fence](nowhere.md)',
      '```',
    ].join('\n'),
  );
  try {
    assert.deepEqual(brokenLinks(dir), [
      'README.md:3: docs/b.md (no such file)',
      'README.md:4: docs/a.md#three-words (no heading with that anchor)',
      'README.md:5: x.txt#top (an anchor into something that is not a Markdown file)',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every relative link and anchor in the repository's Markdown files resolves", () => {
  const files = markdownFiles(ROOT);
  assert.ok(
    files.includes(path.join(ROOT, 'README.md')) && files.some((f) => f.startsWith(path.join(ROOT, 'docs') + path.sep)),
    'README.md and docs/ are checked',
  );
  assert.deepEqual(brokenLinks(ROOT), []);
});
