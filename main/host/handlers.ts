/** Every request channel's handler, in one typed map (a missing channel is a compile error). */
import type { Handlers, HostContext } from './context.ts';
import { fileHandlers } from './file-handlers.ts';
import { imageHandlers } from './image-handlers.ts';
import { jobHandlers } from './job-handlers.ts';
import { modelHandlers } from './model-handlers.ts';
import { resultHandlers } from './results.ts';
import { runHandlers } from './run-handlers.ts';
import { parseSettingsPatch } from './settings.ts';
import { none } from './validate.ts';

export function createHandlers(ctx: HostContext): Handlers {
  return {
    async 'app:status'(arg) {
      none(arg, 'app:status');
      return { version: ctx.version, backend: await ctx.engine.backend(), settings: ctx.settings.get() };
    },
    async 'backends:probe'(arg) {
      none(arg, 'backends:probe');
      return ctx.engine.probe();
    },
    async 'settings:set'(arg) {
      const patch = await parseSettingsPatch(arg);
      const next = { ...ctx.settings.get(), ...patch };
      if (patch.backends !== undefined || patch.threads !== undefined)
        await ctx.engine.configure({ backends: next.backends, threads: next.threads });
      return ctx.settings.update(patch);
    },
    ...fileHandlers(ctx),
    ...imageHandlers(ctx),
    ...modelHandlers(ctx),
    ...jobHandlers(ctx),
    ...runHandlers(ctx),
    ...resultHandlers(ctx),
  };
}
