/**
 * Is fine-tuning worth it? One reproducible answer on the training photos:
 *
 *   npm run finetune -- [--data DIR] [--model NAME] [--iters N] [--out DIR] [--backend B] [--json FILE]
 *
 * The photos of `--data` (default: $SR_STUDIO_TRAIN_PHOTOS, else photos/train as `npm run photos`
 * makes it, else ../shared/data/train beside the repository) are sorted by file name and dealt
 * alternately into two disjoint halves: the odd ones ("tune") to train on, the even
 * ones ("held out") to validate on. Two runs of `sr-studio train`, with the same seed, iterations
 * and training inputs (the model's own preset, scale, activation and degradations), each validated on
 * the held-out half only:
 * - fine-tuned: `--init MODEL` (default tanhexp_photo_x2, the bundled x2 photo model) with the
 *   default rate for a start from a model; its validation at iteration 0 is the bundled model's own
 *   score on the held-out half;
 * - from scratch: the same preset at the default rate for a fresh start.
 * Each run's weights at its end (its last checkpoint, the EMA when the run keeps one) are then scored
 * with `npm run quality` on the held-out half, beside the model as bundled and bicubic, on clean
 * input and on JPEG q75 input (the input photo models are made for). The held-out validations
 * during the runs (clean input) give each run's best iteration too, but choosing a model by its
 * score on the held-out photos would flatter it, so the table's figures are the ends of the runs.
 * The runs go to `--out` (default a fresh temporary folder); given again, its finished runs are
 * scored again without training them again.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelName } from '../ml/node/models.ts';
import { decodeCheckpoint } from '../ml/train/checkpoint.ts';
import { decodeModel, encodeModel } from '../ml/weights.ts';
import { trainingPhotos } from './photo-folders.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'sr-studio.mjs');
const PHOTO = /\.(jpe?g|png|webp|tiff?)$/i;

interface Validation {
  iteration: number;
  psnrY: number;
  ssimY: number;
  bicubicPsnrY: number;
  bicubicSsimY: number;
}

interface RunResult {
  label: string;
  command: string;
  validations: Validation[];
  seconds: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      model: { type: 'string', default: 'tanhexp_photo_x2' },
      iters: { type: 'string', default: '1000' },
      out: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'string' },
    },
  });
  const iters = Number(values.iters);
  if (!Number.isInteger(iters) || iters < 1)
    throw new Error(`--iters must be a whole number of at least 1, not ${values.iters}.`);
  return { ...values, data: trainingPhotos(values.data), iters };
}

/**
 * A finished run already in `out` (from an earlier call with the same --out) is scored again, not
 * trained again: its validations come from its metrics.jsonl, its wall time from its last record.
 */
async function finished(label: string, out: string, args: string[]): Promise<RunResult | undefined> {
  const run = await fs.readFile(path.join(out, 'run.json'), 'utf8').then(
    (t) => JSON.parse(t) as { state?: string; command?: string },
    () => undefined,
  );
  if (run?.state !== 'finished') return undefined;
  const records = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { iteration: number; val?: Omit<Validation, 'iteration'>; elapsedMs?: number });
  const validations = records.filter((r) => r.val).map((r) => ({ iteration: r.iteration, ...r.val! }));
  console.error(`${label}: finished earlier in ${out}; scoring it again`);
  return {
    label,
    command: `sr-studio train ${args.join(' ')}`,
    validations,
    seconds: (records.at(-1)?.elapsedMs ?? 0) / 1000,
  };
}

/** Runs `sr-studio train ARGS --json` and collects its validations; progress lines go to stderr. */
async function train(label: string, args: string[]): Promise<RunResult> {
  const out = args[args.indexOf('--out') + 1]!;
  const earlier = await finished(label, out, args);
  if (earlier) return earlier;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'train', ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const validations: Validation[] = [];
    let rest = '';
    let failure: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const r = JSON.parse(line) as { type: string; message?: string } & Validation;
        if (r.type === 'validation') {
          validations.push({
            iteration: r.iteration,
            psnrY: r.psnrY,
            ssimY: r.ssimY,
            bicubicPsnrY: r.bicubicPsnrY,
            bicubicSsimY: r.bicubicSsimY,
          });
          console.error(`${label}: iteration ${r.iteration}, held-out PSNR-Y ${r.psnrY.toFixed(2)} dB`);
        }
        if (r.type === 'failed') failure = r.message;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || failure)
        reject(new Error(`${label}: sr-studio train exited ${code}${failure ? `: ${failure}` : ''}`));
      else
        resolve({
          label,
          command: `sr-studio train ${args.join(' ')}`,
          validations,
          seconds: (performance.now() - t0) / 1000,
        });
    });
  });
}

