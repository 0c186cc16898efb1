/**
 * Publishes a finished training run as a bundled model: copies RUN/model_best.safetensors to
 * assets/models/NAME.safetensors and writes NAME.md beside it, a model card made from the run's own
 * records (the weights file's metadata, config.json and metrics.jsonl), so every figure on the card
 * is the one the trainer logged.
 *
 *   node --import tsx scripts/model-card.ts RUN_DIR NAME [--note TEXT] [--hardware TEXT]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parameterCount, presetOf } from '../ml/network.ts';
import { writeFileAtomic } from '../ml/node/atomic.ts';
import { loadModelFile } from '../ml/node/models.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { note: { type: 'string' }, hardware: { type: 'string' }, out: { type: 'string' } },
});
const [runDir, name] = positionals;
if (!runDir || !name) {
  console.error('usage: node --import tsx scripts/model-card.ts RUN_DIR NAME [--note TEXT] [--hardware TEXT]');
  process.exit(2);
}
const outDir = values.out ?? path.resolve(import.meta.dirname, '../assets/models');
const weightsPath = path.join(runDir, 'model_best.safetensors');
const model = await loadModelFile(weightsPath);
const c = model.config;
const t = model.training ?? {};
const runConfig = JSON.parse(await fs.readFile(path.join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
const records = (await fs.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { iteration: number; elapsedMs?: number; val?: { psnrY: number; ssimY: number; bicubicPsnrY: number; bicubicSsimY: number } });
const vals = records.filter((r) => r.val);
const last = records.at(-1)!;
const hours = (ms: number) => {
  const m = Math.round(ms / 60000);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
};
const cpu = os.cpus();
const hardware = values.hardware ?? `${cpu[0]?.model ?? 'CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, no GPU`;
const best = vals.reduce((a, b) => (b.val!.psnrY > a.val!.psnrY ? b : a), vals[0]!);
const v = best.val!;
const bytes = (await fs.stat(weightsPath)).size;

const card = `# ${name}

Bundled SR Studio model: x${c.scale} super-resolution, **${c.activation}** activation.

| | |
|---|---|
| file | \`${name}.safetensors\` (${(bytes / 1024).toFixed(0)} KiB) |
| architecture | residual-in-residual CNN, preset \`${presetOf(c) ?? 'custom'}\`: ${c.features} features, ${c.groups} group × ${c.blocks} blocks, 3×3 convs, pixel shuffle, bilinear global skip |
| parameters | ${parameterCount(c).toLocaleString('en-US')} |
| activation | ${c.activation} |
| scale | x${c.scale} |
| training data | \`../shared/data/train\` (41 photos; provenance and licences in \`../shared/data/SOURCES.md\`) |
| validation data | \`../shared/data/val\` (8 photos, whole images) |
| LR images | Pillow-exact antialiased bicubic downscaling, quantised to 8 bits |
| iterations | ${last.iteration.toLocaleString('en-US')} (best validation at ${best.iteration.toLocaleString('en-US')}) |
| batch | ${String(runConfig.batch)} × ${String(runConfig.patch)}² LR patches, 8 flips/rotations |
| optimiser | Adam, lr ${String(runConfig.lr)}, ${String(runConfig.warmup)} warm-up steps then cosine to ×${String(runConfig.minLrRatio)}, gradient-norm clip ${String(runConfig.clipNorm)}, ${String(runConfig.loss).toUpperCase()} loss, seed ${String(runConfig.seed)} |
| wall time | ${hours(last.elapsedMs ?? (t.seconds ?? 0) * 1000)} |
| hardware | ${hardware} |
| backend | ${t.backend ?? 'unknown'} |

Command (run from the repository root):

\`\`\`sh
npx ${t.command ?? 'sr-studio train'}
\`\`\`
${values.note ? `\n${values.note}\n` : ''}
## Validation (\`../shared/data/val\`, PSNR/SSIM on Y, border crop = ${c.scale})

| iteration | PSNR-Y (dB) | SSIM-Y | bicubic PSNR-Y | bicubic SSIM-Y | gain over bicubic |
|---|---|---|---|---|---|
${vals
  .map((r) => `| ${r.iteration} | ${r.val!.psnrY.toFixed(2)} | ${r.val!.ssimY.toFixed(4)} | ${r.val!.bicubicPsnrY.toFixed(2)} | ${r.val!.bicubicSsimY.toFixed(4)} | +${(r.val!.psnrY - r.val!.bicubicPsnrY).toFixed(2)} dB |`)
  .join('\n')}

The weights are those of iteration ${best.iteration}: PSNR-Y **${v.psnrY.toFixed(2)} dB** / SSIM-Y **${v.ssimY.toFixed(4)}** against bicubic ${v.bicubicPsnrY.toFixed(2)} dB / ${v.bicubicSsimY.toFixed(4)}.
`;

await fs.mkdir(outDir, { recursive: true });
await writeFileAtomic(path.join(outDir, `${name}.safetensors`), await fs.readFile(weightsPath));
await writeFileAtomic(path.join(outDir, `${name}.md`), new TextEncoder().encode(card));
console.log(`${path.join(outDir, name)}.safetensors and .md: x${c.scale} ${c.activation}, PSNR-Y ${v.psnrY.toFixed(2)} dB (bicubic ${v.bicubicPsnrY.toFixed(2)})`);
