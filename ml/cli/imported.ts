import path from 'node:path';
import { errors } from '../errors.ts';
import { describeFacts, importModel, RANGES, rangeGuessNote } from '../node/imported-models.ts';
import { choiceOption, intOption, type Command } from './options.ts';

/** `sr-studio models import FILE`: an ONNX model checked, probed and copied into the user's models folder. */
export const modelsCommand: Command = {
  options: {
    overlap: { type: 'string' },
    range: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals, report) {
    const [action, file, ...more] = positionals;
    if (action !== 'import' || !file || more.length) {
      throw errors.badArgument(
        'models needs "import" and one ONNX file, e.g. "sr-studio models import realesr-general-x4v3.onnx".',
      );
    }
    const overlap = intOption(values, 'overlap', 16, 512);
    const rangeName = choiceOption(values, 'range', Object.keys(RANGES) as Array<keyof typeof RANGES>);
    const r = await importModel(file, {
      overlap,
      range: rangeName && RANGES[rangeName],
      overwrite: Boolean(values.overwrite),
    });
    const what = describeFacts(r.record);
    const guess = rangeGuessNote(r.record, `import it again with --range 0-255 --overwrite`);
    report.event(
      'imported',
      (r.already
        ? `${path.basename(file)} is already imported as ${r.name} (${what}), in ${r.path}.`
        : `Imported ${path.basename(file)} as ${r.name} (${what}) into ${r.path}; it can upscale but not be trained.`) +
        (guess && ` ${guess}`),
      { path: r.path, name: r.name, already: r.already, record: r.record },
    );
    return 0;
  },
};
