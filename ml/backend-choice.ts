import { errors, firstLine, isUserError } from './errors.ts';

/**
 * Which backend to use, decided from what a platform adapter found. Pure: no imports of backends.
 * `onnx` is ONNX Runtime on the CPU: it upscales, and trains with the whole step as one ONNX graph
 * (ml/node/onnx-trainer.ts); the other tensor work (feature maps) runs on wasm beside it.
 */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_NAMES)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;
/** What a backend is chosen for: upscaling (and comparing models), or training (and the rest of the tensor work). */
export type Purpose = 'upscale' | 'train';

export interface BackendProbe {
  readonly name: ConcreteBackend;
  readonly available: boolean;
  /** True when it computes on a hardware GPU (not a software rasteriser). */
  readonly gpu: boolean;
  /** Whether this backend has every kernel a training step needs. */
  readonly canTrain: boolean;
  readonly device?: string;
  /** Why a GPU backend's adapter counts as hardware or software. */
  readonly detail?: string;
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
 * auto's order of preference, for upscaling and training alike: a hardware GPU, then ONNX Runtime's
 * native CPU kernels (several times faster than WebAssembly for both: `npm run bench -- --mode cpu`
 * and `--mode train-cpu`), then wasm (which trains through ml/conv.ts). webgpu on a software
 * adapter (Mesa's lavapipe/llvmpipe) comes after wasm, which is faster on CPUs, and before the cpu
 * backend, which it beats by far (`npm run bench -- --mode train --backends wasm,webgpu,cpu`).
 */
const PREFERENCE: ReadonlyArray<{ name: ConcreteBackend; needGpu: boolean }> = [
  { name: 'tensorflow', needGpu: true },
  { name: 'webgpu', needGpu: true },
  { name: 'onnx', needGpu: false },
  { name: 'wasm', needGpu: false },
  { name: 'webgpu', needGpu: false },
  { name: 'cpu', needGpu: false },
];

/** Probes one backend (what a platform adapter does); auto asks only for those it needs. */
export type ProbeFn = (name: ConcreteBackend) => Promise<BackendProbe>;

/**
 * auto's walk down the preference order. `get` answers a probe, or undefined for one not made
 * yet: then the walk stops and says which it needs (the lazy caller probes it and walks again).
 */
function walk(
  purpose: Purpose,
  get: (name: ConcreteBackend) => BackendProbe | undefined,
): BackendSelection | { need: ConcreteBackend } {
  const skipped: Array<{ name: ConcreteBackend; reason: string }> = [];
  for (const { name, needGpu } of PREFERENCE) {
    const p = get(name);
    if (!p) return { need: name };
    // A backend skipped as a GPU backend is tried again, as a CPU one, further down: say so once.
    if (skipped.some((k) => k.name === name) && !(p.available && !p.gpu)) continue;
    if (!p.available) {
      skipped.push({ name, reason: p.reason ?? 'not available' });
    } else if (needGpu && !p.gpu) {
      skipped.push({
        name,
        reason: `no hardware GPU (${p.device ?? 'software only'}${p.detail ? `: ${p.detail}` : ''})`,
      });
    } else if (purpose === 'train' && !p.canTrain) {
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

function named(choice: ConcreteBackend, purpose: Purpose, p: BackendProbe | undefined): BackendSelection {
  if (p && !p.available) throw errors.backendFailed(choice, p.reason ?? 'it is not available');
  if (p && purpose === 'train' && !p.canTrain) {
    throw errors.backendFailed(choice, 'it cannot train: it lacks the gradient kernels, so use it for upscaling only');
  }
  return {
    name: choice,
    device: p?.device ?? choice,
    why: `${choice} — ${p?.device ?? choice} (as requested)`,
    skipped: [],
  };
}

/** The choice from a full set of probes (`sr-studio info`, tests). */
export function chooseBackend(
  choice: BackendChoice,
  purpose: Purpose,
  probes: readonly BackendProbe[],
): BackendSelection {
  const byName = new Map(probes.map((p) => [p.name, p]));
  if (choice !== 'auto') return named(choice, purpose, byName.get(choice));
  const s = walk(
    purpose,
    (name) => byName.get(name) ?? { name, available: false, gpu: false, canTrain: false, reason: 'not probed' },
  );
  return s as BackendSelection;
}

/**
 * The choice, probing only what it needs: a named backend probes itself alone, and auto goes down
 * its order and stops at the first backend that fits.
 */
export async function chooseBackendLazily(
  choice: BackendChoice,
  purpose: Purpose,
  probe: ProbeFn,
): Promise<BackendSelection> {
  if (choice !== 'auto') return named(choice, purpose, await probe(choice));
  const seen = new Map<ConcreteBackend, BackendProbe>();
  for (;;) {
    const s = walk(purpose, (name) => seen.get(name));
    if (!('need' in s)) return s;
    seen.set(s.need, await probe(s.need));
  }
}

/** A probe as it reads once its backend failed to start (`why`), or as it is. */
export function withStartFailure(p: BackendProbe, why: string | undefined): BackendProbe {
  return why ? { ...p, available: false, canTrain: false, reason: why } : p;
}

/**
 * Chooses and starts: when auto's pick fails to start, it is marked as failed (with why) and auto
 * chooses again, so the next candidate runs and the reason shows among the skipped; a named backend
 * that fails is reported as is. `start` throws to say a backend cannot start.
 */
export async function chooseAndStart(
  choice: BackendChoice,
  purpose: Purpose,
  probe: ProbeFn,
  start: (name: ConcreteBackend) => Promise<void>,
  failed: Map<ConcreteBackend, string> = new Map(),
): Promise<BackendSelection> {
  const withFailures: ProbeFn = async (name) => withStartFailure(await probe(name), failed.get(name));
  for (;;) {
    const selection = await chooseBackendLazily(choice, purpose, withFailures);
    try {
      await start(selection.name);
      return selection;
    } catch (e) {
      if (choice !== 'auto' || failed.has(selection.name)) throw e;
      const why = isUserError(e) ? (e.facts as { why?: string }).why : undefined;
      failed.set(selection.name, `it failed to start (${why ?? firstLine(e)})`);
    }
  }
}
