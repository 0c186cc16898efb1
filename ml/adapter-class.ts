/**
 * Telling a hardware GPU from a CPU rasteriser by everything the adapter reports. Pure: no imports.
 *
 * Dawn reports four strings (vendor, architecture, device, description) and whether the adapter is
 * a fallback adapter. Through Vulkan, `vendor` is a name from the PCI vendor id ("nvidia", "amd",
 * "intel", "mesa" for lavapipe, "google" for SwiftShader) and `description` the driver's device
 * name. Through OpenGL, `vendor` and `architecture` are empty, `device` is the GL renderer string
 * made into a slug ("llvmpipe-llvm-15-0-6-256-bits-") and `description` the GL version
 * ("OpenGL version 4.5 (Core Profile) Mesa 22.3.6"), which never names the rasteriser: each field
 * has to be read.
 */
export interface AdapterReport {
  /** The graphics API Dawn found the adapter through. */
  readonly api: 'Vulkan' | 'OpenGL';
  readonly vendor?: string | undefined;
  readonly architecture?: string | undefined;
  readonly device?: string | undefined;
  readonly description?: string | undefined;
  readonly isFallbackAdapter?: boolean | undefined;
}

export type AdapterClass = 'hardware' | 'software' | 'unknown';

/** Raised whenever the rules below change, so adapters judged by older rules are probed again. */
export const CLASSIFIER_VERSION = 1;

export interface AdapterVerdict {
  readonly kind: AdapterClass;
  /** What decided it, for `info` and the settings panel. */
  readonly why: string;
}

/** CPU rasterisers: Mesa's llvmpipe (GL) / lavapipe (Vulkan) / softpipe / swrast, SwiftShader, WARP. */
const SOFTWARE: ReadonlyArray<readonly [RegExp, string]> = [
  [/llvmpipe/i, 'Mesa llvmpipe, a CPU rasteriser'],
  [/lavapipe/i, 'Mesa lavapipe, a CPU rasteriser'],
  [/softpipe|swrast/i, 'Mesa softpipe, a CPU rasteriser'],
  [/swiftshader/i, 'SwiftShader, a CPU rasteriser'],
  [/microsoft[\s-]*basic[\s-]*render|\bwarp\b/i, 'Microsoft WARP, a CPU rasteriser'],
  [/software[\s-]*(rasteri[sz]er|renderer|adapter)/i, 'a software rasteriser'],
];

/** Vendors that make GPUs (Dawn's vendor names through Vulkan, and words in GL renderer strings). */
const HARDWARE =
  /\b(nvidia|geforce|quadro|tesla|rtx|amd|ati|radeon|intel|iris|arc|apple|qualcomm|adreno|arm|mali|imgtec|imagination|powervr|broadcom|videocore|samsung|xclipse|huawei|maleoon|vivante|moore\s*threads)\b/i;

/** Splits slugs like "nvidia-geforce-rtx-4090" into words so the patterns above see them. */
const words = (s: string) => s.replace(/[-_]+/g, ' ');

export function classifyAdapter(a: AdapterReport): AdapterVerdict {
  const fields = [a.vendor, a.architecture, a.device, a.description].filter((f): f is string => !!f).map(words);
  const all = fields.join(' | ');
  if (a.isFallbackAdapter) return { kind: 'software', why: 'Dawn marks it as a fallback (CPU) adapter' };
  for (const [re, what] of SOFTWARE) if (re.test(all)) return { kind: 'software', why: what };
  const hw = HARDWARE.exec(all);
  if (hw) return { kind: 'hardware', why: `a ${hw[1]!.toLowerCase()} GPU` };
  return { kind: 'unknown', why: `nothing it reports (${all || 'no names at all'}) says whether it is a GPU` };
}

/** A short name for people: the device name where there is one, else the vendor and architecture. */
export function adapterName(a: AdapterReport): string {
  if (a.api === 'OpenGL' && a.device) {
    const driver = /\b(Mesa|NVIDIA|ATI|AMD|Intel)[\s-]+[\d.]+/i.exec(a.description ?? '')?.[0];
    return `${words(a.device).trim()}${driver ? ` (${driver})` : ''}`;
  }
  return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
}

/**
 * The timed probe's verdict for an adapter that names no class: it is called a GPU only when it
 * computes clearly faster than this machine's CPU cores would (`cpuGflops`, an estimate of what
 * wasm's SIMD kernels reach on every core).
 */
export function classifyByTiming(gpuGflops: number, cpuGflops: number): AdapterVerdict {
  const ratio = gpuGflops / Math.max(cpuGflops, 1e-9);
  const figures = `${gpuGflops.toFixed(0)} GFLOP/s against about ${cpuGflops.toFixed(0)} on the CPU cores`;
  return ratio >= 2
    ? { kind: 'hardware', why: `a timed probe measured ${figures}` }
    : { kind: 'software', why: `a timed probe measured only ${figures}, so it is no faster than WebAssembly` };
}
