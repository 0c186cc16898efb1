import type { RunInfo, RunPoint } from '../api/types.ts';
import { SETTING_RANGES } from '../../../ml/train/ranges.ts';
import { wholeNumber } from '../lib/fields.ts';
import type { Services } from './services.ts';

/**
 * The Train view's earlier runs: asked again whenever a run's state changes, a continued run shown
 * as training from the moment it is continued, and what each recorded (for the charts).
 */
export class RunList {
  readonly #app: Pick<Services, 'api' | 'attempt'>;
  #runs = $state.raw<RunInfo[]>([]);

  constructor(app: Pick<Services, 'api' | 'attempt'>) {
    this.#app = app;
  }

  /** Newest first. */
  get items(): readonly RunInfo[] {
    return this.#runs;
  }

  async refresh(): Promise<void> {
    const runs = await this.#app.attempt(this.#app.api.request('runs:list', undefined));
    if (runs) this.#runs = runs;
  }

  /** Shows a run as training before the engine's own list says so. */
  markTraining(dir: string): void {
    this.#runs = this.#runs.map((r) => (r.dir === dir ? { ...r, state: 'running' } : r));
  }

  /** What a run recorded, in order (null when it could not be read; a toast says why). */
  record(dir: string): Promise<RunPoint[] | null> {
    return this.#app.attempt(this.#app.api.request('runs:metrics', { dir }));
  }
}

/** Why `iterations` cannot take a run further (more than it has trained, as `train --resume --iters`); null when they can. */
export function furtherError(run: RunInfo, iterations: unknown): string | null {
  return wholeNumber(iterations, 'Iterations', run.iteration + 1, SETTING_RANGES.iterations[1]).error;
}
