/** Helper threads for a training job in the app, as `sr-studio train --threads` starts them. */
import { defaultThreads, GradientWorkers } from '../../ml/node/grad-workers.ts';
import type { TrainConfig } from '../../ml/train/config.ts';
import type { JobContext } from './job.ts';

export async function startHelpers(ctx: JobContext, config: TrainConfig, say: (m: string) => void): Promise<GradientWorkers | undefined> {
  const threads = ctx.threads ?? defaultThreads(ctx.backend.name);
  if (!threads || (ctx.backend.name !== 'wasm' && ctx.backend.name !== 'cpu')) return undefined;
  say(`Starting ${threads} helper thread${threads > 1 ? 's' : ''} for training…`);
  return GradientWorkers.start(threads, ctx.backend.name, config);
}
