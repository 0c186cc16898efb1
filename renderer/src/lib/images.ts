import type { ImageData64 } from '../api/types.ts';

function canvasOf(width: number, height: number): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width));
  canvas.height = Math.max(1, Math.round(height));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw images.');
  return [canvas, ctx];
}

/** A small preview of a dropped file, made here instead of on the server; null when the browser cannot decode it (e.g. TIFF). */
export async function thumbnailOf(file: File, maxSide: number): Promise<string | null> {
  try {
    const bitmap = await createImageBitmap(file);
    const k = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const [canvas, ctx] = canvasOf(bitmap.width * k, bitmap.height * k);
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
    return blob ? URL.createObjectURL(blob) : null;
  } catch {
    return null;
  }
}

export function loadImage(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src;
  return img.decode().then(() => img);
}

/** True when columns [x0, x1) of the image are all white (a gutter between panels). */
function whiteColumns(data: ImageData, x0: number, x1: number): boolean {
  for (let y = 0; y < data.height; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * data.width + x) * 4;
      if (data.data[i]! < 250 || data.data[i + 1]! < 250 || data.data[i + 2]! < 250) return false;
    }
  }
  return true;
}

/**
 * Splits a strip of `parts` equal panels side by side (e.g. input | output | ground truth), with
 * or without white gutters between them (the widest gutter up to 16 px that fits is used).
 */
export async function splitStrip(strip: ImageData64, parts: number): Promise<ImageData64[]> {
  const img = await loadImage(strip.dataUrl);
  const [W, h] = [img.naturalWidth, img.naturalHeight];
  const [, whole] = canvasOf(W, h);
  whole.drawImage(img, 0, 0);
  const data = whole.getImageData(0, 0, W, h);
  let gap = 0;
  for (let g = 16; g > 0; g--) {
    const w = (W - (parts - 1) * g) / parts;
    if (!Number.isInteger(w) || w <= 0) continue;
    let ok = true;
    for (let k = 1; k < parts && ok; k++) ok = whiteColumns(data, k * w + (k - 1) * g, k * (w + g));
    if (ok) {
      gap = g;
      break;
    }
  }
  const w = Math.floor((W - (parts - 1) * gap) / parts);
  const out: ImageData64[] = [];
  for (let i = 0; i < parts; i++) {
    const [canvas, ctx] = canvasOf(w, h);
    ctx.drawImage(img, i * (w + gap), 0, w, h, 0, 0, w, h);
    out.push({ dataUrl: canvas.toDataURL('image/png'), width: w, height: h });
  }
  return out;
}
