/** What a listed training run recorded, read from inside the app's runs folder only. */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import { runPoints } from '../../ml/node/runs.ts';
import type { Handlers, HostContext } from './context.ts';
import { realPath } from './opened.ts';
import { obj, openDir } from './validate.ts';

/** Read-only, never following a symlink put in the file's place, never blocking on a FIFO. */
const FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export function runHandlers(ctx: HostContext): Pick<Handlers, 'runs:metrics'> {
  return {
    async 'runs:metrics'(arg, access) {
      const o = obj(arg, 'runs:metrics', ['dir']);
      const notARun = () =>
        errors.badArgument(`${JSON.stringify(o.dir)} is not one of the training runs listed in the Train view.`);
      const runs = (await realPath(ctx.runsDir)) ?? ctx.runsDir;
      const dir = await openDir(o.dir, 'Run folder', { access, within: runs, refusal: notARun, missing: notARun });
      try {
        const h = await fs.open(path.join(dir.use, 'metrics.jsonl'), FLAGS).catch((e: { code?: string }) => {
          if (e.code === 'ENOENT') return null; // nothing recorded yet
          throw notARun();
        });
        if (!h) return [];
        try {
          if (!(await h.stat()).isFile()) throw notARun();
          return runPoints(await h.readFile('utf8'));
        } finally {
          await h.close();
        }
      } finally {
        await dir.close();
      }
    },
  };
}
