/**
 * `npm run bench -- --mode viewer [--rounds 3] [--side 4000x3000] [--photo FILE]`: the viewer on a
 * 48-megapixel result, in Debian's Chromium as the end-to-end tests drive it (browser mode, 1280×800,
 * device pixel ratio 1). A 4000×3000 photo (a real one enlarged with sharp: --photo, else the
 * training photos' mate_Wood.jpg as the recorded figures used, when `npm run photos` has put it there,
 * else photos/val/motorcycle_left.png) is
 * dropped on the window and upscaled ×2 by the default model; its 8000×6000 result is then panned
 * at 1:1 by a scripted drag (one mouse move every 16 ms, 5 px each, there and back; and 15 px each) and zoomed by a
 * scripted wheel, side by side (two panes, the before pane computed by bicubic) and with the
 * slider. For each: the animation frames' intervals (median, 95th percentile, worst) while it
 * moves, the long animation frames (over 50 ms), the page's main-thread time per frame (CDP's
 * TaskDuration), the viewer's own draw calls (recording them; the canvas is rasterised after),
 * how often a pane showed stand-ins for tiles still loading, the page's JS heap and the server's resident
 * memory, sampled during the motion. Each round repeats everything; the machine is shared, so
 * read the rounds together.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { dropAndUpscale, launchBrowser, openPage, startStudio, type ProbeWindow } from '../test/e2e/harness.ts';
import { trainingPhotos, VAL_PHOTOS } from './photo-folders.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    side: { type: 'string', default: '4000x3000' },
    photo: { type: 'string' },
  },
  strict: false,
});
const rounds = Number(values.rounds);
const [inW, inH] = String(values.side).split('x').map(Number) as [number, number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssMiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

interface Sample {
  heap: number;
  rss: number;
}

/** The `p` quantile of ascending `sorted` (the element at floor(p·n), at most the last; NaN when empty). */
const quantile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** Runs `motion` while recording frames and sampling memory every 250 ms. */
async function measure(page: Page, pid: number, motion: () => Promise<void>) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const samples: Sample[] = [];
  let on = true;
  const sampler = (async () => {
    while (on) {
      const { metrics } = await cdp.send('Performance.getMetrics');
      samples.push({
        heap: (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20,
        rss: await rssMiB(pid),
      });
      await sleep(250);
    }
  })();
  void sampler.catch(() => undefined);
  const busy = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN;
  const busy0 = await busy();
  await page.evaluate(() => (globalThis as unknown as ProbeWindow).__e2e.startFrames());
  await motion();
  const busyMs = ((await busy()) - busy0) * 1000;
  const { times, long, draws } = await page.evaluate(() => (globalThis as unknown as ProbeWindow).__e2e.stopFrames());
  on = false;
  await sampler;
  await cdp.detach();
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i]!)
    .sort((a, b) => a - b);
  const drawMs = draws.map((d) => d.ms).sort((a, b) => a - b);
  return {
    /** The page's main thread: its tasks' time (script, style, layout, paint, canvas) per frame. */
    busyPerFrame: busyMs / Math.max(1, gaps.length),
    draws: draws.length,
    drawMedian: quantile(drawMs, 0.5),
    drawP95: quantile(drawMs, 0.95),
    standIns: draws.filter((d) => !d.complete).length / Math.max(1, draws.length),
    frames: gaps.length,
    median: quantile(gaps, 0.5),
    p95: quantile(gaps, 0.95),
    worst: gaps.at(-1) ?? NaN,
    long: long.length,
    heap: Math.max(...samples.map((s) => s.heap)),
    rss: Math.max(...samples.map((s) => s.rss)),
  };
}

const viewOf = async (page: Page, testid: string) =>
  ((await page.getByTestId(testid).getAttribute('data-view')) ?? '').split(' ').map(Number);

/** Drags there and back: 120 moves of (4·speed, 3·speed) px up and left, one every 16 ms, then back. */
async function pan(page: Page, testid: string, speed = 1): Promise<void> {
  const box = (await page.getByTestId(testid).boundingBox())!;
  // Off the centre, where the slider's divider is; the drag goes up and left from there.
  const [x, y] = [box.x + box.width * 0.9, box.y + box.height * 0.9];
  const [x0, y0] = await viewOf(page, testid);
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 240; i++) {
    const k = i <= 120 ? i : 240 - i;
    await page.mouse.move(x - 4 * speed * k, y - 3 * speed * k);
    await sleep(16);
    if (i === 120) {
      const [x1, y1] = await viewOf(page, testid);
      // The last move may not be drawn yet: within one move of the drag.
      if (Math.abs(x1! - (x0! - 480 * speed)) > 4 * speed || Math.abs(y1! - (y0! - 360 * speed)) > 3 * speed)
        throw new Error(`the pan did not move the view as dragged: (${x0}, ${y0}) → (${x1}, ${y1})`);
    }
  }
  await page.mouse.up();
}

