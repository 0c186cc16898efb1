// Injected into every page of the end-to-end test (Playwright's addInitScript) before the app loads.
// Plain JavaScript on purpose: the repository's TypeScript has no DOM library, and this runs only in
// the browser. It reads the page; it never changes how the app behaves.
(() => {
  /** Every canvas the Upscale view's live preview used, kept even after Svelte unmounts it. */
  const liveCanvases = [];
  /** Every src the training preview image has had, in order (consecutive repeats dropped). */
  const trainPreviews = [];
  new MutationObserver(() => {
    for (const c of document.querySelectorAll('canvas[data-testid="live-preview"]')) {
      if (!liveCanvases.includes(c)) liveCanvases.push(c);
    }
    const src = document.querySelector('img[data-testid="train-preview"]')?.getAttribute('src');
    if (src && trainPreviews[trainPreviews.length - 1] !== src) trainPreviews.push(src);
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });

  /** Pixels of every canvas under `root` within `tol` of each colour ([r, g, b]), one count per colour. */
  function colourCounts(root, colours, tol) {
    const counts = colours.map(() => 0);
    const canvases = root ? [...(root.tagName === 'CANVAS' ? [root] : root.querySelectorAll('canvas'))] : [];
    for (const c of canvases) {
      if (!c.width || !c.height) continue;
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 200) continue;
        colours.forEach(([r, g, b], k) => {
          if (Math.abs(data[i] - r) <= tol && Math.abs(data[i + 1] - g) <= tol && Math.abs(data[i + 2] - b) <= tol)
            counts[k]++;
        });
      }
    }
    return counts;
  }

  /** Animation-frame timestamps and long animation frames (over 50 ms) while recording. */
  const recording = { on: false, times: [], long: [], draws: [] };
  try {
    new PerformanceObserver((list) => {
      if (recording.on) for (const e of list.getEntries()) recording.long.push(e.duration);
    }).observe({ type: 'long-animation-frame' });
  } catch {
    // an older browser without the Long Animation Frames API
  }
  // The viewer's draws (renderer/src/viewer/tile-canvas.ts measures each one).
  new PerformanceObserver((list) => {
    if (!recording.on) return;
    for (const e of list.getEntries())
      if (e.name === 'sr-viewer-draw') recording.draws.push({ ms: e.duration, complete: !!e.detail?.complete });
  }).observe({ type: 'measure' });

  window.__e2e = {
    /** Starts recording every animation frame's timestamp. */
    startFrames() {
      const run = (recording.run ?? 0) + 1;
      Object.assign(recording, { on: true, run, times: [], long: [], draws: [] });
      const loop = (t) => {
        if (!recording.on || recording.run !== run) return;
        recording.times.push(t);
        requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
    },
    /** Stops recording: the frames' timestamps (ms), the long animation frames' durations and the viewer's draws. */
    stopFrames() {
      recording.on = false;
      return { times: recording.times, long: recording.long, draws: recording.draws };
    },
    /** A DataTransfer holding files made from base64 bytes, as a drag from the file manager carries. */
    dataTransfer(files) {
      const dt = new DataTransfer();
      for (const f of files) {
        if (f.zeros !== undefined) {
          // A large file without sending its bytes through the test: `zeros` bytes of 0, 1 MiB parts.
          const part = new Uint8Array(1 << 20);
          const parts = Array.from({ length: Math.floor(f.zeros / part.length) }, () => part);
          dt.items.add(new File([...parts, new Uint8Array(f.zeros % part.length)], f.name, { type: f.type }));
          continue;
        }
        const bin = atob(f.base64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      return dt;
    },
    /** How many pixels of each colour the canvases inside the element with this test id show. */
    colourCounts(testid, colours, tol) {
      return colourCounts(document.querySelector(`[data-testid="${testid}"]`), colours, tol);
    },
    /** The training preview's srcs so far, shortened to their length and last characters. */
    trainPreviews() {
      return trainPreviews.map((s) => ({ kind: s.slice(0, 22), length: s.length, tail: s.slice(-40) }));
    },
    /** True when every <img> inside the element with this test id has loaded (and there is at least one). */
    imagesLoaded(testid) {
      const imgs = [...(document.querySelector(`[data-testid="${testid}"]`)?.querySelectorAll('img') ?? [])];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    /** The natural size of the first <img> inside the element with this test id. */
    imageSize(testid) {
      const el = document.querySelector(`[data-testid="${testid}"]`);
      const img = el?.tagName === 'IMG' ? el : el?.querySelector('img');
      return img
        ? { src: img.getAttribute('src')?.slice(0, 22) ?? '', width: img.naturalWidth, height: img.naturalHeight }
        : null;
    },
    /** Resolves after two animation frames: by then a change just made has been drawn. */
    frames() {
      return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))));
    },
    /** Pixel counts of every canvas and image in the page larger than `limit` pixels. */
    largerThan(limit) {
      return [...document.querySelectorAll('canvas, img')]
        .map((e) => (e.tagName === 'CANVAS' ? e.width * e.height : e.naturalWidth * e.naturalHeight))
        .filter((n) => n > limit);
    },
    /** The live-preview canvases seen so far: their size and how many of their pixels were drawn. */
    liveCanvases() {
      return liveCanvases.map((c) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let drawn = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
        return { width: c.width, height: c.height, drawn };
      });
    },
  };
})();
