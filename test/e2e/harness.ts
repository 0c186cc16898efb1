/**
 * The end-to-end test's set-up: browser mode started as users start it (`main/server/cli.ts`, its
 * own process group, fresh data, models and temp folders), Debian's Chromium driven by
 * playwright-core, one suite per test file (`e2eSuite`: the server, the browser and a page of a
 * given size for its tests), simulated drops, screenshots with PNG header checks and failure
 * artifacts (a screenshot, the page's console and the server's output under test-artifacts/e2e/).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { chromium, type Browser, type JSHandle, type Page } from 'playwright-core';
import { startServerProcess } from '../main/server/child.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DATA = path.resolve(ROOT, 'photos');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const SCREENSHOTS = path.join(ARTIFACTS, 'screenshots');
const FAILURES = path.join(ARTIFACTS, 'e2e');
export const CHROMIUM = process.env.SR_STUDIO_CHROMIUM || '/usr/bin/chromium';

export interface Studio {
  readonly url: string;
  readonly origin: string;
  readonly dir: string;
  readonly models: string;
  /** The server's process id (its engine worker is a thread of it). */
  readonly pid: number;
  output(): string;
  /** Ends the server; its folder goes too unless `keep` (to start again on the same data with `startStudio(args, { dir })`). */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/**
 * `node --import tsx main/server/cli.ts --port 0 --no-open` (startServerProcess) with SR_STUDIO_DATA,
 * SR_STUDIO_MODELS, SR_STUDIO_CACHE and TMPDIR (where the upload inbox and the results beside it
 * go) in a fresh folder, as on a fresh install (default settings, the backends auto chooses, the
 * GPU probed anew), and one untrained tiny x2 model made by `sr-studio new-model`. `args` adds
 * server options; `dir` starts again on the folder of a server stopped with `keep` (a restart: the
 * same data).
 */
