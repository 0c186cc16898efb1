/**
 * The quality table's contact sheet (`npm run quality -- --sheet FILE.png`): for each chosen
 * validation photo one row of crops at 1:1, the same region of every method's output side by side
 * and the ground truth last, so blur, ringing and invented texture can be seen beside the figures.
 *
 * The region is the crop of the ground truth with the most fine detail (`detailedCrop`), chosen
 * once per photo and the same for every column. Columns are `SHEET_GAP` pixels apart on white
 * under a `LABEL_HEIGHT` band of labels, drawn by sharp from an SVG overlay (system fonts through
 * libvips; without a font the band stays blank). The pixels are the ones scored: each output
 * quantised to 8 bits as `compareImages` quantises it.
 */
import sharp from 'sharp';
import { cropImage, grid, type RgbImage } from '../ml/image.ts';
import { quantize8, rgbToY } from '../ml/metrics.ts';
import { writeFileAtomic } from '../ml/node/atomic.ts';

/** White pixels between two columns and between two rows. */
export const SHEET_GAP = 2;
/** Height of the band of column labels above the first row. */
export const LABEL_HEIGHT = 16;

/**
 * The side × side window of `hr` with the most fine detail: the largest sum of gradient
 * magnitudes √(gx² + gy²) of its Y channel (forward differences inside the window, as
 * `meanGradient` takes them), over the windows whose top left corner has both coordinates
 * multiples of `step` and which keep `margin` pixels from every border; the first in raster order
 * (top to bottom, then left to right) on a tie.
 */
export function detailedCrop(
  hr: RgbImage,
  side: number,
  { step = 1, margin = 0 }: { step?: number; margin?: number } = {},
): { x: number; y: number } {
  const { width: w, height: h } = hr;
  if (!(Number.isInteger(side) && side >= 2 && Number.isInteger(step) && step >= 1 && margin >= 0)) {
    throw new Error(`detailedCrop: side ${side}, step ${step}, margin ${margin}`);
  }
  const first = Math.ceil(margin / step) * step;
  if (first + side + margin > w || first + side + margin > h) {
    throw new Error(`detailedCrop: no ${side}×${side} window ${margin} px from the borders of ${w}×${h}`);
  }
  const y = rgbToY(hr);
  // Summed-area table of the gradient magnitudes (0 in the last row and column, which have none).
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let r = 0; r < h; r++) {
    let rowSum = 0;
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      if (r < h - 1 && c < w - 1) rowSum += Math.hypot(y[i + 1]! - y[i]!, y[i + w]! - y[i]!);
      sat[(r + 1) * (w + 1) + c + 1] = sat[r * (w + 1) + c + 1]! + rowSum;
    }
  }
  const inner = side - 1; // the window's pixels that have both neighbours inside it
  const sum = (x0: number, y0: number) =>
    sat[(y0 + inner) * (w + 1) + x0 + inner]! -
    sat[y0 * (w + 1) + x0 + inner]! -
    sat[(y0 + inner) * (w + 1) + x0]! +
    sat[y0 * (w + 1) + x0]!;
  let best = { x: first, y: first };
  let bestSum = -1;
  for (let y0 = first; y0 + side + margin <= h; y0 += step) {
    for (let x0 = first; x0 + side + margin <= w; x0 += step) {
      const s = sum(x0, y0);
      if (s > bestSum) {
        bestSum = s;
        best = { x: x0, y: y0 };
      }
    }
  }
  return best;
}

/** The sheet's size for `rows` × `cols` cells of `side` pixels. */
export function sheetSize(rows: number, cols: number, side: number): { width: number; height: number } {
  return { width: cols * side + (cols - 1) * SHEET_GAP, height: LABEL_HEIGHT + rows * side + (rows - 1) * SHEET_GAP };
}

