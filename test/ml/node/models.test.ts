/** The default model of a scale (`pickDefault`, shared by `upscale` and the app). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forPhotos, isPerceptual, pickDefault } from '../../../ml/node/models.ts';
import { presetConfig, type Scale } from '../../../ml/network.ts';
import type { ActivationName } from '../../../ml/activations.ts';

const model = (
  name: string,
  scale: Scale,
  act: ActivationName,
  valPsnrY: number,
  degrade?: string,
  objective?: 'pixel' | 'perceptual',
) => ({
  name,
  config: presetConfig('tiny', scale, act),
  training: { valPsnrY, ...(degrade ? { degrade } : {}), ...(objective ? { objective } : {}) },
});

test('the default of a scale is its photo-trained model, then TanhExp, then the best validation; the first listed on a tie', () => {
  const clean = model('tanhexp_x2', 2, 'tanhexp', 32.3);
  const swish = model('swish_x2', 2, 'swish', 32.4);
  const photo = model('tanhexp_photo_x2', 2, 'tanhexp', 32.1, 'photo');
  const photoX3 = model('tanhexp_photo_x3', 3, 'tanhexp', 30.1, 'photo');
  assert.equal(pickDefault([clean, swish], 2), clean, 'TanhExp before a better Swish');
  assert.equal(
    pickDefault([clean, swish, photo, photoX3], 2),
    photo,
    'photo-trained first, even with a lower clean figure',
  );
  assert.equal(pickDefault([clean, swish, photo, photoX3], 3), photoX3);
  assert.equal(pickDefault([clean], 4), undefined);
  const none = model('explicit_none', 2, 'tanhexp', 32.3, 'none');
  assert.equal(forPhotos(none), false);
  assert.equal(pickDefault([clean, none], 2), clean, 'the first listed on a tie');
  const betterPhoto = model('user_photo', 2, 'tanhexp', 32.2, 'photo-heavy');
  assert.equal(pickDefault([photo, betterPhoto], 2), betterPhoto);
});

test('a perceptual (sharp) model is never the default while a faithful one of its scale is there', () => {
  const clean = model('swish_x2', 2, 'swish', 30.1);
  const sharp = model('tanhexp_photo_sharp_x2', 2, 'tanhexp', 33, 'photo', 'perceptual');
  const faithful = model('tanhexp_photo_x2', 2, 'tanhexp', 32.1, 'photo', 'pixel');
  assert.equal(isPerceptual(sharp), true);
  assert.equal(isPerceptual(faithful), false);
  assert.equal(isPerceptual(clean), false, 'a file that records no objective was trained for pixel error');
  assert.equal(pickDefault([sharp, clean], 2), clean, 'a clean Swish model before a photo TanhExp one that is sharp');
  assert.equal(pickDefault([sharp, faithful, clean], 2), faithful);
  assert.equal(pickDefault([sharp], 2), sharp, 'the only model of its scale');
});
