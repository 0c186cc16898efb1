/** Apart from the config itself (which needs the network, and so tfjs), so the user interface checks its fields by the same ranges. */

/** The allowed range of each numeric setting, for every front end's checks and help. */
export const SETTING_RANGES = {
  iterations: [1, 10_000_000],
  batch: [1, 1024],
  patch: [8, 512],
  lr: [1e-7, 1],
  seed: [0, 2 ** 31 - 1],
  valEvery: [1, 10_000_000],
  valMaxSide: [0, 100_000],
  emaDecay: [0, 0.99999],
  /** The adversarial loss's weight (perceptual runs). */
  advWeight: [0.001, 10],
  /** Seeds of a comparison: runs per activation (not part of a run's config). */
  seeds: [1, 100],
  /** Helper threads for training on CPU backends (not part of a run's config). */
  threads: [0, 64],
} as const satisfies Record<string, readonly [number, number]>;
