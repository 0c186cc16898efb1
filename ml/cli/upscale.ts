import path from 'node:path';
import { BACKEND_NAMES } from '../backend-choice.ts';
import { AbortError, errors } from '../errors.ts';
import { upscaleJob } from '../jobs/upscale.ts';
import { isScale } from '../network.ts';
import { initBackend } from '../node/backends.ts';
import { OUTPUT_FORMATS } from '../node/image-io.ts';
import { defaultModel, forPhotos, loadModelFile } from '../node/models.ts';
import { choiceOption, intOption, type Command } from './options.ts';
import { reportBackend } from './report.ts';

/** `sr-studio upscale`: the upscale job, printed. */
export const runUpscale: Command = {
  options: {
    out: { type: 'string', short: 'o' },
    model: { type: 'string', short: 'm' },
    scale: { type: 'string', short: 's' },
    tile: { type: 'string' },
    overlap: { type: 'string' },
    format: { type: 'string', short: 'f' },
    backend: { type: 'string', short: 'b' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals, report) {
    if (!positionals.length) throw errors.badArgument('upscale needs at least one image or folder, e.g. "sr-studio upscale photo.jpg".');
    const scaleOpt = intOption(values, 'scale', 2, 4);
    if (scaleOpt !== undefined && !isScale(scaleOpt)) throw errors.badArgument('--scale must be 2, 3 or 4.');
    const tile = intOption(values, 'tile', 16, 4096);
    const overlap = intOption(values, 'overlap', 16, 512);
    const format = choiceOption(values, 'format', OUTPUT_FORMATS) ?? 'png';
    const backendName = (values.backend as string | undefined) ?? 'auto';
    if (!(BACKEND_NAMES as readonly string[]).includes(backendName)) throw errors.unknownBackend(backendName, BACKEND_NAMES);

    const modelPath = (values.model as string | undefined) ?? (await defaultModel(scaleOpt ?? 2)).path;
    const model = await loadModelFile(modelPath, scaleOpt ? { scale: scaleOpt } : {});
    const selection = await initBackend(backendName, 'inference');
    reportBackend(report, selection);
    const inputs = forPhotos(model) ? `, trained with the ${model.training!.degrade} degradations` : '';
    report.event('model', `Model: ${path.basename(modelPath)} (x${model.config.scale} ${model.config.activation}${inputs})`, { model: path.resolve(modelPath), config: model.config });

    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result;
    try {
      const spec = { inputs: positionals, model, backend: selection.name, outDir: values.out as string | undefined, format, overwrite: Boolean(values.overwrite), tile, overlap };
      result = await upscaleJob(
        spec,
        (e) => {
          const label = e.type === 'problem' ? '' : `[${e.index + 1}/${e.total}] ${path.basename(e.input)}`;
          switch (e.type) {
            case 'problem':
              report.error(e.error.message, { code: e.error.code, file: e.error.file });
              break;
            case 'progress':
              report.progress(label, e.fraction, { file: e.input, overall: (e.index + e.fraction) / e.total });
              break;
            case 'file-done':
              report.event('done', `${label} → ${e.output} (${e.width}×${e.height}, ${e.seconds.toFixed(1)} s)`, {
                file: e.input,
                output: e.output,
                width: e.width,
                height: e.height,
                seconds: +e.seconds.toFixed(3),
              });
              if (e.warning) report.event('warning', `warning: ${e.warning}`, { file: e.input, message: e.warning });
              break;
            case 'file-error':
              report.error(e.error.message, { code: e.error.code, file: e.error.file ?? e.input });
              break;
            case 'file':
              break;
          }
        },
        controller.signal,
      );
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (result.cancelled) throw new AbortError('Upscaling');
    const failures = result.failures.map((f) => ({ code: f.error.code, file: f.file, message: f.error.message }));
    if (!result.files) {
      // Nothing to upscale: a lone problem is the whole story (already printed above).
      report.event('summary', result.failed === 1 ? '' : `Nothing to upscale: ${result.failed} problems above.`, { done: 0, failed: result.failed, failures });
      return 1;
    }
    const failed = result.failed ? `, ${result.failed} failed (${result.failures.map((f) => path.basename(f.file)).join(', ')})` : '';
    report.event('summary', `${result.upscaled} upscaled${failed}.`, { done: result.upscaled, failed: result.failed, failures, ...(result.warnings.length ? { warnings: result.warnings } : {}) });
    return result.failed ? 1 : 0;
  },
};
