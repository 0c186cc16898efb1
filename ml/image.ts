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
