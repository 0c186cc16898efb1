/**
 * Publishes a finished training run as a bundled model: copies RUN/model_best.safetensors to
 * assets/models/NAME.safetensors and writes NAME.md beside it, a model card made from the run's own
 * records (the weights file's metadata, config.json and metrics.jsonl), so every figure on the card
 * is the one the trainer logged. It also scores the model on the validation photos with the LR
 * saved as JPEG (qualities 90 and 75, as `npm run quality` does) and records those figures in the
 * published file's training summary (`jpeg`, beside `degrade`), where the app's Models view reads
 * them; the weights themselves are copied unchanged.
 *
 *   node --import tsx scripts/model-card.ts RUN_DIR NAME [--note TEXT] [--hardware TEXT] [--val DIR] [--command TEXT]
 *   node --import tsx scripts/model-card.ts --jpeg-only NAME...   (adds the JPEG figures to models
 *                                                                  published before they existed)
 *
 * --command gives the command that trains the run from scratch, for a run that was continued with
 * `--resume` (whose weights file records the continuing command); it is checked against the run's
 * config.json, and resuming is bit-identical, so the card's command reproduces the weights.
 */
import { promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeDegrade, isDegradeName } from '../ml/degrade.ts';
import { Network, parameterCount, presetOf } from '../ml/network.ts';
import { writeFileAtomic } from '../ml/node/atomic.ts';
import { initBackend } from '../ml/node/backends.ts';
import { sharpJpeg } from '../ml/node/jpeg.ts';
import { loadModelFile } from '../ml/node/models.ts';
import { openValFolder } from '../ml/node/training-data.ts';
import { JPEG_QUALITIES, validate, withJpegLr } from '../ml/train/validation.ts';
import { encodeModel, type ModelFile, type TrainingSummary } from '../ml/weights.ts';
import { ROOT, VAL_PHOTOS } from './photo-folders.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    note: { type: 'string' },
    command: { type: 'string' },
    hardware: { type: 'string' },
    out: { type: 'string' },
    val: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    'jpeg-only': { type: 'boolean', default: false },
  },
});
const USAGE =
  'usage: node --import tsx scripts/model-card.ts RUN_DIR NAME [--note TEXT] [--hardware TEXT] [--val DIR] [--command TEXT]\n       node --import tsx scripts/model-card.ts --jpeg-only NAME...';
const outDir = values.out ?? path.resolve(import.meta.dirname, '../assets/models');
const valDir = values.val ? path.resolve(values.val) : VAL_PHOTOS;

type JpegScores = NonNullable<TrainingSummary['jpeg']>;

/** PSNR/SSIM-Y on the validation photos with JPEG LR, beside bicubic on the same input. */
async function scoreJpeg(model: ModelFile): Promise<JpegScores> {
  const { images } = await openValFolder(valDir, model.config.scale, 0);
  const net = new Network(model.config, model.weights, false);
  try {
    const out: Record<string, JpegScores[string]> = {};
    for (const q of JPEG_QUALITIES) {
      const v = await validate(net, await withJpegLr(images, q, sharpJpeg));
      out[String(q)] = { psnrY: v.psnrY, ssimY: v.ssimY, bicubicPsnrY: v.bicubicPsnrY };
    }
    return out;
  } finally {
    net.dispose();
  }
}

const gain = (a: number, b: number) => `${a - b >= 0 ? '+' : '−'}${Math.abs(a - b).toFixed(2)} dB`;

