/**
 * How the Models table and the feature maps name things (renderer/src/lib/models.ts): a network's
 * size in words, which validation photos a model's scores are on, iterations trained beside the
 * best one's, and layers by where they sit in the network.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trainedForWords } from '../../renderer/src/lib/choices.ts';
import {
  folderName,
  importedWords,
  iterationsLabel,
  layerLabel,
  modelOptionLabel,
  shapeWords,
  sizeLabel,
  validatedOn,
} from '../../renderer/src/lib/models.ts';

describe('Models table words', () => {
  test('a preset by its name; another shape in words', () => {
    assert.equal(sizeLabel({ scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' }), 'Tiny');
    assert.equal(sizeLabel({ scale: 3, features: 32, groups: 3, blocks: 4, activation: 'tanhexp' }), 'Light');
    assert.equal(
      sizeLabel({ scale: 2, features: 24, groups: 2, blocks: 1, activation: 'swish' }),
      '24 features, 2 groups of 1 block',
    );
    assert.equal(shapeWords({ features: 16, groups: 1, blocks: 3 }), '16 features, 1 group of 3 blocks');
  });

  test('the validation photos: as recorded, else from the command that trained it, else unknown', () => {
    assert.equal(validatedOn({ valPsnrY: 30, val: '/home/me/checks' }), '/home/me/checks');
    assert.equal(
      validatedOn({
        valPsnrY: 32.2,
        command: 'sr-studio train --data ../shared/data/train --val ../shared/data/val --iters 4000',
      }),
      '../shared/data/val',
    );
    assert.equal(validatedOn({ valPsnrY: 30, command: 'SR Studio app' }), null);
    assert.equal(validatedOn({ iterations: 0 }), null, 'no scores, no photos to name');
    assert.equal(folderName('../shared/data/val/'), 'val');
  });

  test('iterations trained, and the best one when the weights are from earlier', () => {
    assert.equal(iterationsLabel({ iterations: 240, trainedIterations: 600 }), '600 (best at 240)');
    assert.equal(iterationsLabel({ iterations: 4000 }), '4,000');
    assert.equal(iterationsLabel({ iterations: 600, trainedIterations: 600 }), '600');
    assert.equal(iterationsLabel(undefined), '—');
  });

  test("an imported model's file, type and range, and when its range is only a guess", () => {
    const i = {
      scale: 4,
      range: 1,
      dtype: 'float16',
      margin: 8,
      bytes: 38440,
      source: '/m/a.onnx',
      producer: 'pytorch',
    } as const;
    assert.equal(importedWords(i), '38 KB, float16, RGB 0–1');
    assert.equal(importedWords({ ...i, range: 255, rangeFrom: 'metadata' }), '38 KB, float16, RGB 0–255');
    assert.equal(importedWords({ ...i, rangeFrom: 'guess' }), '38 KB, float16, RGB 0–1 (a guess)');
  });

  test('layers by where they sit', () => {
    assert.equal(layerLabel('head'), 'first layer');
    assert.equal(layerLabel('body.0.body.0.act'), 'group 1, block 1, activation');
    assert.equal(layerLabel('body.2.body.3.act'), 'group 3, block 4, activation');
  });
});

describe('what a model was trained for', () => {
  const config = { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' } as const;
  test('the model lists say sharp (perceptual) or faithful (pixel error), and mark the default', () => {
    const faithful = { name: 'tanhexp_photo_x2', config, isDefault: true, training: { degrade: 'photo' } };
    const sharp = { name: 'mine', config, isDefault: false, training: { objective: 'perceptual', advWeight: 0.1 } };
    const pixel = { ...sharp, training: { objective: 'pixel' } };
    assert.equal(modelOptionLabel(faithful), 'tanhexp_photo_x2 · faithful · default · ×2 · tanhexp');
    assert.equal(modelOptionLabel(sharp), 'mine · sharp · ×2 · tanhexp');
    assert.equal(modelOptionLabel(pixel), 'mine · faithful · ×2 · tanhexp');
    const imported = {
      name: 'esrgan',
      isDefault: false,
      imported: { scale: 4, range: 1, dtype: 'float32', margin: 8, bytes: 1, source: 'x.onnx', producer: 'p' },
    } as const;
    assert.equal(modelOptionLabel(imported), 'esrgan · imported ONNX · ×4', 'no objective it cannot know');
    assert.equal(trainedForWords(sharp.training.objective), 'sharp (perceptual)');
    assert.equal(
      trainedForWords(undefined),
      'faithful (pixel error)',
      'files from before the objective were trained for pixel error',
    );
  });
});
