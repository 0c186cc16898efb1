/**
 * A reproducible quality table: bicubic, our models and the UpscalerJS ESRGAN models, scored on
 * the validation photos exactly the way training validation scores them.
 *
 *   npm run quality -- [--val DIR] [--scales 2,3,4] [--model FILE]... [--no-bundled]
 *                      [--no-upscalerjs] [--methods NAME,…] [--no-onnx] [--backend wasm]
 *                      [--val-max-side N] [--repeat N] [--jpeg 90,75] [--json FILE]
 *                      [--sheet FILE.png [--sheet-scale 4] [--sheet-jpeg 75|none]
 *                      [--sheet-crop 128] [--sheet-photos NAME,…]]
 *
 * Rows, at each scale:
 * - bicubic: `bicubicBaseline` (Pillow-exact bicubic, clamped), the figure validation prints as
 *   "bicubic";
 * - our models: every weights file of that scale that `findModels` finds (the bundled models and the
 *   user's, as `upscale` and `defaultModel` see them) plus each `--model FILE`; `--no-bundled` keeps
 *   only the `--model` files. They run through `upscaleImage` (tiled, as the app runs them) on the
 *   tfjs backend, and again through ONNX Runtime (the `onnx` backend `upscale` picks on CPUs) when
 *   it is installed: same weights and scores, its own time (`--no-onnx` leaves these rows out);
 * - `@upscalerjs/esrgan-slim` and `@upscalerjs/esrgan-medium` 1.0.0 (idealo RDN Keras models):
 *   fetched once with `npm pack` into `.cache/upscalerjs/`, loaded with tfjs-layers from their
 *   model.json, and run on the whole image with inputs and outputs on the 0–255 scale, as
 *   UpscalerJS declares for the `rdn` architecture (`inputRange`/`outputRange` [0, 255]). Each
 *   model is first run on the package's own fixture image and checked against the sample output
 *   the package ships for it, which shows it is loaded and fed as UpscalerJS runs it.
 *
 * `--methods` keeps bicubic and only the methods named: our models by file name without
 * `.safetensors` (`tanhexp_photo_x4`), the UpscalerJS ones as `esrgan-slim` and `esrgan-medium`;
 * an UpscalerJS model not named is not fetched.
 *
 * Protocol (the one of ml/train/validation.ts and ml/node/training-data.ts): the photos are read
 * with `openValFolder`, as training runs read them (8-bit sRGB), each HR image is cropped to a multiple of the scale and its
 * LR image made by `prepareValImages` (antialiased bicubic downscale, quantised to 8 bits); every
 * method gets that same LR image, and its output, clamped to [0, 1], is scored with
 * `compareImages` (PSNR-Y and SSIM-Y as BasicSR computes them, border crop = scale), which first
 * quantises both images to 8 bits, for every row alike, just as `validate` does. Beside them, on
 * the same Y planes: detail, the output's mean gradient magnitude over the ground truth's (1 = as
 * much fine detail as the ground truth; blur lowers it, ringing, noise or invented texture raise
 * it), and the Laplacian variance (`laplacianVarianceY`), a sharpness measure of the output alone
 * (levels², higher is more energy at the finest scale, noise and artefacts included), printed
 * under each table for the ground truth too.
 *
 * JPEG columns (`--jpeg`, default qualities 90 and 75; `--jpeg none` leaves them out): the same
 * pairs with each LR image saved as JPEG at that quality and decoded again with sharp (4:2:0, as
 * cameras save photos; `withJpegLr`), every method upscaling that JPEG input and being scored
 * against the same HR image; bicubic's row is bicubic on the JPEG input.
 *
 * Time is the mean over the images of the milliseconds per output megapixel of one upscale (the LR
 * pixels in, the SR pixels out, on the chosen tfjs backend; bicubic is plain TypeScript), measured
 * in this run after one warm-up upscale of a small crop; loading the models is not counted. With
 * `--repeat N` each image's time is the fastest of N upscales, which steadies it on a busy machine.
 * `--val DIR` is taken from the working directory; the default is the repository's photos/val.
 *
 * Contact sheet (`--sheet FILE.png`, scripts/contact-sheet.ts): at `--sheet-scale` (default 4) on
 * the JPEG input of `--sheet-jpeg` (default 75; `none`: the clean input), for each photo of
 * `--sheet-photos` (default every validation photo) one row of `--sheet-crop`-pixel crops at 1:1
 * from the ground truth's region with the most fine detail: bicubic, each of our models (tfjs
 * rows) and UpscalerJS model measured, and the ground truth.
 *
 * Progress goes to stderr, the Markdown tables to stdout, every number (per image too) to --json.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { isUserError } from '../ml/errors.ts';
import { centreCrop, type RgbImage } from '../ml/image.ts';
import { bicubicBaseline, compareImages, laplacianVarianceY, psnrY } from '../ml/metrics.ts';
import { isScale, Network, parameterCount, presetOf, type NetworkConfig, type Scale } from '../ml/network.ts';
import { BACKEND_NAMES, initBackend } from '../ml/node/backends.ts';
import { OnnxUpscaler, probeOnnxRuntime } from '../ml/node/onnx-runtime.ts';
import { readImage } from '../ml/node/image-io.ts';
import { sharpJpeg } from '../ml/node/jpeg.ts';
import { findModels, loadModelFile, modelFolders } from '../ml/node/models.ts';
import { openValFolder } from '../ml/node/training-data.ts';
import { upscaleImage } from '../ml/tiling.ts';
import { JPEG_QUALITIES, withJpegLr, type ValImage } from '../ml/train/validation.ts';
import type { TrainingSummary } from '../ml/weights.ts';
import { SheetCrops } from './contact-sheet.ts';
import { VAL_PHOTOS } from './photo-folders.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const UPSCALERJS = [
  { name: 'esrgan-slim', version: '1.0.0' },
  { name: 'esrgan-medium', version: '1.0.0' },
] as const;

/** A failure with one sentence for people; printed without a stack. */
class Stop extends Error {}

