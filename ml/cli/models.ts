import path from 'node:path';
import { ACTIVATION_NAMES } from '../activations.ts';
import { errors } from '../errors.ts';
import { initialWeights, parameterCount, PRESET_NAMES, presetConfig, SCALES, type Scale } from '../network.ts';
import { SETTING_RANGES } from '../train/config.ts';
import { exists } from '../node/files.ts';
import { saveModelFile } from '../node/models.ts';
import { choiceOption, intOption, noPositionals, type Command } from './options.ts';

export const newModelCommand: Command = {
  options: {
    out: { type: 'string', short: 'o' },
    preset: { type: 'string' },
    scale: { type: 'string' },
    act: { type: 'string' },
    seed: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals, report) {
    noPositionals('new-model', positionals, 'name the file with -o FILE.safetensors');
    const out = values.out as string | undefined;
    if (!out) throw errors.badArgument('new-model needs an output file: -o FILE.safetensors.');
    if (!out.endsWith('.safetensors')) throw errors.badArgument(`${JSON.stringify(out)} should end in .safetensors.`);
    if (!values.overwrite && (await exists(out))) throw errors.outputExists(out);
    const preset = choiceOption(values, 'preset', PRESET_NAMES) ?? 'tiny';
    const scale = (intOption(values, 'scale', 2, 4) ?? 2) as Scale;
    if (!SCALES.includes(scale)) throw errors.badArgument('--scale must be 2, 3 or 4.');
    const act = choiceOption(values, 'act', ACTIVATION_NAMES) ?? 'tanhexp';
    const seed = intOption(values, 'seed', ...SETTING_RANGES.seed) ?? 0;
    const config = presetConfig(preset, scale, act);
    await saveModelFile(out, config, initialWeights(config, seed), { iterations: 0, seed, preset });
    report.event(
      'saved',
      `Saved an untrained ${preset} x${scale} ${act} network (${parameterCount(config).toLocaleString('en-US')} parameters) to ${out}.`,
      { path: path.resolve(out), config, parameters: parameterCount(config) },
    );
    return 0;
  },
};
