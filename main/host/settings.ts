/**
 * The app's settings (output folder, backend per purpose, helper threads, recent models) as
 * settings.json in the user-data
 * folder, written atomically. A missing or damaged file gives the defaults (a damaged one is kept
 * aside as settings.json.bad so nothing is lost silently).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BACKEND_NAMES } from '../../ml/backend-choice.ts';
import { writeFileAtomic } from '../../ml/node/atomic.ts';
import { SETTING_RANGES } from '../../ml/train/config.ts';
import type { Settings } from '../api.ts';
import { folderOrNew, int, isObj, list, obj, oneOf, str } from './validate.ts';

export const DEFAULT_SETTINGS: Settings = {
  outputDir: null,
  backends: { upscale: 'auto', train: 'auto' },
  threads: null,
  recentModels: [],
};
export const MAX_RECENT = 10;
const FIELDS = ['outputDir', 'backends', 'threads', 'recentModels'] as const;

/** Checks a partial settings object from the UI (or the file); the output folder is a folder or not there yet (an upscale makes it). */
export async function parseSettingsPatch(v: unknown): Promise<Partial<Settings>> {
  const o = obj(v, 'settings:set', FIELDS);
  const out: { -readonly [K in keyof Settings]?: Settings[K] } = {};
  if (o.outputDir !== undefined)
    out.outputDir = o.outputDir === null ? null : await folderOrNew(o.outputDir, 'Output folder');
  if (o.backends !== undefined) {
    const b = obj(o.backends, 'backends', ['upscale', 'train']);
    out.backends = {
      upscale: oneOf(b.upscale, 'backends.upscale', BACKEND_NAMES),
      train: oneOf(b.train, 'backends.train', BACKEND_NAMES),
    };
  }
  if (o.threads !== undefined)
    out.threads = o.threads === null ? null : int(o.threads, 'threads', ...SETTING_RANGES.threads);
  if (o.recentModels !== undefined) {
    out.recentModels = list(o.recentModels, 'recentModels', 0, MAX_RECENT).map((m, i) =>
      str(m, `recentModels[${i}]`, { max: 1024 }),
    );
  }
  return out;
}

export class SettingsStore {
  #settings: Settings;
  readonly file: string;

  private constructor(file: string, settings: Settings) {
    this.file = file;
    this.#settings = settings;
  }

  static async open(dataDir: string): Promise<SettingsStore> {
    const file = path.join(dataDir, 'settings.json');
    let text: string | undefined;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return new SettingsStore(file, DEFAULT_SETTINGS);
    }
    try {
      const raw: unknown = JSON.parse(text);
      // An output folder that has since been removed is forgotten, not a reason to drop the rest.
      if (isObj(raw) && typeof raw.outputDir === 'string') {
        const st = await fs.stat(raw.outputDir).catch(() => undefined);
        if (!st?.isDirectory()) raw.outputDir = null;
      }
      // Earlier versions kept one backend for everything: it becomes the choice for both purposes.
      if (isObj(raw) && typeof raw.backend === 'string') {
        const b = raw.backend;
        delete raw.backend;
        raw.backends ??= { upscale: b, train: b };
      }
      const patch = await parseSettingsPatch(raw);
      return new SettingsStore(file, { ...DEFAULT_SETTINGS, ...patch });
    } catch (e) {
      console.error(
        `SR Studio: ${file} could not be used (${(e as Error).message}); starting from the default settings.`,
      );
      await fs.rename(file, `${file}.bad`).catch(() => undefined);
      return new SettingsStore(file, DEFAULT_SETTINGS);
    }
  }

  get(): Settings {
    return this.#settings;
  }

  /** Applies an already validated patch and saves. */
  async update(patch: Partial<Settings>): Promise<Settings> {
    this.#settings = { ...this.#settings, ...patch };
    await writeFileAtomic(this.file, new TextEncoder().encode(JSON.stringify(this.#settings, null, 2) + '\n'));
    return this.#settings;
  }

  /** Moves a model id to the front of the recent list. */
  async useModel(id: string): Promise<void> {
    const recent = [id, ...this.#settings.recentModels.filter((m) => m !== id)].slice(0, MAX_RECENT);
    await this.update({ recentModels: recent });
  }
}
