/**
 * The bundled models: what ships, that each card tells the truth about its weights file, and that
 * the recorded validation figure is reproduced by loading the file and validating it again.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Network, parameterCount } from '../../ml/network.ts';
import { defaultModel, loadModelFile } from '../../ml/node/models.ts';
import { openValFolder } from '../../ml/node/training-data.ts';
import { sharpJpeg } from '../../ml/node/jpeg.ts';
import { validate, withJpegLr } from '../../ml/train/validation.ts';
import type { ModelFile } from '../../ml/weights.ts';
import { useBackend } from '../helpers/backends.ts';
import { DATA } from '../helpers/photos.ts';

const DIR = path.resolve(import.meta.dirname, '../../assets/models');
const EXPECTED = [
  'swish_x2',
  'tanhexp_photo_x2',
  'tanhexp_photo_x3',
  'tanhexp_photo_x4',
  'tanhexp_x2',
  'tanhexp_x3',
  'tanhexp_x4',
];
const PHOTO = EXPECTED.filter((n) => n.includes('_photo_'));
/** @upscalerjs/esrgan-medium's parameter count at x4, its largest: ours may not use more. */
const ESRGAN_MEDIUM_PARAMS = 704_611;

const models = new Map<string, ModelFile>();

before(async () => {
  for (const name of EXPECTED) models.set(name, await loadModelFile(path.join(DIR, `${name}.safetensors`)));
});

test('TanhExp models for photos and for clean input at x2, x3 and x4 and a Swish twin of x2 ship, lean, each with a card', async () => {
  const files = (await fs.readdir(DIR)).filter((f) => f.endsWith('.safetensors')).sort();
  assert.deepEqual(
    files,
    EXPECTED.map((n) => `${n}.safetensors`),
  );
  let bytes = 0;
  for (const f of await fs.readdir(DIR)) bytes += (await fs.stat(path.join(DIR, f))).size;
  assert.ok(bytes < 20 * 2 ** 20, `${bytes} bytes`);
  for (const [name, m] of models) {
    const act = name.split('_')[0];
    const scale = name.split('_x')[1];
    assert.equal(m.config.activation, act);
    assert.equal(m.config.scale, Number(scale));
    assert.ok(parameterCount(m.config) <= ESRGAN_MEDIUM_PARAMS, `${name}: ${parameterCount(m.config)} parameters`);
    await fs.access(path.join(DIR, `${name}.md`));
  }
});

test("each card states the weights file's own training record: command, iterations, parameters, figures", async () => {
  for (const [name, m] of models) {
    const card = await fs.readFile(path.join(DIR, `${name}.md`), 'utf8');
    const t = m.training!;
    assert.ok(t.command?.startsWith('sr-studio train '), `${name}: the file records its train command`);
    assert.ok(card.includes(`npx ${t.command}`), `${name}: the card gives the exact command`);
    assert.match(t.command!, new RegExp(`--act ${m.config.activation}\\b`));
    assert.ok(card.includes(parameterCount(m.config).toLocaleString('en-US')), `${name}: parameters`);
    assert.ok(
      card.includes(`**${t.valPsnrY!.toFixed(2)} dB**`) && card.includes(`**${t.valSsimY!.toFixed(4)}**`),
      `${name}: validation figures`,
    );
    assert.ok(card.includes(`bicubic ${t.bicubicPsnrY!.toFixed(2)} dB`), `${name}: the bicubic figure beside it`);
    assert.ok(card.includes(`iteration ${t.iterations}`), `${name}: the iteration of its weights`);
    const data = /--data (\S+)/.exec(t.command!)?.[1];
    assert.ok(
      data && card.includes(`\`${path.posix.join(path.posix.dirname(data), 'SOURCES.md')}\``),
      `${name}: the provenance of its training photos (${data})`,
    );
    assert.ok(t.valPsnrY! > t.bicubicPsnrY! + 0.4, `${name}: ${t.valPsnrY} dB is well above bicubic ${t.bicubicPsnrY}`);
    assert.ok(typeof t.degrade === 'string', `${name}: the file says what it was trained on`);
    for (const q of ['90', '75']) {
      const j = t.jpeg?.[q];
      assert.ok(j, `${name}: JPEG q${q} figures`);
      assert.ok(
        card.includes(`| JPEG q${q} | ${j.psnrY.toFixed(2)} | ${j.ssimY.toFixed(4)} | ${j.bicubicPsnrY.toFixed(2)} |`),
        `${name}: the card's JPEG q${q} row`,
      );
      assert.ok(j.bicubicPsnrY < t.bicubicPsnrY!, `${name}: JPEG input is harder than clean input for bicubic too`);
    }
  }
});

test('the Swish twin was trained exactly like the TanhExp x2 model, activation aside', () => {
  const a = models.get('tanhexp_x2')!;
  const b = models.get('swish_x2')!;
  assert.deepEqual({ ...a.config, activation: 'swish' }, b.config);
  const strip = (c: string) => c.replace(/--act \w+/, '--act ?').replace(/--out \S+/, '--out ?');
  assert.equal(strip(a.training!.command!), strip(b.training!.command!));
  assert.match(a.training!.command!, /--lr [\d.e-]+/, 'one learning rate given explicitly, so both used it');
});

test('upscale without --model uses the bundled photo model of the scale', async () => {
  for (const scale of [2, 3, 4]) {
    const m = await defaultModel(scale);
    assert.equal(m.path, path.join(DIR, `tanhexp_photo_x${scale}.safetensors`));
  }
});

test('the photo models were trained with the photo degradations and beat their clean siblings on JPEG q75 input', async () => {
  for (const name of PHOTO) {
    const m = models.get(name)!;
    const clean = models.get(name.replace('_photo', ''))!;
    assert.equal(m.training?.degrade, 'photo', name);
    assert.match(m.training!.command!, /--degrade photo\b/, name);
    const card = await fs.readFile(path.join(DIR, `${name}.md`), 'utf8');
    assert.match(card, /\| training inputs \| `--degrade photo: /, `${name}: the card states the degradations`);
    assert.ok(
      m.training!.jpeg!['75']!.psnrY > clean.training!.jpeg!['75']!.psnrY,
      `${name}: JPEG q75 ${m.training!.jpeg!['75']!.psnrY} vs clean ${clean.training!.jpeg!['75']!.psnrY}`,
    );
  }
});

test('validating the bundled x2 model again reproduces the figures its file records, on clean and JPEG input', async () => {
  await useBackend('wasm', 'upscale');
  const m = models.get('tanhexp_x2')!;
  const { images } = await openValFolder(path.join(DATA, 'val'), 2, 0);
  const net = new Network(m.config, m.weights, false);
  try {
    const scores = await validate(net, images);
    assert.ok(
      Math.abs(scores.psnrY - m.training!.valPsnrY!) < 1e-3,
      `${scores.psnrY} vs recorded ${m.training!.valPsnrY}`,
    );
    assert.ok(Math.abs(scores.bicubicPsnrY - m.training!.bicubicPsnrY!) < 1e-9);
    const jpeg = await validate(net, await withJpegLr(images, 75, sharpJpeg));
    const recorded = m.training!.jpeg!['75']!;
    assert.ok(Math.abs(jpeg.psnrY - recorded.psnrY) < 1e-3, `JPEG q75: ${jpeg.psnrY} vs recorded ${recorded.psnrY}`);
    assert.ok(Math.abs(jpeg.bicubicPsnrY - recorded.bicubicPsnrY) < 1e-9);
  } finally {
    net.dispose();
  }
});