export async function startStudio(args: readonly string[] = [], opts: { dir?: string } = {}): Promise<Studio> {
  if (!existsSync(path.join(ROOT, 'renderer', 'dist', 'index.html'))) {
    throw new Error('renderer/dist is missing: build the user interface first (npm run build).');
  }
  const dir = opts.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-e2e-')));
  const models = path.join(dir, 'models');
  const tmp = path.join(dir, 'tmp');
  await fs.mkdir(models, { recursive: true });
  await fs.mkdir(tmp, { recursive: true });
  if (!opts.dir) {
    await promisify(execFile)(
      process.execPath,
      [
        'bin/sr-studio.mjs',
        'new-model',
        '-o',
        path.join(models, 'e2e_tiny_x2.safetensors'),
        '--preset',
        'tiny',
        '--scale',
        '2',
      ],
      {
        cwd: ROOT,
        timeout: 90_000,
      },
    );
  }
  const server = await startServerProcess(args, { TMPDIR: tmp }, { dir });
  return {
    url: server.url,
    origin: new URL(server.url).origin,
    dir,
    models,
    pid: server.pid,
    output: server.output,
    stop: server.stop,
  };
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium), as .ci/run does.`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A page with the probe script and its console recorded, so a failure can show what the page said. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number },
): Promise<{ page: Page; log: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const log: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => {
    log.push(`[pageerror] ${e.stack ?? e.message}`);
    errors.push(e.message);
  });
  page.on('requestfailed', (r) =>
    log.push(`[requestfailed] ${r.url().replace(/token=[^&]+/, 'token=…')} ${r.failure()?.errorText ?? ''}`),
  );
  await page.addInitScript({ path: path.join(import.meta.dirname, 'page-probe.js') });
  await page.goto(url);
  return { page, log, errors };
}

export type Session = Awaited<ReturnType<typeof openPage>>;
export interface Viewport {
  readonly width: number;
  readonly height: number;
}

/**
 * A test of the page `session` gives; when it fails, the page's screenshot and console and the
 * server's output are saved (saveFailure).
 */
function e2eTest(
  name: string,
  timeout: number,
  session: () => Session | Promise<Session>,
  studio: () => Studio | undefined,
  body: (page: Page) => Promise<void>,
): void {
  test(name, { timeout }, async () => {
    let s: Session | undefined;
    try {
      s = await session();
      await body(s.page);
    } catch (e) {
      await saveFailure(name, s?.page, s?.log ?? [], studio()?.output() ?? '');
      throw e;
    }
  });
}

/** Registers a test of a page: `body` gets the page; a failure leaves its artifacts (saveFailure). */
export type E2eTest = (name: string, timeout: number, body: (page: Page) => Promise<void>) => void;

export interface E2eSuite {
  /** A test of the suite's page. */
  readonly test: E2eTest;
  /** Tests of a second page of the same server and browser at `viewport`, opened by the first of them. */
  on(viewport: Viewport): E2eTest;
  /** Browser mode, once the before hook has started it. */
  studio(): Studio;
  /**
   * Closes the suite's page and ends browser mode, starts it again on the same folder (a restart:
   * the same data) and opens the suite's page anew; returns the new page.
   */
  restart(): Promise<Page>;
  /** The uncaught errors of every page the suite opened. */
  errors(): string[];
}

/**
 * The file's tests on one server and one browser: before them browser mode is started as for a
 * fresh install (startStudio), `setUp` is given it (to add photos or models to its folders), the
 * browser is launched and a page of `viewport` opened on the app; after them the browser and the
 * server (with its folder) are gone.
 */
export function e2eSuite(viewport: Viewport, opts: { setUp?: (studio: Studio) => Promise<void> } = {}): E2eSuite {
  let studio: Studio | undefined;
  let browser: Browser | undefined;
  let first: Session | undefined;
  const pages: Session[] = [];
  const open = async (size: Viewport): Promise<Session> => {
    if (!browser || !studio) throw new Error('browser mode or the browser did not start (see the before hook)');
    const s = await openPage(browser, studio.url, size);
    pages.push(s);
    return s;
  };
  before(
    async () => {
      studio = await startStudio();
      await opts.setUp?.(studio);
      browser = await launchBrowser();
      first = await open(viewport);
    },
    { timeout: 200_000 },
  );
  after(
    async () => {
      await browser?.close().catch(() => undefined);
      await studio?.stop();
    },
    { timeout: 60_000 },
  );
  const testOn =
    (session: () => Session | Promise<Session>): E2eTest =>
    (name, timeout, body) =>
      e2eTest(name, timeout, session, () => studio, body);
  return {
    test: testOn(() => {
      if (!first) throw new Error(`the ${viewport.width}×${viewport.height} page did not open (see the before hook)`);
      return first;
    }),
    on(size) {
      let second: Promise<Session> | undefined;
      return testOn(() => (second ??= open(size)));
    },
    studio() {
      if (!studio) throw new Error('browser mode did not start (see the before hook)');
      return studio;
    },
    async restart() {
      if (!studio || !first) throw new Error('browser mode or its page did not start (see the before hook)');
      await first.page.context().close();
      await studio.stop({ keep: true });
      studio = await startStudio([], { dir: studio.dir });
      first = await open(viewport);
      return first.page;
    },
    errors: () => pages.flatMap((p) => p.errors),
  };
}

/**
 * Saves the page as test-artifacts/screenshots/<name>.png and checks that a PNG of the page's
 * size was written; returns its path.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await fs.mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  assert.deepEqual(pngSize(await fs.readFile(file)), page.viewportSize(), file);
  return file;
}

/** Saves a screenshot, the page's console and the server's output for a failed test. */
export async function saveFailure(
  name: string,
  page: Page | undefined,
  log: readonly string[],
  serverOutput: string,
): Promise<void> {
  const base = path.join(FAILURES, name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80));
  await fs.mkdir(FAILURES, { recursive: true });
  if (page && !page.isClosed()) await page.screenshot({ path: `${base}.png`, timeout: 10_000 }).catch(() => undefined);
  await fs.writeFile(`${base}.console.txt`, log.join('\n') + '\n');
  await fs.writeFile(`${base}.server.txt`, serverOutput.replace(/token=[A-Za-z0-9_-]+/g, 'token=…'));
}

export interface DropFile {
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array;
  /** Made in the page instead: this many zero bytes (for files too large to pass through the test). */
  readonly zeros?: number;
}

export async function photo(file: string): Promise<DropFile> {
  return { name: path.basename(file), type: 'image/png', bytes: await fs.readFile(file) };
}

/** A DataTransfer in the page carrying these files, as the file manager's drag does. */
export async function dataTransfer(page: Page, files: readonly DropFile[]): Promise<JSHandle> {
  const args = files.map((f) => ({
    name: f.name,
    type: f.type,
    base64: Buffer.from(f.bytes).toString('base64'),
    zeros: f.zeros,
  }));
  return page.evaluateHandle((a) => (globalThis as unknown as ProbeWindow).__e2e.dataTransfer(a), args);
}

/** What test/e2e/page-probe.js puts on `window` (typed here because this project's TypeScript has no DOM library). */
export interface ProbeWindow {
  __e2e: {
    dataTransfer(files: Array<{ name: string; type: string; base64: string; zeros?: number | undefined }>): unknown;
    colourCounts(testid: string, colours: Array<[number, number, number]>, tol: number): number[];
    liveCanvases(): Array<{ width: number; height: number; drawn: number }>;
    trainPreviews(): Array<{ kind: string; length: number; tail: string }>;
    imagesLoaded(testid: string): boolean;
    imageSize(testid: string): { src: string; width: number; height: number } | null;
    frames(): Promise<boolean>;
    startFrames(): void;
    stopFrames(): { times: number[]; long: number[]; draws: Array<{ ms: number; complete: boolean }> };
    largerThan(limit: number): number[];
  };
}

/** Pixels of each colour in the canvases inside [data-testid=testid] (charts draw into canvases). */
export function colourCounts(
  page: Page,
  testid: string,
  colours: Array<[number, number, number]>,
  tol = 12,
): Promise<number[]> {
  return page.evaluate(([t, c, k]) => (globalThis as unknown as ProbeWindow).__e2e.colourCounts(t, c, k), [
    testid,
    colours,
    tol,
  ] as const);
}

export const liveCanvases = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as ProbeWindow).__e2e.liveCanvases());
export const trainPreviews = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as ProbeWindow).__e2e.trainPreviews());
export const imagesLoaded = (page: Page, testid: string) =>
  page.evaluate((t) => (globalThis as unknown as ProbeWindow).__e2e.imagesLoaded(t), testid);
export const imageSize = (page: Page, testid: string) =>
  page.evaluate((t) => (globalThis as unknown as ProbeWindow).__e2e.imageSize(t), testid);
/** Waits two animation frames in the page, so what was just changed has been drawn. */
export const frames = (page: Page) => page.evaluate(() => (globalThis as unknown as ProbeWindow).__e2e.frames());
/** Every canvas and image in the page with more than `limit` pixels. */
export const largerThan = (page: Page, limit: number) =>
  page.evaluate((n) => (globalThis as unknown as ProbeWindow).__e2e.largerThan(n), limit);

/** Width and height from a PNG's signature and IHDR chunk; throws if the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 33 || !sig.every((v, i) => b[i] === v))
    throw new Error(`not a PNG (first bytes ${b.subarray(0, 8).toString('hex')})`);
  if (b.toString('latin1', 12, 16) !== 'IHDR') throw new Error('PNG without an IHDR chunk first');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Polls `read` until `ok` accepts its value; the last value is in the error when time runs out. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Drags files over `target` and drops them there, as from a file manager; checks the drop overlay on the way. */
export async function drop(page: Page, target: string, files: DropFile[]): Promise<void> {
  const dt = await dataTransfer(page, files);
  const el = page.locator(target).first();
  await el.dispatchEvent('dragenter', { dataTransfer: dt });
  await el.dispatchEvent('dragover', { dataTransfer: dt });
  await page.getByTestId('drop-overlay').waitFor({ state: 'visible', timeout: 5000 });
  await el.dispatchEvent('drop', { dataTransfer: dt });
  await page.getByTestId('drop-overlay').waitFor({ state: 'detached', timeout: 5000 });
  await dt.dispose();
}

/**
 * Drops a JPEG on the window as from a file manager, upscales it with the view's defaults, and
 * opens its result; returns the output file's path (from the result panel).
 */
export async function dropAndUpscale(page: Page, file: string, name: string, timeoutMs: number): Promise<string> {
  const dt = await dataTransfer(page, [{ name, type: 'image/jpeg', bytes: await fs.readFile(file) }]);
  const body = page.locator('body');
  await body.dispatchEvent('dragenter', { dataTransfer: dt });
  await body.dispatchEvent('dragover', { dataTransfer: dt });
  await body.dispatchEvent('drop', { dataTransfer: dt });
  await dt.dispose();
  const row = page.getByTestId('queue-row').filter({ hasText: name });
  await row.and(page.locator('[data-status="ready"]')).waitFor({ timeout: 60_000 });
  await page.getByTestId('start-upscale').click();
  await row.and(page.locator('[data-status="done"], [data-status="error"]')).waitFor({ timeout: timeoutMs });
  if ((await row.getAttribute('data-status')) !== 'done') throw new Error(`${name} failed: ${await row.innerText()}`);
  await row.getByTestId('queue-select').click();
  return (await page.getByTestId('output-path').innerText()).trim();
}

/** Scrolls the element with this test id to the top of its scrolling view. */
export async function scrollToTop(page: Page, testid: string): Promise<void> {
  await page
    .getByTestId(testid)
    .evaluate((el) => (el as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'start' }));
}

/** Drags inside the element with this test id by (dx, dy) CSS pixels, in `steps` moves as a hand does. */
export async function drag(page: Page, testid: string, dx: number, dy: number, steps = 8): Promise<void> {
  const box = await page.getByTestId(testid).boundingBox();
  if (!box) throw new Error(`${testid} is not on the page`);
  const [sx, sy] = [box.x + box.width / 2, box.y + box.height / 2];
  await page.mouse.move(sx, sy);
  await page.mouse.down();
  await page.mouse.move(sx + dx, sy + dy, { steps });
  await page.mouse.up();
}
