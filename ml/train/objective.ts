/**
 * What a run is trained for, and the defaults that follow from it. Apart from the config itself
 * (which needs the network, and so tfjs), so the user interface offers the same objectives and
 * shows the learning rate a run will get by the same rule.
 */
import type { ActivationName } from '../activations.ts';
import type { BackendChoice } from '../backend-choice.ts';
import { INIT_LR } from './init-mismatch.ts';

/**
 * pixel: pixel error alone (L1 or Charbonnier); perceptual: that plus an adversarial loss from a
 * discriminator trained beside the network, for crisper edges and texture at some cost in PSNR.
 */
export const OBJECTIVES = ['pixel', 'perceptual'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export const isObjective = (v: unknown): v is Objective => (OBJECTIVES as readonly unknown[]).includes(v);

/**
 * The adversarial loss's default weight beside the pixel loss's 1: Real-ESRGAN's 0.1 (Wang et al.,
 * 2021, beside L1 1.0). Real-ESRGAN also has a VGG feature loss, which this objective has not; from
 * the bundled x4 photo model the adversarial gradient on the network's parameters is then about 0.7
 * times the L1 gradient's norm, so neither drowns the other. Higher weights sharpen sooner and at a
 * cost: within 300 steps 0.3 brought colour halos at edges and 1 a checkerboard (docs/training.md).
 */
export const DEFAULT_ADV_WEIGHT = 0.1;

/**
 * The default peak learning rate of a perceptual run's network: Real-ESRGAN's 1e-4 (its
 * discriminator learns at DISC_LR_RATIO times it, ml/train/discriminator.ts). A perceptual run
 * usually starts from a pixel-trained model (--init), whose default is the same.
 */
export const PERCEPTUAL_LR = 1e-4;

/**
 * Default peak learning rate per activation. TanhExp's is lower than Swish's: it is steeper near 0
 * and trains more stably so.
 */
export const DEFAULT_LR: Readonly<Record<ActivationName, number>> = {
  relu: 5e-4,
  swish: 5e-4,
  mish: 4e-4,
  tanhexp: 4e-4,
};

/**
 * The peak learning rate a run gets when none is given: INIT_LR when it starts from a trained
 * model, PERCEPTUAL_LR for a perceptual run from scratch, else its activation's own.
 */
export function defaultLearningRate(
  activation: ActivationName,
  from: { readonly init: boolean; readonly objective: Objective },
): number {
  return from.init ? INIT_LR : from.objective === 'perceptual' ? PERCEPTUAL_LR : DEFAULT_LR[activation];
}

/**
 * The backend choice a training or a comparison runs on, in both front ends: the one chosen, except
 * that auto trains the perceptual objective on ONNX Runtime, the one engine that trains it. A named
 * backend stays as named: the engine refuses the objective there, in words that say to choose ONNX
 * Runtime. `objective` is the run's own as given, before its check (a continued run's as recorded).
 */
export function trainingBackend(choice: BackendChoice, objective: unknown): BackendChoice {
  return choice === 'auto' && objective === 'perceptual' ? 'onnx' : choice;
}
