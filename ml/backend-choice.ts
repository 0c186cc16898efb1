import { errors } from './errors.ts';

/**
 * Which backend to use, decided from what a platform adapter found. Pure: no imports of backends.
 * `onnx` is ONNX Runtime on the CPU: it only upscales (tensor work besides upscaling, such as
 * training, runs on the best CPU tfjs backend beside it).
 */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_NAMES)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;
export type Purpose = 'inference' | 'training';

export interface BackendProbe {
  readonly name: ConcreteBackend;
  readonly available: boolean;
  /** True when it computes on a hardware GPU (not a software rasteriser). */
  readonly gpu: boolean;
  /** Whether this backend has every kernel a training step needs. */
  readonly canTrain: boolean;
  readonly device?: string;
  readonly reason?: string;
}

export interface BackendSelection {
  readonly name: ConcreteBackend;
  readonly device: string;
  /** One line: what was picked and why. */
  readonly why: string;
  /** Each better backend that auto passed over, and why. */
  readonly skipped: ReadonlyArray<{ name: ConcreteBackend; reason: string }>;
}

/**
 * auto's order of preference (wasm trains through ml/conv.ts). Upscaling-only backends are not
 * considered for training at all, so they do not clutter its explanation. webgpu on a software
 * adapter (Mesa's lavapipe/llvmpipe) comes after wasm, which is faster on CPUs, and before the cpu
 * backend, which it beats by far (`npm run bench -- --mode train --backends wasm,webgpu,cpu`).
 */
const PREFERENCE: ReadonlyArray<{ name: ConcreteBackend; needGpu: boolean; upscalingOnly?: boolean }> = [
  { name: 'tensorflow', needGpu: true },
  { name: 'webgpu', needGpu: true },
  { name: 'onnx', needGpu: false, upscalingOnly: true },
  { name: 'wasm', needGpu: false },
  { name: 'webgpu', needGpu: false },
  { name: 'cpu', needGpu: false },
];

export function chooseBackend(choice: BackendChoice, purpose: Purpose, probes: readonly BackendProbe[]): BackendSelection {
  const byName = new Map(probes.map((p) => [p.name, p]));
  if (choice !== 'auto') {
    const p = byName.get(choice);
    if (p && !p.available) throw errors.backendFailed(choice, p.reason ?? 'it is not available');
    if (p && purpose === 'training' && !p.canTrain) {
      throw errors.backendFailed(choice, 'it cannot train: it lacks the gradient kernels, so use it for upscaling only');
    }
    return { name: choice, device: p?.device ?? choice, why: `${choice} (as requested)`, skipped: [] };
  }
  const skipped: Array<{ name: ConcreteBackend; reason: string }> = [];
  for (const { name, needGpu, upscalingOnly } of PREFERENCE) {
    if (upscalingOnly && purpose === 'training') continue;
    const p = byName.get(name);
    // A backend skipped as a GPU backend is tried again, as a CPU one, further down: say so once.
    if (skipped.some((k) => k.name === name) && !(p?.available && !p.gpu)) continue;
    if (!p || !p.available) {
      skipped.push({ name, reason: p?.reason ?? 'not available' });
    } else if (needGpu && !p.gpu) {
      skipped.push({ name, reason: `no hardware GPU (${p.device ?? 'software only'})` });
    } else if (purpose === 'training' && !p.canTrain) {
      skipped.push({ name, reason: 'cannot train' });
    } else {
      const passed = skipped.filter((k) => k.name !== name);
      const why = passed.length
        ? `${name} — ${p.device ?? name}; skipped ${passed.map((s) => `${s.name}: ${s.reason}`).join('; ')}`
        : `${name} — ${p.device ?? name}`;
      return { name, device: p.device ?? name, why, skipped: passed };
    }
  }
  return { name: 'cpu', device: 'plain JavaScript', why: 'cpu — nothing else is available', skipped };
}
