/** The comparison's report as Markdown (report.md), the same from the CLI and the app. */
import { duration } from '../format.ts';
import type { CompareReport } from './compare.ts';
import { compareVerdict, VISIBLE_NOTE } from './compare-verdict.ts';

const f2 = (x: number) => x.toFixed(2);
const f4 = (x: number) => x.toFixed(4);
const pm = (m: number, sd: number, n: number, f: (x: number) => string) => (n > 1 ? `${f(m)} ± ${f(sd)}` : f(m));

export function markdown(r: CompareReport): string {
  const lines = [
    `# ${r.acts.join(' vs ')}`,
    '',
    r.fairness,
    '',
    `| activation | PSNR-Y (dB) | SSIM-Y | ms / iteration |`,
    `|---|---|---|---|`,
  ];
  lines.push(`| bicubic | ${f2(r.bicubic.psnrY)} | ${f4(r.bicubic.ssimY)} | |`);
  for (const a of r.acts) {
    const p = r.perAct[a]!;
    lines.push(
      `| ${a} | ${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, f2)} | ${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, f4)} | ${p.msPerIteration.mean.toFixed(1)} |`,
    );
  }
  if (r.paired) {
    const p = r.paired;
    lines.push(
      '',
      `${p.b} − ${p.a}, paired by seed (n = ${p.psnrY.n}): PSNR-Y ${p.psnrY.mean >= 0 ? '+' : ''}${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, (x) => x.toFixed(3))} dB, ` +
        `SSIM-Y ${p.ssimY.mean >= 0 ? '+' : ''}${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, (x) => x.toFixed(4))}` +
        (p.tPsnr !== null ? `, t = ${p.tPsnr.toFixed(2)}` : '') +
        `; time per iteration ${p.b}/${p.a} = ${p.msRatio.toFixed(3)}.`,
    );
    if (p.psnrY.n > 0) lines.push('', `**${compareVerdict(p).text}** ${VISIBLE_NOTE}`);
  }
  const totalMs = r.runs.reduce((s, x) => s + x.msPerIteration * (x.losses.at(-1)?.iteration ?? 0), 0);
  lines.push('', `Training time (steps only): ${duration(totalMs)} over ${r.runs.length} runs.`, '');
  return lines.join('\n');
}
