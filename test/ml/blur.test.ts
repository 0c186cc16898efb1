/** The Gaussian blurs of the training degradations (ml/blur.ts), measured on real photos. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { blurImage, gaussianBlur } from '../../ml/blur.ts';
import type { RgbImage } from '../../ml/image.ts';
import { energy, maxDiff, mean, photo } from '../helpers/photos.ts';

const FILES = ['val/coffee.png', 'val/astronaut.png', 'val/chelsea.png'];
let crops: RgbImage[] = [];
before(async () => {
  crops = await Promise.all(FILES.map((f) => photo(f, 128, 128, 100, 80)));
});

const transpose = (a: Float32Array, n: number) => {
  const out = new Float32Array(a.length);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) out[(x * n + y) * 3 + c] = a[(y * n + x) * 3 + c]!;
  return out;
};

test('blur lowers the high-frequency energy of a photo and keeps its mean; an anisotropic blur does so along its long axis', () => {
  for (const [k, img] of crops.entries()) {
    const hx = energy(img.rgb, 128, 128, 'x');
    const hy = energy(img.rgb, 128, 128, 'y');
    const iso = blurImage(img.rgb, 128, 128, { sigmaX: 1.5, sigmaY: 1.5, theta: 0 });
    assert.ok(energy(iso, 128, 128, 'x') < 0.4 * hx && energy(iso, 128, 128, 'y') < 0.4 * hy, `${FILES[k]}: isotropic`);
    assert.ok(Math.abs(mean(iso) - mean(img.rgb)) < 2e-3, `${FILES[k]}: the mean is kept`);
    const ratios = (b: Float32Array) => [energy(b, 128, 128, 'x') / hx, energy(b, 128, 128, 'y') / hy] as const;
    const [ax, ay] = ratios(blurImage(img.rgb, 128, 128, { sigmaX: 2, sigmaY: 0.3, theta: 0 }));
    assert.ok(ax < ay, `${FILES[k]}: long axis x: x ${ax.toFixed(3)} < y ${ay.toFixed(3)}`);
    const [bx, by] = ratios(blurImage(img.rgb, 128, 128, { sigmaX: 2, sigmaY: 0.3, theta: Math.PI / 2 }));
    assert.ok(by < bx, `${FILES[k]}: turned by 90°: y ${by.toFixed(3)} < x ${bx.toFixed(3)}`);
  }
});

test('the anisotropic kernel turns with its angle and reduces to the separable Gaussian when both deviations agree', () => {
  const img = crops[0]!.rgb;
  const b = { sigmaX: 1.8, sigmaY: 0.5 };
  const turned = blurImage(img, 128, 128, { ...b, theta: Math.PI / 2 });
  const viaTranspose = transpose(blurImage(transpose(img, 128), 128, 128, { ...b, theta: 0 }), 128);
  assert.ok(maxDiff(turned, viaTranspose) < 1e-5, `${maxDiff(turned, viaTranspose)}`);
  // The 2-D path (deviations a hair apart) against the separable one, borders included.
  const twoD = blurImage(img, 128, 128, { sigmaX: 1.2, sigmaY: 1.2 + 1e-9, theta: 0.7 });
  assert.ok(maxDiff(twoD, gaussianBlur(img, 128, 128, 1.2)) < 1e-5);
});
