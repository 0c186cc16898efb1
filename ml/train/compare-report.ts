/** The comparison's report as Markdown (report.md), the same from the CLI and the app. */
import { duration } from '../format.ts';
import type { CompareReport } from './compare.ts';
import { compareVerdict, VISIBLE_NOTE } from './compare-verdict.ts';

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);
const pm = (m: number, sd: number, n: number, f: (x: number) => string) => (n > 1 ? `${f(m)} ± ${f(sd)}` : f(m));

/**
 * The report as Markdown: a table of each activation's scores (with the detail measure beside
 * PSNR-Y and SSIM-Y, when the report has it: reports written before it was measured have not),
 * the paired difference and the verdict.
 */
export function markdown(r: CompareReport): string {
  const detailed = r.acts.some((a) => r.perAct[a]?.detail !== undefined);
  const detail = (s: { mean: number; sd: number; n: number } | undefined) =>
    !detailed ? '' : s ? ` ${pm(s.mean, s.sd, s.n, f3)} |` : ' |';
  const lines = [
    `# ${r.acts.join(' vs ')}`,
    '',
    r.fairness,
    '',
    `| activation | PSNR-Y (dB) | SSIM-Y |${detailed ? ' detail |' : ''} ms / iteration |`,
    `|---|---|---|${detailed ? '---|' : ''}---|`,
  ];
  const bicubicDetail = r.bicubic.detail === undefined ? undefined : { mean: r.bicubic.detail, sd: 0, n: 1 };
  lines.push(`| bicubic | ${f2(r.bicubic.psnrY)} | ${f4(r.bicubic.ssimY)} |${detail(bicubicDetail)} |`);
  for (const a of r.acts) {
    const p = r.perAct[a]!;
    lines.push(
      `| ${a} | ${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, f2)} | ${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, f4)} |${detail(p.detail)} ${p.msPerIteration.mean.toFixed(1)} |`,
    );
  }
  if (r.paired) {
    const p = r.paired;
    lines.push(
      '',
      `${p.b} − ${p.a}, paired by seed (n = ${p.psnrY.n}): PSNR-Y ${p.psnrY.mean >= 0 ? '+' : ''}${pm(p.psnrY.mean, p.psnrY.sd, p.psnrY.n, (x) => x.toFixed(3))} dB, ` +
        `SSIM-Y ${p.ssimY.mean >= 0 ? '+' : ''}${pm(p.ssimY.mean, p.ssimY.sd, p.ssimY.n, (x) => x.toFixed(4))}` +
        (p.detail ? `, detail ${p.detail.mean >= 0 ? '+' : ''}${pm(p.detail.mean, p.detail.sd, p.detail.n, f3)}` : '') +
        (p.tPsnr !== null ? `, t = ${p.tPsnr.toFixed(2)}` : '') +
        `; time per iteration ${p.b}/${p.a} = ${p.msRatio.toFixed(3)}.`,
    );
    if (p.psnrY.n > 0) lines.push('', `**${compareVerdict(p).text}** ${VISIBLE_NOTE}`);
  }
  const totalMs = r.runs.reduce((s, x) => s + x.msPerIteration * (x.losses.at(-1)?.iteration ?? 0), 0);
  lines.push('', `Training time (steps only): ${duration(totalMs)} over ${r.runs.length} runs.`, '');
  return lines.join('\n');
}
