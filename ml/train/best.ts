import type { Objective } from './config.ts';

/**
 * Which validation's weights a run keeps as its model. A pixel run keeps its highest PSNR-Y. A
 * perceptual run keeps its latest: PSNR-Y is highest where the adversarial loss has changed the
 * weights least (a perceptual run trades PSNR for detail, so its best PSNR is its least perceptual
 * model), and no single score says when the trade is best; as Real-ESRGAN, the model is the
 * weights the run ends with (the EMA's when kept), and each validation's scores, the detail
 * measure's included, are in metrics.jsonl to judge by.
 */
export function replacesBest(
  objective: Objective,
  best: { readonly iteration: number; readonly psnrY: number } | null,
  candidate: { readonly iteration: number; readonly psnrY: number },
): boolean {
  if (!best) return true;
  return objective === 'perceptual' ? candidate.iteration > best.iteration : candidate.psnrY > best.psnrY;
}