function jpegSection(t: TrainingSummary, jpeg: JpegScores): string {
  const rows = [
    `| clean LR (the validation above) | ${t.valPsnrY!.toFixed(2)} | ${t.valSsimY!.toFixed(4)} | ${t.bicubicPsnrY!.toFixed(2)} | ${gain(t.valPsnrY!, t.bicubicPsnrY!)} |`,
    ...JPEG_QUALITIES.map((q) => {
      const j = jpeg[String(q)]!;
      return `| JPEG q${q} | ${j.psnrY.toFixed(2)} | ${j.ssimY.toFixed(4)} | ${j.bicubicPsnrY.toFixed(2)} | ${gain(j.psnrY, j.bicubicPsnrY)} |`;
    }),
  ];
  return `## JPEG input (\`${path.relative(ROOT, valDir)}\` with each LR image saved as JPEG by sharp, 4:2:0)

| input | PSNR-Y (dB) | SSIM-Y | bicubic PSNR-Y | gain over bicubic |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

await initBackend(values.backend!, 'upscale');

if (values['jpeg-only']) {
  if (!positionals.length) {
    console.error(USAGE);
    process.exit(2);
  }
  for (const name of positionals) {
    const file = path.join(outDir, `${name}.safetensors`);
    const model = await loadModelFile(file);
    const jpeg = await scoreJpeg(model);
    const training = { ...model.training, degrade: model.training?.degrade ?? 'none', jpeg };
    await writeFileAtomic(file, encodeModel(model.config, model.weights, training));
    const cardPath = path.join(outDir, `${name}.md`);
    const card = await fs.readFile(cardPath, 'utf8');
    const at = card.indexOf('## JPEG input');
    const kept = (at >= 0 ? card.slice(0, at) : card).trimEnd();
    await writeFileAtomic(cardPath, new TextEncoder().encode(`${kept}\n\n${jpegSection(training, jpeg)}`));
    const j = jpeg['75']!;
    console.log(`${file}: JPEG q75 PSNR-Y ${j.psnrY.toFixed(2)} dB (bicubic ${j.bicubicPsnrY.toFixed(2)})`);
  }
  process.exit(0);
}

const [runDir, name] = positionals;
if (!runDir || !name) {
  console.error(USAGE);
  process.exit(2);
}
const weightsPath = path.join(runDir, 'model_best.safetensors');
const model = await loadModelFile(weightsPath);
const c = model.config;
const t = model.training ?? {};
const runConfig = JSON.parse(await fs.readFile(path.join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
const records = (await fs.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map(
    (l) =>
      JSON.parse(l) as {
        iteration: number;
        elapsedMs?: number;
        val?: { psnrY: number; ssimY: number; bicubicPsnrY: number; bicubicSsimY: number };
      },
  );
const vals = records.filter((r) => r.val);
const last = records.at(-1)!;
const hours = (ms: number) => {
  const m = Math.round(ms / 60000);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
};
const cpu = os.cpus();
const hardware =
  values.hardware ??
  `${cpu[0]?.model ?? 'CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, no GPU`;
const best = vals.reduce((a, b) => (b.val!.psnrY > a.val!.psnrY ? b : a), vals[0]!);
const v = best.val!;
const bytes = (await fs.stat(weightsPath)).size;
const degrade = isDegradeName(runConfig.degrade) ? runConfig.degrade : 'none';
/** The model the run started from (train --init), as its config and the file's summary record it. */
const init = (runConfig.init ?? t.init) as { model: string; loaded: string; sha256?: string } | undefined;
const startedFrom = init
  ? `\nStarted from: \`${path.basename(init.model).replace(/\.safetensors$/, '')}\` (${init.loaded === 'all' ? 'every weight' : 'every layer but the upsampler'}${init.sha256 ? `; SHA-256 ${init.sha256}` : ''}).\n`
  : '';

/** The flags of a from-scratch command that must agree with the run's config.json. */
function checkCommand(command: string): void {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'sr-studio' || words[1] !== 'train' || words.includes('--resume')) {
    throw new Error(`--command must be a from-scratch "sr-studio train …" command, not ${JSON.stringify(command)}`);
  }
  const flag = (name: string) => {
    const at = words.indexOf(name);
    return at >= 0 ? words[at + 1] : undefined;
  };
  const expect: [string, unknown][] = [
    ['--preset', runConfig.preset],
    ['--scale', c.scale],
    ['--act', c.activation],
    ['--degrade', degrade === 'none' ? undefined : degrade],
    ['--lr', runConfig.lr],
    ['--seed', runConfig.seed],
    ['--iters', runConfig.iterations],
    ['--val-every', runConfig.valEvery],
  ];
  for (const [name, want] of expect) {
    const got = flag(name);
    const same =
      got === undefined
        ? want === undefined
        : want !== undefined && (Number.isFinite(Number(got)) ? Number(got) === Number(want) : got === String(want));
    if (!same)
      throw new Error(
        `--command gives ${name} ${got ?? '(none)'} but the run was trained with ${String(want ?? '(none)')}`,
      );
  }
}
if (values.command) checkCommand(values.command);
const jpeg = await scoreJpeg(model);
const published = { ...t, ...(values.command ? { command: values.command.trim() } : {}), degrade, jpeg };
/** The training photos' folder as the command names it (relative to the repository root). */
const trainData = /--data (\S+)/.exec(published.command ?? '')?.[1] ?? 'photos/train';
/** "N photos; " for a folder (relative to the repository root) that is here, else nothing. */
function photoCount(dir: string): string {
  try {
    const n = readdirSync(path.resolve(ROOT, dir)).filter((f) => /\.(jpe?g|png|webp|tiff?)$/i.test(f)).length;
    return n ? `${n} photos; ` : '';
  } catch {
    return '';
  }
}

const card = `# ${name}

Bundled SR Studio model: x${c.scale} super-resolution, **${c.activation}** activation.

| | |
|---|---|
| file | \`${name}.safetensors\` (${(bytes / 1024).toFixed(0)} KiB) |
| architecture | residual-in-residual CNN, preset \`${presetOf(c) ?? 'custom'}\`: ${c.features} features, ${c.groups} group${c.groups === 1 ? '' : 's'} of ${c.blocks} blocks, 3×3 convs, pixel shuffle, bilinear global skip |
| parameters | ${parameterCount(c).toLocaleString('en-US')} |
| activation | ${c.activation} |
| scale | x${c.scale} |
| training data | \`${trainData}\` (${photoCount(trainData)}provenance and licences in \`${path.posix.join(path.posix.dirname(trainData), 'SOURCES.md')}\`) |
| validation data | \`${path.relative(ROOT, valDir)}\` (${photoCount(path.relative(ROOT, valDir))}whole images) |
| training inputs | ${degrade === 'none' ? 'clean: Pillow-exact antialiased bicubic downscaling, quantised to 8 bits' : `\`--degrade ${typeof t.degradations === 'string' ? t.degradations : describeDegrade(degrade)}\` (ml/degrade.ts), quantised to 8 bits`} |
| validation inputs | Pillow-exact antialiased bicubic downscaling, quantised to 8 bits |
| iterations | ${last.iteration.toLocaleString('en-US')} (best validation at ${best.iteration.toLocaleString('en-US')}) |
| batch | ${String(runConfig.batch)} × ${String(runConfig.patch)}² LR patches, 8 flips/rotations |
| optimiser | Adam, lr ${String(runConfig.lr)}, ${String(runConfig.warmup)} warm-up steps then cosine to ×${String(runConfig.minLrRatio)}, gradient-norm clip ${String(runConfig.clipNorm)}, ${String(runConfig.loss).toUpperCase()} loss, seed ${String(runConfig.seed)} |
| wall time | ${hours(last.elapsedMs ?? (t.seconds ?? 0) * 1000)} |
| hardware | ${hardware} |
| backend | ${t.backend ?? 'unknown'} |
${startedFrom}
Command (run from the repository root):

