import path from 'node:path';
import { errors } from '../errors.ts';
import { parameterCount } from '../network.ts';
import { writeFileAtomic } from '../node/atomic.ts';
import { exists } from '../node/files.ts';
import { loadModelFile } from '../node/models.ts';
import { exportOnnx, ONNX_OPSET } from '../onnx/export.ts';
import { choiceOption, type Command } from './options.ts';
import { VERSION } from '../node/version.ts';

export const EXPORT_FORMATS = ['onnx'] as const;

/** `sr-studio export MODEL --format onnx [-o FILE]`: the weights file as a standard ONNX model. */
export const exportCommand: Command = {
  options: {
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals, report) {
    if (positionals.length !== 1) {
      throw errors.badArgument(
        'export needs one weights file, e.g. "sr-studio export model.safetensors --format onnx".',
      );
    }
    const format = choiceOption(values, 'format', EXPORT_FORMATS);
    if (!format) throw errors.badArgument('export needs --format onnx.');
    const input = positionals[0]!;
    const model = await loadModelFile(input);
    const out = (values.out as string | undefined) ?? `${path.basename(input).replace(/\.safetensors$/i, '')}.onnx`;
    if (!out.toLowerCase().endsWith('.onnx')) throw errors.badArgument(`${JSON.stringify(out)} should end in .onnx.`);
    if (path.resolve(out) === path.resolve(input))
      throw errors.badArgument('The export would replace its own weights file; choose another -o.');
    if (!values.overwrite && (await exists(out))) throw errors.outputExists(out);
    const c = model.config;
    await writeFileAtomic(out, exportOnnx(c, model.weights, { training: model.training, producerVersion: VERSION }));
    report.event(
      'exported',
      `Exported ${path.basename(input)} (x${c.scale} ${c.activation}, ${parameterCount(c).toLocaleString('en-US')} parameters) to ${out}: ONNX opset ${ONNX_OPSET}, input "input" [N, 3, H, W] RGB in 0–1, output "output" [N, 3, H·${c.scale}, W·${c.scale}].`,
      { path: path.resolve(out), format, opset: ONNX_OPSET, config: c },
    );
    return 0;
  },
};
