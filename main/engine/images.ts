/**
 * Images for the UI: PNG bytes as data URLs (api.ts `ImageData64`), from float RGB (tiles, training
 * previews), from 8-bit grey (feature maps) or from a file on disk (thumbnails, results).
 */
import sharp, { type Sharp } from 'sharp';
import type { ImageData64 } from '../api.ts';
import type { RgbImage } from '../../ml/image.ts';
import { readImageSize } from '../../ml/node/image-io.ts';

/** Larger images are refused by `fileImageData` without `maxSide` (a data URL that big stalls the UI). */
export const MAX_LOAD_PIXELS = 64_000_000;

async function pngDataUrl(s: Sharp): Promise<ImageData64> {
  const { data, info } = await s
    .png({ compressionLevel: 2, adaptiveFiltering: false })
    .toBuffer({ resolveWithObject: true });
  return { dataUrl: `data:image/png;base64,${data.toString('base64')}`, width: info.width, height: info.height };
}

/** Float RGB in [0, 1] (clamped here) → PNG. */
export function rgbImageData(rgb: Float32Array, width: number, height: number): Promise<ImageData64> {
  const bytes = new Uint8Array(width * height * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, rgb[i]!)) * 255);
  return pngDataUrl(sharp(bytes, { raw: { width, height, channels: 3 } }));
}

export const imageData = (img: RgbImage): Promise<ImageData64> => rgbImageData(img.rgb, img.width, img.height);

export function greyImageData(grey: Uint8Array, width: number, height: number): Promise<ImageData64> {
  return pngDataUrl(sharp(grey, { raw: { width, height, channels: 1 } }));
}

/**
 * A file as PNG, upright, scaled down to fit `maxSide` when given (never up). Without `maxSide` the
 * whole image is sent, up to MAX_LOAD_PIXELS. Read errors are the engine's one-sentence user errors.
 */
export async function fileImageData(file: string, maxSide?: number): Promise<ImageData64> {
  const { width, height } = await readImageSize(file);
  if (maxSide === undefined && width * height > MAX_LOAD_PIXELS) {
    throw new Error(
      `${JSON.stringify(file)} is ${width}×${height} pixels, too large to show at full size; open it in an image viewer instead.`,
    );
  }
  let s = sharp(file, { limitInputPixels: false, autoOrient: true, pages: 1 });
  if (maxSide !== undefined) s = s.resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true });
  return pngDataUrl(s.toColourspace('srgb'));
}