const USAGE =
  `Usage: npm run quality -- [--val DIR] [--scales 2,3,4] [--model FILE]... [--no-bundled] [--no-upscalerjs]` +
  ` [--methods NAME,…] [--no-onnx] [--backend ${BACKEND_NAMES.join('|')}] [--val-max-side N] [--repeat N]` +
  ` [--jpeg ${JPEG_QUALITIES.join(',')}|none] [--json FILE]` +
  ` [--sheet FILE.png [--sheet-scale 4] [--sheet-jpeg 75|none] [--sheet-crop 128] [--sheet-photos NAME,…]]`;

function options() {
  try {
    return parseArgs({
      options: {
        val: { type: 'string' },
        scales: { type: 'string', default: '2,3,4' },
        model: { type: 'string', multiple: true, default: [] },
        'no-bundled': { type: 'boolean', default: false },
        'no-upscalerjs': { type: 'boolean', default: false },
        methods: { type: 'string' },
        'no-onnx': { type: 'boolean', default: false },
        backend: { type: 'string', default: 'wasm' },
        'val-max-side': { type: 'string', default: '0' },
        repeat: { type: 'string', default: '1' },
        jpeg: { type: 'string', default: JPEG_QUALITIES.join(',') },
        json: { type: 'string' },
        sheet: { type: 'string' },
        'sheet-scale': { type: 'string', default: '4' },
        'sheet-jpeg': { type: 'string', default: '75' },
        'sheet-crop': { type: 'string', default: '128' },
        'sheet-photos': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    throw new Stop(`${(e as Error).message.split('\n')[0]}\n${USAGE}`);
  }
}

const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface ImageResult {
  readonly name: string;
  /** HR (= output) size. */
  readonly width: number;
  readonly height: number;
  readonly psnrY: number;
  readonly ssimY: number;
  readonly detail: number;
  readonly laplacianVariance: number;
  readonly ms: number;
  readonly msPerMegapixel: number;
}

/** The scores of one output against its ground truth. */
interface Scores {
  readonly psnrY: number;
  readonly ssimY: number;
  /** Mean gradient magnitude of Y over the ground truth's (`compareImages`). */
  readonly detail: number;
  /** Variance of the Laplacian of Y, of the output alone (`laplacianVarianceY`). */
  readonly laplacianVariance: number;
}

function score(sr: RgbImage, hr: RgbImage, scale: number): Scores {
  const q = compareImages(sr, hr, scale);
  return { psnrY: q.psnrY, ssimY: q.ssimY, detail: q.detail, laplacianVariance: laplacianVarianceY(sr, scale) };
}

interface Row {
  readonly method: string;
  readonly kind: 'bicubic' | 'ours' | 'upscalerjs';
  readonly source?: string | undefined;
  readonly config?: NetworkConfig | undefined;
  /** For our models: what the weights file says its training's validation measured. */
  readonly training?: TrainingSummary | undefined;
  readonly parameters: number | null;
  readonly psnrY: number;
  readonly ssimY: number;
  readonly detail: number;
  readonly laplacianVariance: number;
  readonly msPerMegapixel: number;
  readonly images: ImageResult[];
  /** By JPEG quality: the mean scores on the JPEG inputs, and per image. */
  readonly jpeg: Record<string, Scores & { images: Array<Scores & { name: string }> }>;
}

/** Something that upscales an LR image by the scale; `dispose` releases its weights. */
interface Method {
  readonly method: string;
  /** The short name `--methods` selects it by and the contact sheet labels it with. */
  readonly name: string;
  readonly kind: Row['kind'];
  readonly source?: string | undefined;
  readonly config?: NetworkConfig | undefined;
  readonly training?: TrainingSummary | undefined;
  readonly parameters: number | null;
  upscale(lr: RgbImage, hrWidth: number, hrHeight: number): Promise<RgbImage>;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// UpscalerJS models

/** The package folder of `@upscalerjs/<name>@<version>`, fetched with `npm pack` if it is not cached. */
async function upscalerjsPackage(name: string, version: string, cache: string): Promise<string> {
  const dir = path.join(cache, `${name}-${version}`);
  const pkg = path.join(dir, 'package');
  const complete = [2, 3, 4].every((s) => existsSync(path.join(pkg, 'models', `x${s}`, 'model.json')));
  if (complete) return pkg;
  const spec = `@upscalerjs/${name}@${version}`;
  await fs.mkdir(cache, { recursive: true });
  log(`Fetching ${spec} with npm pack into ${path.relative(ROOT, cache) || cache} …`);
  const run = promisify(execFile);
  let tarball: string;
  try {
    const { stdout } = await run('npm', ['pack', spec, '--pack-destination', cache, '--json', '--silent'], {
      cwd: cache,
      maxBuffer: 64 << 20,
    });
    const parsed = JSON.parse(stdout) as Array<{ filename?: string }>;
    tarball = path.join(cache, path.basename(parsed[0]?.filename ?? `upscalerjs-${name}-${version}.tgz`));
  } catch {
    throw new Stop(
      `Could not download ${spec} with npm pack: the comparison with UpscalerJS needs the npm registry once ` +
        `(the package is then kept in ${path.relative(ROOT, cache) || cache}); connect and rerun, or pass --no-upscalerjs.`,
    );
  }
  // Unpack beside the final folder and move it into place, so a half-extracted package is never used.
  const tmp = `${dir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    await run('tar', ['xzf', tarball, '-C', tmp]);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(tmp, dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new Stop(`Could not unpack ${tarball} (${(e as Error).message.split('\n')[0]}).`);
  } finally {
    await fs.rm(tarball, { force: true });
  }
  for (const s of [2, 3, 4]) {
    if (!existsSync(path.join(pkg, 'models', `x${s}`, 'model.json')))
      throw new Stop(`${spec} has no models/x${s}/model.json.`);
  }
  return pkg;
}

interface LayersModelJson {
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly modelTopology: object;
  readonly weightsManifest: ReadonlyArray<{
    readonly paths: readonly string[];
    readonly weights: tf.io.WeightsManifestEntry[];
  }>;
}

/** A tfjs IOHandler over a model.json on disk and its weight shards (paths relative to it). */
function fileHandler(modelJson: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await fs.readFile(modelJson, 'utf8')) as LayersModelJson;
      const dir = path.dirname(modelJson);
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const shards: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) shards.push(await fs.readFile(path.join(dir, p)));
      }
      const total = shards.reduce((n, s) => n + s.length, 0);
      const weightData = new Uint8Array(total);
      let at = 0;
      for (const s of shards) {
        weightData.set(s, at);
        at += s.length;
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: weightData.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? null,
      };
    },
  };
}

async function upscalerjsMethod(name: string, version: string, pkg: string, scale: Scale): Promise<Method> {
  const modelJson = path.join(pkg, 'models', `x${scale}`, 'model.json');
  const model = await tfl.loadLayersModel(fileHandler(modelJson));
  const method: Method = {
    method: `UpscalerJS ${name} ${version}`,
    name,
    kind: 'upscalerjs',
    source: `@upscalerjs/${name}@${version}/models/x${scale}/model.json`,
    parameters: model.countParams(),
    async upscale(lr) {
      const out = tf.tidy(() => {
        const x = tf.mul(tf.tensor4d(lr.rgb, [1, lr.height, lr.width, 3]), 255);
        const y = model.predict(x) as tf.Tensor4D;
        return tf.clipByValue(tf.div(y, 255), 0, 1) as tf.Tensor4D;
      });
      try {
        const [, h, w, c] = out.shape;
        if (h !== lr.height * scale || w !== lr.width * scale || c !== 3) {
          throw new Error(`${name} x${scale} returned ${out.shape.join('×')} for a ${lr.width}×${lr.height} input`);
        }
        return { width: w, height: h, rgb: (await out.data()) as Float32Array };
      } finally {
        out.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
  await checkAgainstSample(method, pkg, scale);
  return method;
}

/**
 * The package ships its own input (assets/fixture.png) and UpscalerJS's output for it
 * (assets/samples/<s>x/result.png): reproducing that output shows the model is loaded and fed as
 * UpscalerJS runs it (input range, colour order, layer wiring). Agreement is to 8-bit rounding.
 */
async function checkAgainstSample(m: Method, pkg: string, scale: Scale): Promise<void> {
  const input = path.join(pkg, 'assets', 'fixture.png');
  const expected = path.join(pkg, 'assets', 'samples', `${scale}x`, 'result.png');
  if (!existsSync(input) || !existsSync(expected)) {
    log(`${m.method} x${scale}: the package has no sample output to check the model against.`);
    return;
  }
  const lr = (await readImage(input)).image;
  const ref = (await readImage(expected)).image;
  const sr = await m.upscale(lr, lr.width * scale, lr.height * scale);
  if (sr.width !== ref.width || sr.height !== ref.height) {
    log(
      `Warning: ${m.method} x${scale} gives ${sr.width}×${sr.height} for the package's fixture, its sample is ${ref.width}×${ref.height}.`,
    );
    return;
  }
  const agreement = psnrY(sr, ref);
  if (agreement >= 60)
    log(
      `${m.method} x${scale}: reproduces UpscalerJS's own sample output (PSNR-Y ${agreement.toFixed(1)} dB against it).`,
    );
  else
    log(
      `Warning: ${m.method} x${scale} does not reproduce UpscalerJS's own sample output (PSNR-Y ${agreement.toFixed(1)} dB against it); its figures are suspect.`,
    );
}

// ---------------------------------------------------------------------------------------------
// Our models and bicubic

interface OurModel {
  readonly path: string;
  readonly config: NetworkConfig;
  readonly training?: TrainingSummary | undefined;
}

/**
 * Row labels (the file name, with its folder where two files share a name, and the model's
 * settings) and short names (the same without `.safetensors` and the settings).
 */
function labels(models: readonly OurModel[]): Map<string, { label: string; name: string }> {
  const out = new Map<string, { label: string; name: string }>();
  for (const m of models) {
    const base = path.basename(m.path);
    const clash = models.some((o) => o.path !== m.path && path.basename(o.path) === base);
    const file = clash ? path.join(path.basename(path.dirname(m.path)), base) : base;
    const preset = presetOf(m.config);
    const degrade =
      typeof m.training?.degrade === 'string' && m.training.degrade !== 'none' ? `, ${m.training.degrade}` : '';
    const settings = preset ? `, ${preset}` : `, ${m.config.features}×${m.config.groups}×${m.config.blocks}`;
    out.set(m.path, {
      label: `${file} (${m.config.activation}${settings}${degrade})`,
      name: file.replace(/\.safetensors$/i, ''),
    });
  }
  return out;
}

/** One of our models on the tfjs backend, or (`onnx`) on ONNX Runtime, as `upscale` runs it on CPUs. */
async function ourMethod(m: OurModel, { label, name }: { label: string; name: string }, onnx = false): Promise<Method> {
  const file = await loadModelFile(m.path, { scale: m.config.scale });
  if (onnx) {
    const upscaler = await OnnxUpscaler.create(file.config, file.weights);
    return {
      method: `${label}, ONNX Runtime`,
      name,
      kind: 'ours',
      source: m.path,
      config: file.config,
      training: file.training,
      parameters: parameterCount(file.config),
      upscale: (lr) => upscaleImage(upscaler, lr),
      dispose: () => void upscaler.dispose(),
    };
  }
  const net = new Network(file.config, file.weights, false);
  return {
    method: label,
    name,
    kind: 'ours',
    source: m.path,
    config: file.config,
    training: file.training,
    parameters: parameterCount(file.config),
    upscale: (lr) => upscaleImage(net, lr),
    dispose: () => net.dispose(),
  };
}

const bicubic: Method = {
  method: 'bicubic',
  name: 'bicubic',
  kind: 'bicubic',
  parameters: null,
  upscale: async (lr, w, h) => bicubicBaseline(lr, w, h),
  dispose: () => {},
};

// ---------------------------------------------------------------------------------------------
// Measuring

/** The mean of `f` over `items` (0 for none). */
const mean = <T>(items: readonly T[], f: (item: T) => number) =>
  items.reduce((a, r) => a + f(r), 0) / Math.max(1, items.length);

/** What a method upscaled: the clean LR image, or its JPEG round trip at a quality. */
type Input = 'clean' | number;

/** The mean of each score over `per`. */
const means = (per: readonly Scores[]): Scores => ({
  psnrY: mean(per, (r) => r.psnrY),
  ssimY: mean(per, (r) => r.ssimY),
  detail: mean(per, (r) => r.detail),
  laplacianVariance: mean(per, (r) => r.laplacianVariance),
});

/**
 * Scores each image; its time is the fastest of `repeat` upscales (the outputs are the same).
 * `onOutput` sees every output scored, with the input it was made from.
 */
async function measure(
  m: Method,
  vals: readonly ValImage[],
  scale: Scale,
  repeat: number,
  jpegSets: ReadonlyMap<number, readonly ValImage[]>,
  onOutput: (input: Input, v: ValImage, sr: RgbImage) => void = () => {},
): Promise<Row> {
  const warm = centreCrop(vals[0]!.lr, 48).image;
  await m.upscale(warm, warm.width * scale, warm.height * scale);
  const images: ImageResult[] = [];
  for (const v of vals) {
    let t0 = performance.now();
    const sr = await m.upscale(v.lr, v.hr.width, v.hr.height);
    let ms = performance.now() - t0;
    for (let r = 1; r < repeat; r++) {
      t0 = performance.now();
      await m.upscale(v.lr, v.hr.width, v.hr.height);
      ms = Math.min(ms, performance.now() - t0);
    }
    if (sr.width !== v.hr.width || sr.height !== v.hr.height) {
      throw new Error(`${m.method} gave ${sr.width}×${sr.height} for ${v.name}, expected ${v.hr.width}×${v.hr.height}`);
    }
    onOutput('clean', v, sr);
    const mp = (v.hr.width * v.hr.height) / 1e6;
    images.push({
      name: v.name,
      width: v.hr.width,
      height: v.hr.height,
      ...score(sr, v.hr, scale),
      ms,
      msPerMegapixel: ms / mp,
    });
  }
  const jpeg: Row['jpeg'] = {};
  for (const [q, set] of jpegSets) {
    const per: Array<Scores & { name: string }> = [];
    for (const v of set) {
      const sr = await m.upscale(v.lr, v.hr.width, v.hr.height);
      onOutput(q, v, sr);
      per.push({ name: v.name, ...score(sr, v.hr, scale) });
    }
    jpeg[String(q)] = { ...means(per), images: per };
  }
  return {
    method: m.method,
    kind: m.kind,
    source: m.source,
    config: m.config,
    training: m.training,
    parameters: m.parameters,
    ...means(images),
    msPerMegapixel: mean(images, (r) => r.msPerMegapixel),
    images,
    jpeg,
  };
}

const oneDecimal = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** The cells of one input's scores: PSNR-Y (and SSIM-Y for the clean input), detail, Laplacian variance. */
const cells = (r: Scores, ssim: boolean) =>
  ` ${r.psnrY.toFixed(2)} |${ssim ? ` ${r.ssimY.toFixed(4)} |` : ''} ${r.detail.toFixed(3)} | ${oneDecimal(r.laplacianVariance)} |`;

function table(scale: number, rows: readonly Row[], qualities: readonly number[], truth: number): string {
  const jpegHeads = qualities.map((q) => ` JPEG q${q} PSNR-Y | JPEG q${q} detail | JPEG q${q} Laplacian variance |`);
  const lines = [
    `#### x${scale}`,
    '',
    `| method | parameters | PSNR-Y (dB) | SSIM-Y | detail | Laplacian variance |${jpegHeads.join('')} ms per output megapixel |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |${qualities.map(() => ' ---: | ---: | ---: |').join('')} ---: |`,
  ];
  for (const r of rows) {
    const params = r.parameters === null ? '—' : r.parameters.toLocaleString('en-US');
    const jpeg = qualities.map((q) => cells(r.jpeg[String(q)]!, false)).join('');
    lines.push(
      `| ${r.method} | ${params} |${cells(r, true)}${jpeg} ${Math.round(r.msPerMegapixel).toLocaleString('en-US')} |`,
    );
  }
  lines.push(
    '',
    `Detail: mean gradient magnitude of Y over the ground truth's (1 = as much fine detail). Laplacian variance of Y ` +
      `(no reference; levels²) of the ground truth itself: ${oneDecimal(truth)}.`,
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The contact sheet

interface SheetOptions {
  readonly file: string;
  readonly scale: Scale;
  readonly input: Input;
  readonly side: number;
  /** Photo names (with or without the extension); undefined: every validation photo. */
  readonly photos: readonly string[] | undefined;
}

function sheetOptions(
  values: ReturnType<typeof options>,
  scales: readonly number[],
  qualities: readonly number[],
): SheetOptions {
  const scale = Number(values['sheet-scale']);
  if (!isScale(scale) || !scales.includes(scale))
    throw new Stop(
      `--sheet-scale takes one of the scales measured (--scales ${scales.join(',')}), not ${JSON.stringify(values['sheet-scale'])}.`,
    );
  const jpeg = values['sheet-jpeg']!;
  const input: Input = jpeg === 'none' ? 'clean' : Number(jpeg);
  if (input !== 'clean' && !qualities.includes(input))
    throw new Stop(
      `--sheet-jpeg takes one of the JPEG qualities measured (--jpeg ${qualities.join(',') || 'none'}) or none for the clean input, not ${JSON.stringify(jpeg)}.`,
    );
  const side = Number(values['sheet-crop']);
  if (!(Number.isInteger(side) && side >= 16))
    throw new Stop(
      `--sheet-crop takes the side of the crops in pixels, at least 16, not ${JSON.stringify(values['sheet-crop'])}.`,
    );
  const photos = values['sheet-photos']
    ?.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return { file: path.resolve(values.sheet!), scale, input, side, photos };
}

/** The sheet's crops of the chosen photos, each at its ground truth's most detailed region. */
function sheetCrops(vals: readonly ValImage[], sheet: SheetOptions): SheetCrops {
  const stem = (n: string) => n.replace(/\.[^.]+$/, '');
  const picked = sheet.photos
    ? sheet.photos.map((n) => {
        const v = vals.find((w) => w.name === n || stem(w.name) === n);
        if (!v)
          throw new Stop(
            `--sheet-photos names ${n}, which is not among the validation photos (${vals.map((w) => stem(w.name)).join(', ')}).`,
          );
        return v;
      })
    : vals;
  const small = picked.find((v) => Math.min(v.hr.width, v.hr.height) < sheet.side + 2 * sheet.scale);
  if (small)
    throw new Stop(
      `--sheet-crop ${sheet.side} does not fit in ${small.name} (${small.hr.width}×${small.hr.height}) away from its ${sheet.scale}-pixel border; choose a smaller crop.`,
    );
  return new SheetCrops(picked, sheet.side, sheet.scale);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const values = options();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const scales = values.scales!.split(',').map((s) => Number(s.trim()));
  const bad = scales.find((s) => !isScale(s));
  if (bad !== undefined || !scales.length)
    throw new Stop(`--scales takes a comma-separated list of 2, 3 and 4, not ${JSON.stringify(values.scales)}.`);
  const maxSide = Number(values['val-max-side']);
  if (!(Number.isInteger(maxSide) && maxSide >= 0))
    throw new Stop(`--val-max-side takes a whole number of pixels (0 = whole images).`);
  const repeat = Number(values.repeat);
  if (!(Number.isInteger(repeat) && repeat >= 1))
    throw new Stop(`--repeat takes a whole number of runs per image (at least 1).`);
  const qualities = values.jpeg === 'none' ? [] : values.jpeg!.split(',').map((q) => Number(q.trim()));
  if (qualities.some((q) => !(Number.isInteger(q) && q >= 1 && q <= 100)))
    throw new Stop(
      `--jpeg takes a comma-separated list of JPEG qualities from 1 to 100 (or none), not ${JSON.stringify(values.jpeg)}.`,
    );
  // The default is the repository's own validation photos; a folder given is taken from the working directory.
  const valDir = values.val === undefined ? VAL_PHOTOS : path.resolve(values.val);
  const sheet = values.sheet === undefined ? undefined : sheetOptions(values, scales, qualities);
  // A photo name that is no file of the folder is refused now, before any scale is measured.
  const files = sheet?.photos ? await fs.readdir(valDir).catch(() => []) : [];
  const missing = sheet?.photos?.find((n) => !files.some((f) => f === n || f.replace(/\.[^.]+$/, '') === n));
  if (missing !== undefined)
    throw new Stop(
      `--sheet-photos names ${missing}, which is not a photo in ${path.relative(ROOT, valDir) || valDir}.`,
    );

  // Our models: found ones (unless --no-bundled), then --model files; a file given twice counts once.
  const ours: OurModel[] = [];
  if (!values['no-bundled']) {
    const { models, problems } = await findModels();
    for (const p of problems) log(`Skipped a model: ${p}`);
    ours.push(...models);
    if (!models.length) log(`No bundled or installed models in ${modelFolders().join(' or ')}.`);
  }
  for (const p of values.model!) {
    const file = path.resolve(p);
    const m = await loadModelFile(file);
    const at = ours.findIndex((o) => path.resolve(o.path) === file);
    if (at >= 0) ours.splice(at, 1);
    ours.push({ path: file, config: m.config, training: m.training });
  }
  const names = labels(ours);
  // --methods: bicubic and the methods named, by their short names.
  const chosen = values.methods
    ?.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  let upscalerjs: ReadonlyArray<(typeof UPSCALERJS)[number]> = values['no-upscalerjs'] ? [] : UPSCALERJS;
  if (chosen) {
    const known = [...ours.map((m) => names.get(m.path)!.name), ...upscalerjs.map((u) => u.name)];
    const unknown = chosen.filter((n) => n !== 'bicubic' && !known.includes(n));
    if (unknown.length)
      throw new Stop(
        `--methods names ${unknown.join(', ')}, which this run does not have; it has bicubic, ${known.join(', ') || 'no other method'}.`,
      );
    const keep = ours.filter((m) => chosen.includes(names.get(m.path)!.name));
    ours.splice(0, ours.length, ...keep);
    upscalerjs = upscalerjs.filter((u) => chosen.includes(u.name));
  }

  const packages = new Map<string, string>();
  const cache = path.join(ROOT, '.cache', 'upscalerjs');
  for (const u of upscalerjs) packages.set(u.name, await upscalerjsPackage(u.name, u.version, cache));

  const selection = await initBackend(values.backend!, 'upscale');
  if (tf.getBackend() !== selection.name) {
    throw new Stop(
      `--backend ${selection.name} does not run tfjs models; choose a tfjs backend, so that every row runs on the same one.`,
    );
  }
  // Our models are also timed as `upscale` runs them on CPUs, through ONNX Runtime, when it is there.
  const onnx = values['no-onnx']
    ? { ok: false as const, reason: 'no ONNX rows (--no-onnx)' }
    : await probeOnnxRuntime();
  if (!onnx.ok) log(`ONNX Runtime rows are left out: ${onnx.reason}.`);
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} core${cpus.length === 1 ? '' : 's'}`;
  const header =
    `Backend ${selection.name} (${selection.device}) on ${machine}; validation images ${path.relative(ROOT, valDir) || valDir}` +
    `${maxSide ? ` (centre crops of at most ${maxSide} px)` : ''}; time per image ${repeat > 1 ? `the fastest of ${repeat} runs` : 'one run'}` +
    `; Node ${process.version}, tfjs ${tf.version_core}.`;
  log(header);

  const results: Array<{
    scale: number;
    /** Each image's size and the Laplacian variance of its ground truth (border crop = scale). */
    images: Array<{ name: string; width: number; height: number; laplacianVariance: number }>;
    rows: Row[];
  }> = [];
  let sheetReport: object | undefined;
  for (const scale of scales as Scale[]) {
    const vals = (await openValFolder(valDir, scale, maxSide, log)).images;
    log(
      `x${scale}: ${vals.length} validation images (${vals.map((v) => `${v.name} ${v.hr.width}×${v.hr.height}`).join(', ')})`,
    );
    const jpegSets = new Map<number, ValImage[]>();
    for (const q of qualities) jpegSets.set(q, await withJpegLr(vals, q, sharpJpeg));
    const crops = sheet?.scale === scale ? sheetCrops(vals, sheet) : undefined;
    // Each loader, and whether its outputs go on the sheet (ONNX Runtime's rows repeat the tfjs rows' pixels).
    const methods: Array<{ load: () => Promise<Method>; onSheet: boolean }> = [
      { load: async () => bicubic, onSheet: true },
    ];
    const mine = ours.filter((m) => m.config.scale === scale);
    if (!mine.length && !values['no-bundled'] && !chosen)
      log(`x${scale}: no model of ours at this scale; its rows are left out.`);
    for (const m of mine) {
      methods.push({ load: () => ourMethod(m, names.get(m.path)!), onSheet: true });
      if (onnx.ok) methods.push({ load: () => ourMethod(m, names.get(m.path)!, true), onSheet: false });
    }
    for (const u of upscalerjs) {
      const pkg = packages.get(u.name)!;
      methods.push({ load: () => upscalerjsMethod(u.name, u.version, pkg, scale), onSheet: true });
    }
    const rows: Row[] = [];
    for (const { load, onSheet } of methods) {
      const m = await load();
      try {
        log(
          `x${scale}: ${m.method}${m.parameters === null ? '' : `, ${m.parameters.toLocaleString('en-US')} parameters`} …`,
        );
        const keep = (input: Input, v: ValImage, sr: RgbImage) => {
          if (onSheet && crops && input === sheet!.input) crops.add(m.name, v.name, sr);
        };
        const row = await measure(m, vals, scale, repeat, jpegSets, keep);
        const t = m.training;
        // With the same validation photos the file's bicubic figure equals this run's bicubic row.
        const recorded =
          t?.valPsnrY === undefined
            ? ''
            : ` (the file records ${t.valPsnrY.toFixed(4)} dB` +
              `${t.bicubicPsnrY === undefined ? '' : `, bicubic ${t.bicubicPsnrY.toFixed(4)} dB,`} from its training's validation` +
              `${t.iterations ? ` at iteration ${t.iterations}` : ''})`;
        const jpegNote = qualities
          .map(
            (q) =>
              `, JPEG q${q} ${row.jpeg[String(q)]!.psnrY.toFixed(4)} dB detail ${row.jpeg[String(q)]!.detail.toFixed(3)}`,
          )
          .join('');
        log(
          `x${scale}: ${m.method}: PSNR-Y ${row.psnrY.toFixed(4)} dB${recorded}, SSIM-Y ${row.ssimY.toFixed(4)}, detail ${row.detail.toFixed(3)}` +
            `, Laplacian variance ${Math.round(row.laplacianVariance)}${jpegNote}, ${Math.round(row.msPerMegapixel)} ms/MP`,
        );
        rows.push(row);
      } finally {
        m.dispose();
      }
    }
    const images = vals.map((v) => ({
      name: v.name,
      width: v.hr.width,
      height: v.hr.height,
      laplacianVariance: laplacianVarianceY(v.hr, scale),
    }));
    results.push({ scale, images, rows });
    if (crops && sheet) {
      const size = await crops.write(sheet.file);
      const input = sheet.input === 'clean' ? 'clean input' : `JPEG q${sheet.input} input`;
      log(
        `Wrote the contact sheet ${path.relative(process.cwd(), sheet.file)} (${size.width}×${size.height}; x${scale}, ${input}; ` +
          `${sheet.side}-pixel crops at ${crops.regions.map((r) => `${r.name} (${r.x}, ${r.y})`).join(', ')}).`,
      );
      sheetReport = { file: sheet.file, scale, input: sheet.input, side: sheet.side, regions: crops.regions };
    }
  }

  console.log(header);
  for (const r of results)
    console.log(
      `\n${table(
        r.scale,
        r.rows,
        qualities,
        mean(r.images, (i) => i.laplacianVariance),
      )}`,
    );

  if (values.json) {
    const report = {
      backend: selection.name,
      device: selection.device,
      cpu: cpus[0]?.model.trim() ?? null,
      cores: cpus.length,
      node: process.version,
      tfjs: tf.version_core,
      val: valDir,
      valMaxSide: maxSide,
      repeat,
      protocol:
        'HR cropped to a multiple of the scale; LR = antialiased bicubic downscale quantised to 8 bits; ' +
        'outputs clamped, both images quantised to 8 bits; PSNR-Y and SSIM-Y as BasicSR, border crop = scale; ' +
        'time = ms per output megapixel, mean over the images, after one warm-up, model loading excluded; ' +
        'jpeg: the same pairs with the LR saved as JPEG (sharp, 4:2:0) at each quality and decoded, bicubic on that input; ' +
        "detail = mean gradient magnitude of Y over the ground truth's; laplacianVariance = variance of the 4-neighbour " +
        'Laplacian of Y (0-255) of the image alone, same border crop.',
      jpegQualities: qualities,
      scales: results,
      ...(sheetReport ? { sheet: sheetReport } : {}),
    };
    await fs.writeFile(path.resolve(values.json), `${JSON.stringify(report, null, 2)}\n`);
    log(`Wrote ${values.json}`);
  }
}

try {
  await main();
} catch (e) {
  if (e instanceof Stop || isUserError(e)) {
    log((e as Error).message);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
