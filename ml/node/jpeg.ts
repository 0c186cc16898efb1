/**
 * The JPEG encoder and decoder the training degradations (ml/degrade.ts) and the JPEG scores of
 * the quality table use: sharp's (libvips on mozjpeg), at the given quality with 4:2:0 chroma
 * subsampling and otherwise sharp's defaults: baseline, the standard (Annex K) quantisation tables
 * scaled by the quality as libjpeg does, mozjpeg's trellis quantisation and other extras off, so
 * the pixels are those of an ordinary libjpeg encoder, as cameras and most software save photos.
 * Deterministic: the same pixels and quality always give the same pixels back.
 */
import sharp from 'sharp';
import type { JpegRoundTrip } from '../degrade.ts';

export const sharpJpeg: JpegRoundTrip = async (rgb, width, height, quality) => {
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100))
    throw new Error(`sharpJpeg: bad quality ${quality}`);
  if (rgb.length !== width * height * 3) throw new Error(`sharpJpeg: ${rgb.length} bytes for ${width}×${height} RGB`);
  const jpg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
  const { data, info } = await sharp(jpg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`sharpJpeg: decoded ${info.width}×${info.height}×${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
};
