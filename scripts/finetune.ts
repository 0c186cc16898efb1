/**
 * Is fine-tuning worth it? One reproducible answer on the training photos:
 *
 *   npm run finetune -- [--data DIR] [--model NAME] [--iters N] [--out DIR] [--backend B] [--json FILE]
 *
 * The photos of `--data` (default ../shared/data/train beside the repository) are sorted by file
 * name and dealt alternately into two disjoint halves: the odd ones ("tune") to train on, the even
 * ones ("held out") to validate on. Two runs of `sr-studio train`, with the same seed, iterations
 * and training inputs (the model's own preset, scale, activation and degradations), each validated on
 * the held-out half only:
 * - fine-tuned: `--init MODEL` (default tanhexp_photo_x2, the bundled x2 photo model) with the
 *   default rate for a start from a model; its validation at iteration 0 is the bundled model's own
 *   score on the held-out half;
 * - from scratch: the same preset at the default rate for a fresh start.
 * The table gives each one's PSNR-Y/SSIM-Y on the held-out half at the end and at its best
 * validation, beside bicubic. The runs go to `--out` (default a fresh temporary folder).
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelName } from '../ml/node/models.ts';
import { decodeModel } from '../ml/weights.ts';

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
      data: { type: 'string', default: path.join(ROOT, '..', 'shared', 'data', 'train') },
      model: { type: 'string', default: 'tanhexp_photo_x2' },
      iters: { type: 'string', default: '1000' },
      out: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'string' },
    },
  });
  const iters = Number(values.iters);
  if (!Number.isInteger(iters) || iters < 1) throw new Error(`--iters must be a whole number of at least 1, not ${values.iters}.`);
  return { ...values, iters };
}

/** Runs `sr-studio train ARGS --json` and collects its validations; progress lines go to stderr. */
function train(label: string, args: string[]): Promise<RunResult> {
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
          validations.push({ iteration: r.iteration, psnrY: r.psnrY, ssimY: r.ssimY, bicubicPsnrY: r.bicubicPsnrY, bicubicSsimY: r.bicubicSsimY });
          console.error(`${label}: iteration ${r.iteration}, held-out PSNR-Y ${r.psnrY.toFixed(2)} dB`);
        }
        if (r.type === 'failed') failure = r.message;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || failure) reject(new Error(`${label}: sr-studio train exited ${code}${failure ? `: ${failure}` : ''}`));
      else resolve({ label, command: `sr-studio train ${args.join(' ')}`, validations, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  const o = options();
  const data = path.resolve(o.data);
  const names = (await fs.readdir(data)).filter((n) => PHOTO.test(n)).sort();
  if (names.length < 4) throw new Error(`${data} has ${names.length} photos; the two halves need at least 4.`);
  const tune = names.filter((_, i) => i % 2 === 1);
  const heldOut = names.filter((_, i) => i % 2 === 0);

  const work = o.out ? path.resolve(o.out) : await fs.mkdtemp(path.join(os.tmpdir(), 'sr-finetune-'));
  if (o.out && existsSync(work) && (await fs.readdir(work)).length) throw new Error(`${work} is not empty; give a new --out folder.`);
  const half = async (name: string, files: string[]) => {
    const dir = path.join(work, name);
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
  const common = ['--data', tuneDir, '--val', heldDir, '--iters', String(o.iters), '--val-every', String(Math.max(1, Math.round(o.iters / 4))), '--seed', '0', '--backend', o.backend];
  console.error(`${names.length} photos: ${tune.length} to train on, ${heldOut.length} held out; ${o.iters} iterations each; runs in ${work}`);

  const fineTuned = await train('fine-tuned', ['--init', o.model, '--degrade', degrade, ...common, '--out', path.join(work, 'fine-tuned')]);
  const scratch = await train('from scratch', ['--preset', String(preset), '--scale', String(net.scale), '--act', net.activation, '--degrade', degrade, ...common, '--out', path.join(work, 'scratch')]);

  const start = fineTuned.validations.find((v) => v.iteration === 0);
  if (!start) throw new Error('the fine-tuning run did not validate the starting model.');
  const best = (r: RunResult) => r.validations.reduce((a, b) => (b.psnrY > a.psnrY ? b : a));
  const end = (r: RunResult) => r.validations.at(-1)!;
  const rows = [
    { label: 'bicubic', end: { psnrY: start.bicubicPsnrY, ssimY: start.bicubicSsimY }, best: undefined, seconds: undefined },
    { label: `${o.model} as bundled`, end: start, best: undefined, seconds: undefined },
    { label: `from scratch, ${o.iters} iterations`, end: end(scratch), best: best(scratch), seconds: scratch.seconds },
    { label: `${o.model} fine-tuned, ${o.iters} iterations`, end: end(fineTuned), best: best(fineTuned), seconds: fineTuned.seconds },
  ];
  const dB = (v: number) => `${v.toFixed(2)}`;
  const gain = (v: number) => `${v - start.bicubicPsnrY >= 0 ? '+' : ''}${(v - start.bicubicPsnrY).toFixed(2)}`;
  console.log(`\nFine-tuning ${o.model} (${preset} x${net.scale} ${net.activation}, --degrade ${degrade}) on ${tune.length} photos, validated on the other ${heldOut.length} (PSNR-Y/SSIM-Y, border crop = scale)\n`);
  console.log('| model | PSNR-Y (dB) at the end | SSIM-Y | gain over bicubic | best PSNR-Y (iteration) | wall time |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const b = r.best ? `${dB(r.best.psnrY)} (${r.best.iteration})` : '—';
    const s = r.seconds === undefined ? '—' : `${Math.round(r.seconds)} s`;
    console.log(`| ${r.label} | ${dB(r.end.psnrY)} | ${r.end.ssimY.toFixed(4)} | ${r.label === 'bicubic' ? '—' : `${gain(r.end.psnrY)} dB`} | ${b} | ${s} |`);
  }
  console.log(`\nCommands:\n  ${fineTuned.command}\n  ${scratch.command}`);
  if (o.json) {
    const record = { model: o.model, modelFile, tune, heldOut, iters: o.iters, runs: [fineTuned, scratch], node: process.version, cpu: os.cpus()[0]?.model, cores: os.availableParallelism() };
    await fs.writeFile(o.json, JSON.stringify(record, null, 1) + '\n');
  }
}

main().catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