async function zoom(page: Page, testid: string): Promise<void> {
  const box = (await page.getByTestId(testid).boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.6);
  for (let i = 0; i < 120; i++) {
    await page.mouse.wheel(0, i < 60 ? -40 : 40);
    await sleep(16);
  }
}

const fmt = (r: Awaited<ReturnType<typeof measure>>) =>
  `${String(r.frames).padStart(4)} frames: median ${r.median.toFixed(1).padStart(4)} ms, p95 ${r.p95.toFixed(1).padStart(4)}, worst ${r.worst.toFixed(0).padStart(3)}, long ${String(r.long).padStart(2)}` +
  ` · main thread ${r.busyPerFrame.toFixed(1)} ms/frame` +
  ` · ${String(r.draws).padStart(4)} draws: median ${r.drawMedian.toFixed(2)} ms, p95 ${r.drawP95.toFixed(2)}, ${(r.standIns * 100).toFixed(0).padStart(2)}% with stand-ins` +
  ` · JS heap ≤ ${r.heap.toFixed(1)} MiB · server RSS ≤ ${r.rss.toFixed(0)} MiB`;

/** The training photos' mate_Wood.jpg (1600×1200) when it is there, else a validation photo. */
async function defaultPhoto(): Promise<string> {
  try {
    const wood = path.join(trainingPhotos(), 'mate_Wood.jpg');
    await fs.access(wood);
    return wood;
  } catch {
    return path.join(VAL_PHOTOS, 'motorcycle_left.png');
  }
}

export async function benchViewer(): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-bench-viewer-'));
  const studio = await startStudio();
  const browser = await launchBrowser();
  try {
    const from = typeof values.photo === 'string' ? path.resolve(values.photo) : await defaultPhoto();
    const photo = path.join(tmp, `${path.parse(from).name}_${inW}x${inH}.jpg`);
    await sharp(from).resize(inW, inH).jpeg({ quality: 92 }).toFile(photo);
    console.log(`Photo: ${path.basename(from)} enlarged to ${inW}×${inH}`);
    const { page, log } = await openPage(browser, studio.url, { width: 1280, height: 800 });
    page.on('crash', () => console.error(`The page crashed; its console:\n${log.slice(-20).join('\n')}`));
    await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
    console.log(
      `Chromium ${browser.version()} (software rendering, as the tests run it) on ${os.cpus()[0]?.model ?? 'a CPU'}, ${os.cpus().length} cores; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(`Server RSS at the start: ${(await rssMiB(studio.pid)).toFixed(0)} MiB`);
    const t0 = performance.now();
    await dropAndUpscale(page, photo, path.basename(photo), 900_000);
    console.log(`Server RSS after upscaling: ${(await rssMiB(studio.pid)).toFixed(0)} MiB`);
    console.log(
      `Upscaled ${inW}×${inH} → ${(await page.getByTestId('result-width').innerText()).trim()} in ${((performance.now() - t0) / 1000).toFixed(0)} s (upload included).`,
    );
    await page.locator('[data-testid="slider-view"][data-complete="true"]').waitFor({ timeout: 120_000 });
    for (let round = 1; round <= rounds; round++) {
      console.log(`Round ${round} (load average ${os.loadavg()[0]!.toFixed(1)}):`);
      await page.getByTestId('mode-side').click();
      await page.getByTestId('zoom-100').click();
      await page.locator('[data-testid="pane-after"][data-complete="true"]').waitFor({ timeout: 60_000 });
      const idle = await measure(page, studio.pid, () => sleep(1000).then(() => undefined));
      console.log(`  idle, 1 s              ${fmt(idle)}`);
      console.log(`  pan 1:1, side by side  ${fmt(await measure(page, studio.pid, () => pan(page, 'pane-after')))}`);
      console.log(`  fast pan (×3), side    ${fmt(await measure(page, studio.pid, () => pan(page, 'pane-after', 3)))}`);
      console.log(`  wheel zoom, side       ${fmt(await measure(page, studio.pid, () => zoom(page, 'pane-after')))}`);
      await page.getByTestId('mode-slider').click();
      await page.getByTestId('zoom-100').click();
      await page.locator('[data-testid="slider-view"][data-complete="true"]').waitFor({ timeout: 60_000 });
      console.log(`  pan 1:1, slider        ${fmt(await measure(page, studio.pid, () => pan(page, 'slider-view')))}`);
      await page.getByTestId('zoom-fit').click();
    }
  } finally {
    await browser.close();
    await studio.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
