import path from 'node:path';
import { isActivationName, type ActivationName } from '../activations.ts';
import { errors } from '../errors.ts';
import { compareJob, runLabel } from '../jobs/compare.ts';
import { initBackend } from '../node/backends.ts';
import { markdown } from '../train/compare-report.ts';
import { makeTrainConfig } from '../train/config.ts';
import { TrainControl } from '../train/events.ts';
import { trainingBackend } from '../train/objective.ts';
import { SETTING_RANGES } from '../train/ranges.ts';
import { intOption, noPositionals, type Command } from './options.ts';
import { reportBackend } from './report.ts';
import { commonTrainOptions, onInterrupt, reportedSelection, reportStart, TRAIN_OPTIONS } from './train.ts';

/** `--init swish=MODEL,tanhexp=MODEL`: each activation's model to start from. */
function initOption(v: string): Partial<Record<ActivationName, string>> {
  const out: Partial<Record<ActivationName, string>> = {};
  for (const part of v.split(',')) {
    const at = part.indexOf('=');
    const act = part.slice(0, at).trim();
    if (at < 1 || !isActivationName(act) || !part.slice(at + 1).trim() || out[act]) {
      throw errors.badArgument(`--init takes one model per activation, as swish=MODEL,tanhexp=MODEL, not "${v}".`);
    }
    out[act] = part.slice(at + 1).trim();
  }
  return out;
}

/** `sr-studio compare`: the comparison job, printed. */
export const compareCommand: Command = {
  options: { ...TRAIN_OPTIONS, acts: { type: 'string' }, seeds: { type: 'string' }, init: { type: 'string' } },
  async run(values, positionals, report) {
    noPositionals('compare', positionals, 'use --data DIR');
    if (!values.data)
      throw errors.badArgument('compare needs a folder of training photos: --data DIR (and ideally --val DIR).');
    if (values.act)
      throw errors.badArgument('compare trains several activations: use --acts swish,tanhexp instead of --act.');
    const acts = String(values.acts ?? 'swish,tanhexp')
      .split(',')
      .map((a) => a.trim());
    for (const a of acts)
      if (!isActivationName(a))
        throw errors.badArgument(`--acts: unknown activation "${a}"; use tanhexp, swish, mish or relu.`);
    if (acts.length < 2 || new Set(acts).size !== acts.length)
      throw errors.badArgument('--acts needs at least two different activations, e.g. swish,tanhexp.');
    const { backend, threads, settings } = commonTrainOptions(values);
    const seeds = intOption(values, 'seeds', ...SETTING_RANGES.seeds) ?? 1;
    const init = values.init === undefined ? undefined : initOption(String(values.init));
    const base = makeTrainConfig({ ...settings, activation: acts[0], iterations: settings.iterations ?? 1000 });
    const objective = base.objective === 'pixel' ? '' : `_${base.objective}`;
    const dir = path.resolve(
      (values.out as string | undefined) ??
        path.join(
          'runs',
          `compare_${acts.join('-')}_${base.preset ?? 'custom'}_x${base.network.scale}${objective}_it${base.iterations}`,
        ),
    );
    const used = trainingBackend(backend, settings.objective);
    const selection = reportedSelection(await initBackend(used, 'train'), backend, used);
    reportBackend(report, selection);
    const control = new TrainControl();
    const release = onInterrupt(report, control);
    try {
      const { report: r } = await compareJob(
        {
          data: values.data as string,
          val: values.val as string | undefined,
          acts: acts as ActivationName[],
          settings,
          seeds,
          init,
          dir,
          backend: selection,
          threads,
          control,
        },
        (e) => {
          if (e.type === 'note') return report.event('note', e.message, { message: e.message });
          if (e.type === 'data-warning')
            return report.event('warning', `warning: ${e.message}`, { message: e.message });
          if (e.type === 'start') return reportStart(report, e.threads, e.evaluator);
          const ev = e.event;
          const tag = `[${e.index + 1}/${e.total}] ${runLabel(e.act, e.seed)}`;
          const at = { seed: e.seed, act: e.act };
          if (ev.type === 'progress')
            report.progress(
              `${tag} it ${ev.iteration}/${base.iterations} loss ${ev.loss.toFixed(4)}`,
              ev.iteration / base.iterations,
              { ...at, iteration: ev.iteration, loss: ev.loss },
            );
          else if (ev.type === 'validation')
            report.event(
              'validation',
              `${tag} it ${ev.iteration}: PSNR-Y ${ev.psnrY.toFixed(2)} dB, SSIM-Y ${ev.ssimY.toFixed(4)}, detail ${ev.detail.toFixed(3)} (bicubic ${ev.bicubicPsnrY.toFixed(2)} dB, detail ${ev.bicubicDetail.toFixed(3)})`,
              { ...at, iteration: ev.iteration, psnrY: ev.psnrY, ssimY: ev.ssimY, detail: ev.detail },
            );
          else if (ev.type === 'warning')
            report.event('warning', `${tag} warning: ${ev.message}`, { ...at, message: ev.message });
          else if (ev.type === 'failed') report.error(`${tag}: ${ev.message}`);
        },
      );
      report.event('report', markdown(r) + `\nWritten to ${dir} (report.md, report.json, contact_sheet.png).`, {
        dir,
        report: r,
      });
      return r.cancelled ? 130 : 0;
    } finally {
      release();
    }
  },
};
