/**
 * Comparisons: `compare` trains two activations fairly (the engine's compare(), as
 * `sr-studio compare` runs it) and writes the same report files; `compare-models` upscales a whole
 * photo with two models into files, for the side-by-side viewer.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errors, fsError } from '../../ml/errors.ts';
import { compareImages } from '../../ml/metrics.ts';
import { ensureDir, writeFileAtomic } from '../../ml/node/atomic.ts';
import { readImage, readImageSize, writeImage } from '../../ml/node/image-io.ts';
import { loadModelFile } from '../../ml/node/models.ts';
import { openUpscaler } from '../../ml/node/upscaler.ts';
import { MODEL_FILE, RunFolder } from '../../ml/node/run-folder.ts';
import { loadTrainingData } from '../../ml/node/training-data.ts';
import { markdown } from '../../ml/train/compare-report.ts';
import { upscaleFile } from '../../ml/node/upscale-file.ts';
import { compare } from '../../ml/train/compare.ts';
import { prepareValImages, type ValImage } from '../../ml/train/validation.ts';
import { DEFAULT_LR, makeTrainConfig, type TrainConfig } from '../../ml/train/config.ts';
import type { GradientHelpers } from '../../ml/train/shards.ts';
import { imageData } from './images.ts';
import { basename, type JobContext } from './job.ts';
import { startHelpers } from './helpers.ts';
import { evaluatorFor } from '../../ml/node/evaluator.ts';
import type { CompareModelsSpec, CompareSpec } from './protocol.ts';
import { trainEventForwarder } from './train-job.ts';

export async function runCompare(spec: CompareSpec, ctx: JobContext): Promise<void> {
  const { id, post } = ctx;
  const lr = Math.min(...spec.acts.map((a) => DEFAULT_LR[a]));
  const base = makeTrainConfig({ preset: spec.preset, scale: spec.scale, activation: spec.acts[0], lr, iterations: spec.iterations });
  const seeds = Array.from({ length: spec.seeds }, (_, i) => base.seed + i);
  const out = spec.outDir;
  try {
    await ensureDir(out);
    if ((await fs.readdir(out)).length) throw errors.badArgument(`${JSON.stringify(out)} is not empty; choose another folder for this comparison.`);
  } catch (e) {
    throw fsError(e, out);
  }
  post({ type: 'progress', id, fraction: 0, message: 'Reading the training photos…' });
  const data = await loadTrainingData({
    data: spec.data,
    val: spec.val,
    scale: base.network.scale,
    patch: base.patch,
    seed: base.seed,
    valMaxSide: base.valMaxSide,
    onWarning: (m) => post({ type: 'progress', id, fraction: 0, message: m }),
  });
  if (!data.val.length) throw errors.badArgument('The comparison needs validation images; choose a validation folder with at least one photo.');
  const helpers = await startHelpers(ctx, base, (m) => post({ type: 'progress', id, fraction: 0, message: m }));
  try {
    await compareRuns(ctx, spec, base, seeds, data, helpers);
  } finally {
    await helpers?.close();
  }
}

async function compareRuns(
  ctx: JobContext,
  spec: CompareSpec,
  base: TrainConfig,
  seeds: number[],
  data: Awaited<ReturnType<typeof loadTrainingData>>,
  helpers: GradientHelpers | undefined,
): Promise<void> {
  const { id, post } = ctx;
  const out = spec.outDir;
  const forwarders = new Map<string, ReturnType<typeof trainEventForwarder>>();
  for await (const ev of compare({
    base,
    acts: spec.acts,
    seeds,
    data: data.train,
    val: data.val,
    storeFor: (seed, act) => RunFolder.create(runDir(out, seed, act), 1),
    control: ctx.control,
    helpers,
    evaluator: await evaluatorFor(ctx.backend.name),
    backend: `${ctx.backend.name} (${ctx.backend.device})`,
  })) {
    if (ev.type === 'run') {
      const run = `${ev.act} seed ${ev.seed}`;
      let forward = forwarders.get(run);
      if (!forward) forwarders.set(run, (forward = trainEventForwarder(ctx, spec.iterations, run, { start: ev.index / ev.total, width: 1 / ev.total })));
      await forward(ev.event);
      if (ev.event.type === 'failed') post({ type: 'progress', id, fraction: ev.index / ev.total, message: `${run}: ${ev.event.message}` });
      continue;
    }
    const r = ev.report;
    await writeFileAtomic(path.join(out, 'report.json'), new TextEncoder().encode(JSON.stringify(r, null, 2) + '\n'));
    await writeFileAtomic(path.join(out, 'report.md'), new TextEncoder().encode(markdown(r)));
    if (ev.sheet) await writeImage(path.join(out, 'contact_sheet.png'), ev.sheet, { format: 'png' });
    const [a, b] = spec.acts;
    const gap = r.paired ? ` ${b} − ${a}: ${r.paired.psnrY.mean >= 0 ? '+' : ''}${r.paired.psnrY.mean.toFixed(3)} dB PSNR-Y.` : '';
    post({
      type: 'done',
      id,
      summary: `${r.cancelled ? 'Comparison cancelled; partial report' : 'Comparison finished; report'} written to ${out}.${gap}`,
      // The report itself, plus where it was written and the contact sheet.
      result: { ...r, dir: out, sheet: ev.sheet ? await imageData(ev.sheet) : null, models: firstModels(out, seeds[0]!, spec.acts) },
    });
    return;
  }
}

/**
 * Two models enlarge the whole image, each output written to `outDir` for the viewer. With
 * `groundTruth` the image is taken as the original: the models enlarge its reduction made as
 * validation makes it (cropped to a multiple of the scale, antialiased bicubic, 8 bits), and the
 * result carries both outputs' PSNR/SSIM-Y against it beside bicubic's.
 */
