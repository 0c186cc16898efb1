import path from 'node:path';
import { BACKEND_NAMES } from '../backend-choice.ts';
import { errors, isUserError, type UserError } from '../errors.ts';
import { isScale } from '../network.ts';
import { initBackend } from '../node/backends.ts';
import { checkOutputPath, collectImages, outputPathFor } from '../node/files.ts';
import { OUTPUT_FORMATS } from '../node/image-io.ts';
import { defaultModel, loadModelFile } from '../node/models.ts';
import { upscaleFile } from '../node/upscale-file.ts';
import { openUpscaler } from '../node/upscaler.ts';
import { choiceOption, intOption, type Command } from './options.ts';
import type { Reporter } from './report.ts';

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
    const scale = model.config.scale;

    const { files, problems } = await collectImages(positionals);
    const failures: UserError[] = [...problems];
    // A lone problem with nothing to upscale is thrown (main reports it once); otherwise list each.
    if (!files.length && problems.length === 1) throw problems[0]!;
    for (const p of problems) report.error(p.message, { code: p.code, file: p.file });
    if (!files.length) {
      report.event('summary', `Nothing to upscale: ${problems.length} problems above.`, { done: 0, failed: problems.length });
      return 1;
    }

    const selection = await initBackend(backendName, 'inference');
    report.event('backend', `Backend: ${selection.why}`, { backend: selection.name, device: selection.device, why: selection.why });
    const upscaler = await openUpscaler(selection.name, model);
    report.event('model', `Model: ${path.basename(modelPath)} (x${scale} ${model.config.activation})`, { model: path.resolve(modelPath), config: model.config });

    const inputs = new Set(files.map((f) => f.path));
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let done = 0;
    try {
      for (const [i, f] of files.entries()) {
        const out = outputPathFor(f, { outDir: values.out as string | undefined, scale, format });
        const label = `[${i + 1}/${files.length}] ${path.basename(f.path)}`;
        try {
          await checkOutputPath(out, inputs, Boolean(values.overwrite));
          const t0 = performance.now();
          const r = await upscaleFile({
            model: upscaler,
            input: f.path,
            output: out,
            format,
            tile,
            overlap,
            signal: controller.signal,
            onProgress: (fraction) => report.progress(label, fraction, { file: f.path, overall: (i + fraction) / files.length }),
          });
          done++;
          const secs = (performance.now() - t0) / 1000;
          report.event('done', `${label} → ${out} (${r.width}×${r.height}, ${secs.toFixed(1)} s)`, {
            file: f.path,
            output: out,
            width: r.width,
            height: r.height,
            seconds: +secs.toFixed(3),
          });
        } catch (e) {
          if (!isUserError(e)) throw e;
          if (e.code === 'cancelled') throw e;
          failures.push(e);
          report.error(e.message, { code: e.code, file: e.file ?? f.path });
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
      await upscaler.dispose();
    }
    if (failures.length) {
      report.event(
        'summary',
        `${done} upscaled, ${failures.length} failed:\n${failures.map((e) => `  - ${e.message}`).join('\n')}`,
        { done, failed: failures.length, failures: failures.map((e) => ({ code: e.code, file: e.file, message: e.message })) },
      );
      return 1;
    }
    report.event('summary', `${done} upscaled.`, { done, failed: 0 });
    return 0;
  },
};