/** The top left pixel of the cell in row `row` and column `col`. */
export function cellOrigin(row: number, col: number, side: number): { x: number; y: number } {
  return { x: col * (side + SHEET_GAP), y: LABEL_HEIGHT + row * (side + SHEET_GAP) };
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The label band as SVG: each label centred over its column, in a smaller type where it would not fit. */
function labelSvg(labels: readonly string[], side: number, width: number): string {
  const texts = labels.map((label, c) => {
    const cx = c * (side + SHEET_GAP) + side / 2;
    // About 0.6 em a character in a sans-serif face; 11 px where the column has room.
    const size = Math.min(11, (side - 4) / (0.6 * Math.max(1, label.length))).toFixed(1);
    return `<text x="${cx}" y="${LABEL_HEIGHT - 4}" font-size="${size}" text-anchor="middle">${xml(label)}</text>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL_HEIGHT}">` +
    `<g font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" fill="#222">${texts.join('')}</g></svg>`
  );
}

/**
 * Writes the contact sheet of `cells` (rows of equally many side × side crops) with a label over
 * each column to `file` as an 8-bit PNG, atomically. Returns its size.
 */
export async function writeContactSheet(
  file: string,
  cells: readonly (readonly RgbImage[])[],
  labels: readonly string[],
): Promise<{ width: number; height: number }> {
  const side = cells[0]?.[0]?.width ?? 0;
  if (
    !cells.length ||
    cells.some((r) => r.length !== labels.length || r.some((c) => c.width !== side || c.height !== side))
  ) {
    throw new Error(`writeContactSheet: every row needs ${labels.length} crops of ${side}×${side} pixels`);
  }
  const body = grid(
    cells.map((r) => [...r]),
    SHEET_GAP,
  );
  const { width, height } = sheetSize(cells.length, labels.length, side);
  const data = new Uint8Array(width * height * 3).fill(255);
  const top = LABEL_HEIGHT * width * 3;
  for (let i = 0; i < body.rgb.length; i++) data[top + i] = quantize8(body.rgb[i]!);
  // Compositing adds an alpha channel (opaque everywhere): it is dropped again, so the sheet is RGB.
  const labelled = await sharp(data, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(labelSvg(labels, side, width)), top: 0, left: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  const png = await sharp(labelled.data, { raw: { width, height, channels: labelled.info.channels } })
    .removeAlpha()
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
  await writeFileAtomic(file, png);
  return { width, height };
}

/**
 * Collects the crops of one sheet: for each chosen photo its region (`detailedCrop` of the ground
 * truth, corners on the LR pixel grid, clear of the scored border), then each method's output
 * cropped there, in the order the methods come.
 */
export class SheetCrops {
  readonly #side: number;
  readonly #photos: ReadonlyArray<{ name: string; hr: RgbImage; x: number; y: number }>;
  readonly #labels: string[] = [];
  readonly #crops = new Map<string, RgbImage[]>();

  constructor(photos: ReadonlyArray<{ name: string; hr: RgbImage }>, side: number, scale: number) {
    this.#side = side;
    this.#photos = photos.map((p) => ({ ...p, ...detailedCrop(p.hr, side, { step: scale, margin: scale }) }));
  }

  /** Each photo's name and the top left pixel of its crop. */
  get regions(): ReadonlyArray<{ name: string; x: number; y: number }> {
    return this.#photos.map(({ name, x, y }) => ({ name, x, y }));
  }

  /** Keeps the crop of `output` (the method `label`'s upscale of photo `name`); other photos are ignored. */
  add(label: string, name: string, output: RgbImage): void {
    const p = this.#photos.find((q) => q.name === name);
    if (!p) return;
    if (!this.#crops.has(label)) {
      this.#labels.push(label);
      this.#crops.set(label, []);
    }
    this.#crops.get(label)![this.#photos.indexOf(p)] = cropImage(output, p.x, p.y, this.#side, this.#side);
  }

  /** Writes the sheet: the methods in the order they were added, then the ground truth. */
  write(file: string): Promise<{ width: number; height: number }> {
    const rows = this.#photos.map((p, i) => {
      const row = this.#labels.map((l) => this.#crops.get(l)![i]);
      if (row.some((c) => c === undefined)) throw new Error(`SheetCrops: a method has no output for ${p.name}`);
      return [...(row as RgbImage[]), cropImage(p.hr, p.x, p.y, this.#side, this.#side)];
    });
    return writeContactSheet(file, rows, [...this.#labels, 'ground truth']);
  }
}
