import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isActivationName, type ActivationName } from '../activations.ts';
import { errors, fsError } from '../errors.ts';
import { writeFileAtomic } from '../node/atomic.ts';
import { initBackend } from '../node/backends.ts';
import { sharpJpeg } from '../node/jpeg.ts';
import { writeImage } from '../node/image-io.ts';
import { RunFolder } from '../node/run-folder.ts';
import { loadTrainingData } from '../node/training-data.ts';
import { compare, type CompareReport } from '../train/compare.ts';
import { DEFAULT_LR, makeTrainConfig } from '../train/config.ts';
import { TrainControl } from '../train/events.ts';
import { intOption, type Command } from './main.ts';
import { createReporter, pickMode } from './report.ts';
import { checkBackendName, duration, startHelpers, TRAIN_OPTIONS, trainSettings } from './train.ts';

export const runCompare: Command = {
  options: { ...TRAIN_OPTIONS, acts: { type: 'string' }, seeds: { type: 'string' } },
  async run(values, positionals, json) {
    const report = createReporter(pickMode(json));
    if (positionals.length) throw errors.badArgument(`compare takes no plain arguments ("${positionals[0]}"); use --data DIR.`);
    if (!values.data) throw errors.badArgument('compare needs a folder of training photos: --data DIR (and ideally --val DIR).');
    if (values.act) throw errors.badArgument('compare trains several activations: use --acts swish,tanhexp instead of --act.');
    const acts = String(values.acts ?? 'swish,tanhexp').split(',').map((a) => a.trim());
    for (const a of acts) if (!isActivationName(a)) throw errors.badArgument(`--acts: unknown activation "${a}"; use tanhexp, swish, mish or relu.`);
    if (acts.length < 2 || new Set(acts).size !== acts.length) throw errors.badArgument('--acts needs at least two different activations, e.g. swish,tanhexp.');
    const backendName = (values.backend as string | undefined) ?? 'auto';
    checkBackendName(backendName);
    const s = trainSettings(values);
    const nSeeds = intOption(values, 'seeds', 1, 100) ?? 1;
    // One learning rate for every activation: the lowest of their defaults unless --lr is given.
    const lr = s.lr ?? Math.min(...acts.map((a) => DEFAULT_LR[a as ActivationName]));
    const base = makeTrainConfig({ ...s, activation: acts[0], lr, iterations: s.iterations ?? 1000 });
    const seeds = Array.from({ length: nSeeds }, (_, i) => base.seed + i);
    const out = path.resolve((values.out as string | undefined) ?? path.join('runs', `compare_${acts.join('-')}_${base.preset ?? 'custom'}_x${base.network.scale}_it${base.iterations}`));
    try {
      await fs.mkdir(out, { recursive: true });
      if ((await fs.readdir(out)).length) throw errors.badArgument(`${JSON.stringify(out)} is not empty; choose another --out for this comparison.`);
    } catch (e) {
      throw fsError(e, out);
    }
    const data = await loadTrainingData({
      data: values.data as string,
      val: values.val as string | undefined,
      scale: base.network.scale,
      patch: base.patch,
      seed: base.seed,
      valMaxSide: base.valMaxSide,
      onWarning: (m) => report.event('warning', `warning: ${m}`, { message: m }),
    });
    for (const n of data.notes) report.event('note', n, { message: n });
    if (!data.val.length) throw errors.badArgument('compare needs validation images: pass --val DIR, or a --data folder with at least two photos.');
    const selection = await initBackend(backendName, 'training');
    report.event('backend', `Backend: ${selection.why}`, { backend: selection.name, device: selection.device });

    const helpers = await startHelpers(values, selection.name, base, report);
    const control = new TrainControl();
    const onSigint = () => control.cancel();
    process.on('SIGINT', onSigint);
    try {
      for await (const ev of compare({
        base,
        acts: acts as ActivationName[],
        seeds,
        data: data.train,
        val: data.val,
        storeFor: (seed, act) => RunFolder.create(path.join(out, `seed_${seed}`, act), 1),
        control,
        helpers,
        jpeg: sharpJpeg,
        backend: `${selection.name} (${selection.device})`,
      })) {
        if (ev.type === 'run') {
          const e = ev.event;
          const tag = `[${ev.index + 1}/${ev.total}] seed ${ev.seed} ${ev.act}`;
          if (e.type === 'progress') report.progress(`${tag} it ${e.iteration}/${base.iterations} loss ${e.loss.toFixed(4)}`, e.iteration / base.iterations, { seed: ev.seed, act: ev.act, iteration: e.iteration, loss: e.loss });
          else if (e.type === 'validation')
            report.event('validation', `${tag} it ${e.iteration}: PSNR-Y ${e.psnrY.toFixed(2)} dB, SSIM-Y ${e.ssimY.toFixed(4)} (bicubic ${e.bicubicPsnrY.toFixed(2)} dB)`, { seed: ev.seed, act: ev.act, iteration: e.iteration, psnrY: e.psnrY, ssimY: e.ssimY });
          else if (e.type === 'warning') report.event('warning', `${tag} warning: ${e.message}`, { seed: ev.seed, act: ev.act, message: e.message });
          else if (e.type === 'failed') report.error(`${tag}: ${e.message}`);
        } else {
          const r = ev.report;
          await writeFileAtomic(path.join(out, 'report.json'), new TextEncoder().encode(JSON.stringify(r, null, 2) + '\n'));
          await writeFileAtomic(path.join(out, 'report.md'), new TextEncoder().encode(markdown(r)));
          if (ev.sheet) await writeImage(path.join(out, 'contact_sheet.png'), ev.sheet, { format: 'png' });
          report.event('report', markdown(r) + `\nWritten to ${out} (report.md, report.json, contact_sheet.png).`, { dir: out, report: r });
          return r.cancelled ? 130 : 0;
        }
      }
      return 1;
    } finally {
      process.off('SIGINT', onSigint);
      await helpers?.close();
    }
  },
};