/** The run's weights at its end as a model file beside it: its last checkpoint's (the EMA's if it keeps one). */
async function finalModel(run: string, label: string): Promise<string> {
  const dir = path.join(run, 'checkpoints');
  const last = (await fs.readdir(dir))
    .filter((n) => /^ckpt_\d+\.safetensors$/.test(n))
    .sort()
    .at(-1);
  if (!last) throw new Error(`${label}: the run left no checkpoint in ${dir}.`);
  const c = decodeCheckpoint(await fs.readFile(path.join(dir, last)), last);
  const cfg = c.state.config;
  const file = path.join(run, `${label}_end.safetensors`);
  await fs.writeFile(
    file,
    encodeModel(cfg.network, c.ema ?? c.weights, {
      iterations: c.state.iteration,
      seed: cfg.seed,
      preset: cfg.preset,
      degrade: cfg.degrade,
    }),
  );
  return file;
}

interface Score {
  psnrY: number;
  ssimY: number;
  jpeg75: number;
}

/** Scores bicubic and each model file on `val` with `npm run quality` (ONNX Runtime's rows where it ran them). */
async function quality(val: string, scale: number, models: string[], json: string): Promise<Map<string, Score>> {
  const args = [
    '--import',
    'tsx',
    path.join(ROOT, 'scripts', 'quality.ts'),
    '--val',
    val,
    '--scales',
    String(scale),
    '--no-bundled',
    '--no-upscalerjs',
    '--jpeg',
    '75',
    '--json',
    json,
  ];
  for (const m of models) args.push('--model', m);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm run quality exited ${code}`))));
  });
  interface Row {
    method: string;
    kind: string;
    source?: string;
    psnrY: number;
    ssimY: number;
    jpeg: Record<string, { psnrY: number }>;
  }
  const report = JSON.parse(await fs.readFile(json, 'utf8')) as { scales: Array<{ rows: Row[] }> };
  const out = new Map<string, Score>();
  for (const r of report.scales[0]!.rows) {
    const key = r.kind === 'bicubic' ? 'bicubic' : r.source;
    // The same scores on either runtime; the first row of each model is kept.
    if (key && !out.has(key)) out.set(key, { psnrY: r.psnrY, ssimY: r.ssimY, jpeg75: r.jpeg['75']!.psnrY });
  }
  for (const m of models) if (!out.has(m)) throw new Error(`npm run quality gave no row for ${m}.`);
  return out;
}

async function main(): Promise<void> {
  const o = options();
  const data = path.resolve(o.data);
  const names = (await fs.readdir(data)).filter((n) => PHOTO.test(n)).sort();
  if (names.length < 4) throw new Error(`${data} has ${names.length} photos; the two halves need at least 4.`);
  const tune = names.filter((_, i) => i % 2 === 1);
  const heldOut = names.filter((_, i) => i % 2 === 0);

  const work = o.out ? path.resolve(o.out) : await fs.mkdtemp(path.join(os.tmpdir(), 'sr-finetune-'));
  const half = async (name: string, files: string[]) => {
    const dir = path.join(work, name);
    if (existsSync(dir)) {
      const had = (await fs.readdir(dir)).sort();
      if (had.join('\n') !== [...files].sort().join('\n'))
        throw new Error(`${dir} holds other photos than this split; give a new --out folder.`);
      return dir;
    }
    await fs.mkdir(dir, { recursive: true });
    for (const f of files) await fs.copyFile(path.join(data, f), path.join(dir, f));
    return dir;
  };
  const tuneDir = await half('tune', tune);
  const heldDir = await half('held-out', heldOut);

  const { path: modelFile } = await resolveModelName(o.model);
  const model = decodeModel(await fs.readFile(modelFile), o.model);
  const t = model.training;
  const net = model.config;
  const degrade = t?.degrade ?? 'none';
  const preset = t?.preset;
  if (!preset) throw new Error(`${o.model} does not record its preset; give a model trained by SR Studio.`);
  const common = [
    '--data',
    tuneDir,
    '--val',
    heldDir,
    '--iters',
    String(o.iters),
    '--val-every',
    String(Math.max(1, Math.round(o.iters / 4))),
    '--seed',
    '0',
    '--backend',
    o.backend,
  ];
  console.error(
    `${names.length} photos: ${tune.length} to train on, ${heldOut.length} held out; ${o.iters} iterations each; runs in ${work}`,
  );

  const fineTuned = await train('fine-tuned', [
    '--init',
    o.model,
    '--degrade',
    degrade,
    ...common,
    '--out',
    path.join(work, 'fine-tuned'),
  ]);
  const scratch = await train('from scratch', [
    '--preset',
    String(preset),
    '--scale',
    String(net.scale),
    '--act',
    net.activation,
    '--degrade',
    degrade,
    ...common,
    '--out',
    path.join(work, 'scratch'),
  ]);

  const start = fineTuned.validations.find((v) => v.iteration === 0);
  if (!start) throw new Error('the fine-tuning run did not validate the starting model.');
  const finals = {
    fineTuned: await finalModel(path.join(work, 'fine-tuned'), 'fine-tuned'),
    scratch: await finalModel(path.join(work, 'scratch'), 'scratch'),
  };
  const scores = await quality(
    heldDir,
    net.scale,
    [modelFile, finals.fineTuned, finals.scratch],
    path.join(work, 'quality.json'),
  );
  const best = (r: RunResult) => r.validations.reduce((a, b) => (b.psnrY > a.psnrY ? b : a));
  const rows = [
    { label: 'bicubic', score: scores.get('bicubic')!, run: undefined },
    { label: `${o.model} as bundled`, score: scores.get(modelFile)!, run: undefined },
    { label: `from scratch, ${o.iters} iterations`, score: scores.get(finals.scratch)!, run: scratch },
    { label: `${o.model} fine-tuned, ${o.iters} iterations`, score: scores.get(finals.fineTuned)!, run: fineTuned },
  ];
  const f2 = (v: number) => v.toFixed(2);
  const gain = (v: number, b: number) => `${v - b >= 0 ? '+' : ''}${(v - b).toFixed(2)}`;
  const bic = scores.get('bicubic')!;
  console.log(
    `\nFine-tuning ${o.model} (${preset} x${net.scale} ${net.activation}, --degrade ${degrade}) on ${tune.length} of the training photos, scored on the other ${heldOut.length} (PSNR-Y/SSIM-Y, border crop = scale)\n`,
  );
  console.log(
    '| model | clean input: PSNR-Y (dB) | SSIM-Y | gain over bicubic | JPEG q75 input: PSNR-Y (dB) | gain over bicubic | best held-out validation (iteration) | wall time |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const b = r.run ? `${f2(best(r.run).psnrY)} (${best(r.run).iteration})` : '—';
    const t = r.run ? `${Math.round(r.run.seconds)} s` : '—';
    const g = (v: number, base: number) => (r.label === 'bicubic' ? '—' : `${gain(v, base)} dB`);
    console.log(
      `| ${r.label} | ${f2(r.score.psnrY)} | ${r.score.ssimY.toFixed(4)} | ${g(r.score.psnrY, bic.psnrY)} | ${f2(r.score.jpeg75)} | ${g(r.score.jpeg75, bic.jpeg75)} | ${b} | ${t} |`,
    );
  }
  console.log(`\nCommands:\n  ${fineTuned.command}\n  ${scratch.command}`);
  if (o.json) {
    const record = {
      model: o.model,
      modelFile,
      tune,
      heldOut,
      iters: o.iters,
      runs: [fineTuned, scratch],
      scores: Object.fromEntries(scores),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.availableParallelism(),
    };
    await fs.writeFile(o.json, JSON.stringify(record, null, 1) + '\n');
  }
}

main().catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