/** Each activation's trained model of the first seed (RunFolder's model file in the run's folder). */
function firstModels(out: string, seed: number, acts: readonly string[]): Record<string, string> {
  return Object.fromEntries(acts.map((a) => [a, path.join(runDir(out, seed, a), MODEL_FILE)]));
}

const runDir = (out: string, seed: number, act: string) => path.join(out, `seed_${seed}`, act);

export async function runCompareModels(spec: CompareModelsSpec, ctx: JobContext): Promise<void> {
  const { id, post } = ctx;
  const [ma, mb] = [await loadModelFile(spec.modelA), await loadModelFile(spec.modelB)];
  if (ma.config.scale !== mb.config.scale) {
    throw errors.badArgument(`The two models upscale by different factors (x${ma.config.scale} and x${mb.config.scale}); choose two models of the same scale.`);
  }
  const s = ma.config.scale;
  await ensureDir(spec.outDir);
  const file = (name: string) => path.join(spec.outDir, name);
  let val: ValImage | undefined;
  let input = spec.image;
  if (spec.groundTruth) {
    post({ type: 'progress', id, fraction: 0, message: `Reducing ${basename(spec.image)} by ${s}` });
    const { image } = await readImage(spec.image);
    val = prepareValImages([{ name: basename(spec.image), image }], s)[0]!;
    await writeImage(file('truth.png'), val.hr, { format: 'png' });
    await writeImage((input = file('input.png')), val.lr, { format: 'png' });
  }
  const results = [];
  for (const [k, [model, m]] of ([[spec.modelA, ma], [spec.modelB, mb]] as const).entries()) {
    post({ type: 'progress', id, fraction: k / 2, message: `Upscaling with ${basename(model)}` });
    // On the upscaling backend: ONNX Runtime on CPUs, as the Upscale view runs the models.
    const upscaler = await openUpscaler(ctx.backend.name, m);
    const output = file(k === 0 ? 'a.png' : 'b.png');
    try {
      const t0 = performance.now();
      const size = await upscaleFile({ model: upscaler, input, output, format: 'png', signal: ctx.signal });
      const ms = Math.round(performance.now() - t0);
      const scores = val ? compareImages((await readImage(output)).image, val.hr, s) : undefined;
      results.push({ model, activation: m.config.activation, ms, file: output, ...size, ...(scores && { psnrY: scores.psnrY, ssimY: scores.ssimY }) });
    } finally {
      await upscaler.dispose();
    }
  }
  const { width, height } = await readImageSize(input);
  post({ type: 'progress', id, fraction: 1, message: 'Done' });
  post({
    type: 'done',
    id,
    summary: val
      ? `Reduced ${basename(spec.image)} to ${width}×${height} and enlarged it with both models.`
      : `Upscaled ${basename(spec.image)} (${width}×${height}) with both models.`,
    result: {
      a: results[0],
      b: results[1],
      scale: s,
      // What the models enlarged (the viewer shows it enlarged by bicubic beside them).
      input: { file: input, width, height },
      truth: val ? { file: file('truth.png'), width: val.hr.width, height: val.hr.height } : null,
      bicubic: val ? { psnrY: val.bicubic.psnrY, ssimY: val.bicubic.ssimY } : null,
    },
  });
}