const f2 = (x: number) => x.toFixed(2);
const f4 = (x: number) => x.toFixed(4);
const pm = (m: number, sd: number, n: number, f: (x: number) => string) => (n > 1 ? `${f(m)} ± ${f(sd)}` : f(m));

export function markdown(r: CompareReport): string {
  const lines = [`# ${r.acts.join(' vs ')}`, '', r.fairness, '', `| activation | PSNR-Y (dB) | SSIM-Y | ms / iteration |`, `|---|---|---|---|`];
  lines.push(`| bicubic | ${f2(r.bicubic.psnrY)} | ${f4(r.bicubic.ssimY)} | |`);
  for (const a of r.acts) {
    const p = r.perAct[a]!;
    lines.push(`| ${a} | ${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, f2)} | ${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, f4)} | ${p.msPerIteration.mean.toFixed(1)} |`);
  }
  if (r.paired) {
    const p = r.paired;
    lines.push(
      '',
      `${p.b} − ${p.a}, paired by seed (n = ${p.psnrY.n}): PSNR-Y ${p.psnrY.mean >= 0 ? '+' : ''}${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, (x) => x.toFixed(3))} dB, ` +
        `SSIM-Y ${p.ssimY.mean >= 0 ? '+' : ''}${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, (x) => x.toFixed(4))}` +
        (p.tPsnr !== null ? `, t = ${p.tPsnr.toFixed(2)}` : ' (one seed: run with --seeds 3 or more to tell a real gap from noise)') +
        `; time per iteration ${p.b}/${p.a} = ${p.msRatio.toFixed(3)}.`,
    );
  }
  const totalMs = r.runs.reduce((s, x) => s + x.msPerIteration * (x.losses.at(-1)?.iteration ?? 0), 0);
  lines.push('', `Training time (steps only): ${duration(totalMs)} over ${r.runs.length} runs.`, '');
  return lines.join('\n');
}
