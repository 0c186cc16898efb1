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