\`\`\`sh
npx ${published.command ?? 'sr-studio train'}
\`\`\`
${values.note ? `\n${values.note}\n` : ''}
## Validation (\`${path.relative(ROOT, valDir)}\`, PSNR/SSIM on Y, border crop = ${c.scale})

| iteration | PSNR-Y (dB) | SSIM-Y | bicubic PSNR-Y | bicubic SSIM-Y | gain over bicubic |
|---|---|---|---|---|---|
${vals
  .map(
    (r) =>
      `| ${r.iteration} | ${r.val!.psnrY.toFixed(2)} | ${r.val!.ssimY.toFixed(4)} | ${r.val!.bicubicPsnrY.toFixed(2)} | ${r.val!.bicubicSsimY.toFixed(4)} | ${gain(r.val!.psnrY, r.val!.bicubicPsnrY)} |`,
  )
  .join('\n')}

The weights are those of iteration ${best.iteration}: PSNR-Y **${v.psnrY.toFixed(2)} dB** / SSIM-Y **${v.ssimY.toFixed(4)}** against bicubic ${v.bicubicPsnrY.toFixed(2)} dB / ${v.bicubicSsimY.toFixed(4)}.

${jpegSection(published, jpeg)}`;

await fs.mkdir(outDir, { recursive: true });
await writeFileAtomic(path.join(outDir, `${name}.safetensors`), encodeModel(model.config, model.weights, published));
await writeFileAtomic(path.join(outDir, `${name}.md`), new TextEncoder().encode(card));
const j75 = jpeg['75']!;
console.log(
  `${path.join(outDir, name)}.safetensors and .md: x${c.scale} ${c.activation}, ${degrade} inputs, PSNR-Y ${v.psnrY.toFixed(2)} dB (bicubic ${v.bicubicPsnrY.toFixed(2)}), ` +
    `JPEG q75 ${j75.psnrY.toFixed(2)} dB (bicubic ${j75.bicubicPsnrY.toFixed(2)})`,
);
