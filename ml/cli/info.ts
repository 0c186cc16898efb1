import { chooseBackend } from '../backend-choice.ts';
import { probeBackends } from '../node/backends.ts';
import { describeFacts, findImported } from '../node/imported-models.ts';
import { findModels, forPhotos, pickDefault } from '../node/models.ts';
import { noPositionals, type Command } from './options.ts';
import { VERSION } from '../node/version.ts';

export const infoCommand: Command = {
  options: {},
  async run(_values, positionals, report) {
    noPositionals('info', positionals);
    const probes = await probeBackends();
    const auto = {
      inference: chooseBackend('auto', 'upscale', probes),
      training: chooseBackend('auto', 'train', probes),
    };
    const { models, problems: found } = await findModels();
    const imported = await findImported();
    const problems = [...found, ...imported.problems];
    if (report.mode === 'json') {
      process.stdout.write(
        JSON.stringify({
          type: 'info',
          version: VERSION,
          node: process.versions.node,
          backends: probes,
          auto,
          models,
          imported: imported.models,
          problems,
        }) + '\n',
      );
      return 0;
    }
    const lines = [`SR Studio ${VERSION} (Node ${process.versions.node})`, '', 'Backends:'];
    for (const p of probes) {
      const software =
        p.name === 'webgpu' && !p.gpu
          ? ` [software: ${p.detail ?? 'not a hardware GPU'}; auto uses it only after wasm]`
          : '';
      const what = p.available
        ? `${p.device ?? ''}${p.gpu ? ' [GPU]' : software}${p.canTrain ? '' : ' (upscaling only)'}`
        : `unavailable: ${p.reason}`;
      lines.push(`  ${p.name.padEnd(11)} ${what}`);
    }
    lines.push(
      '',
      `auto for upscaling: ${auto.inference.why}`,
      `auto for training:  ${auto.training.why}`,
      '',
      'Models:',
    );
    if (!models.length) lines.push('  none found (make one with "sr-studio new-model" or train one)');
    const defaults = new Set([2, 3, 4].map((s) => pickDefault(models, s)));
    for (const m of models) {
      const c = m.config;
      const t = m.training;
      const val = t?.valPsnrY !== undefined ? `, val PSNR-Y ${t.valPsnrY.toFixed(2)} dB` : '';
      const q75 = t?.jpeg?.['75'] ? `, JPEG q75 ${t.jpeg['75'].psnrY.toFixed(2)} dB` : '';
      const inputs = forPhotos(m) ? `, trained with the ${t!.degrade} degradations` : '';
      const mark = defaults.has(m) ? ` [default for x${c.scale}]` : '';
      lines.push(
        `  ${m.path}${mark}\n    x${c.scale} ${c.activation}, ${c.features} features, ${c.groups}×${c.blocks} blocks, ${m.parameters.toLocaleString('en-US')} parameters${val}${q75}${inputs}`,
      );
    }
    if (imported.models.length) lines.push('', 'Imported ONNX models (upscaling only; they cannot be trained):');
    for (const m of imported.models) {
      const from = m.record.source !== m.path ? `\n    from ${m.record.source}` : '';
      lines.push(`  ${m.path}\n    ${describeFacts(m.record)}${from}`);
    }
    for (const p of problems) lines.push(`  skipped: ${p}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
