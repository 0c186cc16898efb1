/** An image in memory: interleaved RGB floats in [0, 1], row-major, plus optional alpha. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 values in [0, 1]. */
  readonly rgb: Float32Array;
  /** width × height values in [0, 1], or undefined when the image is opaque. */
  readonly alpha?: Float32Array | undefined;
}

export function assertImage(img: RgbImage): void {
  const n = img.width * img.height;
  if (!(img.width > 0 && img.height > 0) || img.rgb.length !== n * 3) {
    throw new Error(`bad image buffer: ${img.width}×${img.height} with ${img.rgb.length} values`);
  }
  if (img.alpha && img.alpha.length !== n) throw new Error('bad alpha buffer');
}

/** Lays images out in a grid on white, `gap` pixels apart. */
export function grid(rows: RgbImage[][], gap: number): RgbImage {
  const cols = Math.max(...rows.map((r) => r.length));
  const colW = Array.from({ length: cols }, (_, c) => Math.max(...rows.map((r) => r[c]?.width ?? 0)));
  const rowH = rows.map((r) => Math.max(...r.map((i) => i.height)));
  const W = colW.reduce((a, b) => a + b, 0) + gap * (cols - 1);
  const H = rowH.reduce((a, b) => a + b, 0) + gap * (rows.length - 1);
  const rgb = new Float32Array(W * H * 3).fill(1);
  let y0 = 0;
  for (const [ri, row] of rows.entries()) {
    let x0 = 0;
    for (const [ci, img] of row.entries()) {
      for (let y = 0; y < img.height; y++)
        rgb.set(img.rgb.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y0 + y) * W + x0) * 3);
      x0 += colW[ci]! + gap;
    }
    y0 += rowH[ri]! + gap;
  }
  return { width: W, height: H, rgb };
}

/** The w × h region of `img` whose top left pixel is (x, y) (colour only: alpha is dropped). */
export function cropImage(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (
    !(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && w > 0 && h > 0) ||
    x + w > img.width ||
    y + h > img.height
  ) {
    throw new Error(`cropImage: ${w}×${h} at (${x}, ${y}) is not inside ${img.width}×${img.height}`);
  }
  const rgb = new Float32Array(w * h * 3);
  for (let row = 0; row < h; row++) {
    const from = ((y + row) * img.width + x) * 3;
    rgb.set(img.rgb.subarray(from, from + w * 3), row * w * 3);
  }
  return { width: w, height: h, rgb };
}

/** The centre of `img`, at most `side` pixels a side (colour only: alpha is dropped). */
export function centreCrop(img: RgbImage, side: number): { x: number; y: number; image: RgbImage } {
  const w = Math.min(side, img.width);
  const h = Math.min(side, img.height);
  const x = Math.floor((img.width - w) / 2);
  const y = Math.floor((img.height - h) / 2);
  return { x, y, image: cropImage(img, x, y, w, h) };
}
