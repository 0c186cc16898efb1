/** Every request channel's handler, in one typed map (a missing channel is a compile error). */
import type { Handlers, HostContext } from './context.ts';
import { fileHandlers } from './file-handlers.ts';
import { jobHandlers } from './job-handlers.ts';
import { modelHandlers } from './model-handlers.ts';
import { parseSettingsPatch } from './settings.ts';
import { none } from './validate.ts';

export function createHandlers(ctx: HostContext): Handlers {
  return {
    async 'app:status'(arg) {
      none(arg, 'app:status');
      return { version: ctx.version, backend: await ctx.engine.backend(), settings: ctx.settings.get() };
    },
    async 'settings:set'(arg) {
      const patch = await parseSettingsPatch(arg);
      if (patch.backend !== undefined) await ctx.engine.setBackend(patch.backend);
      return ctx.settings.update(patch);
    },
    ...fileHandlers(ctx),
    ...modelHandlers(ctx),
    ...jobHandlers(ctx),
  };
}
