import path from 'node:path';
import { BACKEND_NAMES } from '../backend-choice.ts';
import { AbortError, errors } from '../errors.ts';
import { upscaleJob } from '../jobs/upscale.ts';
import { isScale } from '../network.ts';
import { initBackend } from '../node/backends.ts';
import { OUTPUT_FORMATS } from '../node/image-io.ts';
import { ImportedOnnx } from '../node/imported-model.ts';
import { describeFacts, RANGES, rangeGuessNote, readSidecar, resolveImported } from '../node/imported-models.ts';
import { defaultModel, forPhotos, loadModelFile } from '../node/models.ts';
import type { ImportedModelRef } from '../node/upscaler.ts';
import type { ModelFile } from '../weights.ts';
import { choiceOption, intOption, type Command } from './options.ts';
import { reportBackend } from './report.ts';

/** `sr-studio upscale`: the upscale job, printed. */
export const upscaleCommand: Command = {
  options: {
    out: { type: 'string', short: 'o' },
    model: { type: 'string', short: 'm' },
    scale: { type: 'string', short: 's' },
    tile: { type: 'string' },
    overlap: { type: 'string' },
    format: { type: 'string', short: 'f' },
    backend: { type: 'string', short: 'b' },
    overwrite: { type: 'boolean' },
    range: { type: 'string' },
  },
  async run(values, positionals, report) {
    if (!positionals.length)
      throw errors.badArgument('upscale needs at least one image or folder, e.g. "sr-studio upscale photo.jpg".');
    const scaleOpt = intOption(values, 'scale', 2, 4);
    if (scaleOpt !== undefined && !isScale(scaleOpt)) throw errors.badArgument('--scale must be 2, 3 or 4.');
    const tile = intOption(values, 'tile', 16, 4096);
    const overlap = intOption(values, 'overlap', 16, 512);
    const format = choiceOption(values, 'format', OUTPUT_FORMATS) ?? 'png';
    const backendName = (values.backend as string | undefined) ?? 'auto';
    if (!(BACKEND_NAMES as readonly string[]).includes(backendName))
      throw errors.unknownBackend(backendName, BACKEND_NAMES);

    const rangeName = choiceOption(values, 'range', Object.keys(RANGES) as Array<keyof typeof RANGES>);
    const given = values.model as string | undefined;
    const onnx = given === undefined ? undefined : await resolveImported(given);
    let model: ModelFile | ImportedModelRef;
    let selection;
    if (onnx) {
      if (backendName !== 'auto' && backendName !== 'onnx')
        throw errors.badArgument(
          'Imported ONNX models run on ONNX Runtime; leave out --backend or pass --backend onnx.',
        );
      const range = rangeName && RANGES[rangeName];
      // Probed once here (unless its import recorded it) so the facts can be shown; the job reuses them.
      const sidecar = range ? undefined : await readSidecar(onnx);
      const opened = await ImportedOnnx.open(onnx, { known: sidecar, range, overlap });
      await opened.dispose();
      model = { onnx, known: opened.facts, range, overlap, scale: scaleOpt };
      selection = await initBackend('onnx', 'upscale');
      reportBackend(report, {
        ...selection,
        why: selection.why.replace(/ \(as requested\)$/, '') + ' (imported ONNX models run on it)',
      });
      const guess = rangeGuessNote(opened.facts, 'pass --range 0-255');
      report.event(
        'model',
        `Model: ${path.basename(onnx)} (imported ONNX: ${describeFacts(opened.facts)})${guess && `. ${guess}`}`,
        { model: path.resolve(onnx), imported: opened.facts },
      );
    } else {
      if (rangeName) throw errors.badArgument('--range is for imported ONNX models; SR Studio models take RGB in 0–1.');
      const modelPath = given ?? (await defaultModel(scaleOpt ?? 2)).path;
      const m = await loadModelFile(modelPath, scaleOpt ? { scale: scaleOpt } : {});
      model = m;
      selection = await initBackend(backendName, 'upscale');
      reportBackend(report, selection);
      const inputs = forPhotos(m) ? `, trained with the ${m.training!.degrade} degradations` : '';
      report.event('model', `Model: ${path.basename(modelPath)} (x${m.config.scale} ${m.config.activation}${inputs})`, {
        model: path.resolve(modelPath),
        config: m.config,
      });
    }

    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result;
    try {
      const spec = {
        files: positionals,
        model,
        backend: selection.name,
        outputDir: values.out as string | undefined,
        format,
        overwrite: Boolean(values.overwrite),
        tile,
        overlap,
      };
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
      report.event('summary', result.failed === 1 ? '' : `Nothing to upscale: ${result.failed} problems above.`, {
        done: 0,
        failed: result.failed,
        failures,
      });
      return 1;
    }
    const failed = result.failed
      ? `, ${result.failed} failed (${result.failures.map((f) => path.basename(f.file)).join(', ')})`
      : '';
    report.event('summary', `${result.upscaled} upscaled${failed}.`, {
      done: result.upscaled,
      failed: result.failed,
      failures,
      ...(result.warnings.length ? { warnings: result.warnings } : {}),
    });
    return result.failed ? 1 : 0;
  },
};
