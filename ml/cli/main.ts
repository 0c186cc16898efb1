import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errors, isUserError } from '../errors.ts';
import { runNewModel } from './models.ts';
import { runInfo } from './info.ts';
import { createReporter, pickMode } from './report.ts';
import { runCompare } from './compare.ts';
import { runTrain } from './train.ts';
import { runUpscale } from './upscale.ts';
import { runExport } from './export.ts';

const USAGE = `Usage: sr-studio <command> [options]

Commands:
  upscale IN... [-o OUTDIR] [--model FILE] [--scale 2|3|4] [--tile N] [--overlap N]
          [--format png|jpg|webp|tiff|avif] [--backend auto|tensorflow|webgpu|onnx|wasm|cpu]
          [--overwrite] [--json]
      Upscale image files and folders. Outputs are named NAME_x2.png (etc.) next to
      each input, or in OUTDIR. Inputs are never overwritten. Without --model, the
      best model of the scale (default 2) trained for photos (train --degrade), else
      the best TanhExp one. auto runs on a GPU when there is one, else on ONNX
      Runtime (CPU), else on WebAssembly.
  train --data DIR [--val DIR] [--scale 2|3|4] [--act tanhexp|swish|mish|relu]
        [--preset tiny|light|standard] [--iters N] [--batch N] [--patch N] [--lr X]
        [--seed N] [--backend B] [--out DIR] [--resume DIR] [--val-every N]
        [--val-max-side N] [--ema DECAY] [--loss l1|charbonnier] [--threads N]
        [--degrade none|photo|photo-heavy] [--json]
      Train a network on a folder of photos; the best model is saved as
      OUT/model_best.safetensors. Ctrl-C saves a checkpoint; --resume OUT continues.
      --degrade photo makes the inputs look like real photos (blur, noise, JPEG).
  compare --data DIR --val DIR [--acts swish,tanhexp] [--iters N] [--seed N]
          [--seeds K] [--preset P] [--scale N] [--batch N] [--patch N] [--lr X]
          [--degrade NAME] [--backend B] [--out DIR] [--json]
      Train each activation identically (same initial weights, batches, order,
      iterations and learning rate) and report which wins: report.md, report.json
      and contact_sheet.png in OUT.
  info [--json]
      Version, every backend with its device or why it is unavailable, and the models found.
  new-model -o FILE [--preset tiny|light|standard] [--scale 2|3|4]
          [--act tanhexp|swish|mish|relu] [--seed N]
      Save a freshly initialised (untrained) network as a weights file.
  export MODEL --format onnx [-o FILE] [--overwrite] [--json]
      Write the weights file as an ONNX model (opset 17, input [N, 3, H, W] RGB in
      0-1, any height and width) for ONNX Runtime, chaiNNer and other tools.
      The default output is NAME.onnx in the current folder.
  help
      This text.`;

export interface Command {
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[], json: boolean): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  upscale: runUpscale,
  train: runTrain,
  compare: runCompare,
  info: runInfo,
  'new-model': runNewModel,
  export: runExport,
};

/** Runs the CLI; returns the exit code. Users see one sentence per problem, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const json = rest.includes('--json');
  const report = createReporter(pickMode(json));
  const cmd = COMMANDS[name];
  try {
    if (!cmd) throw errors.badArgument(`Unknown command "${name}"; run "sr-studio help" to see the commands.`);
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...cmd.options, json: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw errors.badArgument(`${(e as Error).message.replace(/\.$/, '')}; run "sr-studio help" for the options.`);
    }
    return await cmd.run(parsed.values as Record<string, unknown>, parsed.positionals, json);
  } catch (e) {
    if (isUserError(e)) {
      report.error(e.message, { code: e.code, ...(e.file ? { file: e.file } : {}) });
      return e.code === 'bad-argument' || e.code === 'unknown-backend' ? 2 : 1;
    }
    report.error(`internal error: ${(e as Error)?.message ?? String(e)} (set SR_STUDIO_DEBUG=1 for details and please report it)`);
    if (process.env.SR_STUDIO_DEBUG) console.error(e);
    return 70;
  }
}

/** Parses an integer option within bounds, or throws a bad-argument error naming it. */
export function intOption(values: Record<string, unknown>, name: string, lo: number, hi: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw errors.badArgument(`--${name} must be a whole number from ${lo} to ${hi}, not "${String(v)}".`);
  }
  return n;
}

export function choiceOption<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[]): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw errors.badArgument(`--${name} must be one of ${choices.join(', ')}, not "${String(v)}".`);
  }
  return v as T;
}
