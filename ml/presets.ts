/**
 * The network's size presets, apart from the network itself (no tfjs), so the user interface can
 * name a shape as the engine does.
 */
import type { NetworkConfig } from './network.ts';

export const PRESETS = {
  standard: { features: 64, groups: 4, blocks: 4 },
  light: { features: 32, groups: 3, blocks: 4 },
  tiny: { features: 16, groups: 1, blocks: 3 },
} as const satisfies Record<string, Pick<NetworkConfig, 'features' | 'groups' | 'blocks'>>;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(s: unknown): s is PresetName {
  return typeof s === 'string' && Object.hasOwn(PRESETS, s);
}

/** The preset whose shape matches the config, if any. */
export function presetOf(config: Pick<NetworkConfig, 'features' | 'groups' | 'blocks'>): PresetName | undefined {
  return PRESET_NAMES.find((p) => {
    const s = PRESETS[p];
    return s.features === config.features && s.groups === config.groups && s.blocks === config.blocks;
  });
}
