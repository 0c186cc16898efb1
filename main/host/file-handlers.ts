/** Handlers for dialogs, files, images and uploads. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { collectImages } from '../../ml/node/files.ts';
import { IMAGE_EXTENSIONS, readImageSize } from '../../ml/node/image-io.ts';
import { MIN_SIDE } from '../../ml/node/upscale-file.ts';
import { errors, isUserError, UserError } from '../../ml/errors.ts';
import type { FileEntry } from '../api.ts';
import { fileImageData } from '../engine/images.ts';
import type { Handlers, HostContext, RequestAccess } from './context.ts';
import { asGiven, realPath, withOpened, type Opened } from './opened.ts';
import { absPath, existingPath, int, list, none, obj, openFile, openPath, str, uploadName } from './validate.ts';
import { wordForApp } from './wording.ts';

const UPLOAD_EXTENSIONS = [...IMAGE_EXTENSIONS, 'safetensors'];

/**
 * The images a file or folder holds, listed through the folder opened once (opened.ts) and named
 * as the request named it. In browser mode a file whose real path has left the session's folders
 * by the time it is listed (a sub-folder swapped for a symlink) is left out.
 */
async function expand(p: string, field: string, access: RequestAccess | undefined): Promise<{ files: FileEntry[]; problems: string[] }> {
  let top: Opened;
  try {
    top = await openPath(p, field, { access, missing: () => errors.missingPath(p) });
  } catch (e) {
    if (isUserError(e) && e.code === 'missing-path') return { files: [], problems: [e.message] };
    throw e;
  }
  try {
    const { files, problems } = await collectImages([top.use]);
    const entries: FileEntry[] = [];
    const more: string[] = [];
    for (const f of files) {
      const named = top.given + f.path.slice(top.use.length);
      const real = access ? await realPath(f.path) : named;
      if (real === null || (access && !access.admits(real, 'read'))) continue;
      try {
        entries.push({ path: named, name: path.basename(named), bytes: (await fs.stat(f.path)).size });
      } catch {
        more.push(`${JSON.stringify(named)} disappeared while it was being listed.`);
      }
    }
    return { files: entries, problems: [...problems.map((e) => (asGiven(e, [top]) as Error).message), ...more] };
  } finally {
    await top.close();
  }
}

export function fileHandlers(ctx: HostContext): Pick<
  Handlers,
  'dialog:open-images' | 'dialog:open-folder' | 'files:expand' | 'image:thumbnail' | 'image:check' | 'image:load' | 'shell:reveal' | 'files:upload'
> {
  return {
    async 'dialog:open-images'(arg) {
      none(arg, 'dialog:open-images');
      return ctx.dialogs.openImages();
    },
    async 'dialog:open-folder'(arg) {
      const o = obj(arg, 'dialog:open-folder', ['title']);
      return ctx.dialogs.openFolder(str(o.title, 'title', { max: 200 }));
    },
    async 'files:expand'(arg, access) {
      const o = obj(arg, 'files:expand', ['paths']);
      const paths = list(o.paths, 'paths', 0, 10_000).map((p, i) => absPath(p, `paths[${i}]`));
      const entries = new Map<string, FileEntry>();
      const problems: string[] = [];
      for (const [i, p] of paths.entries()) {
        const found = await expand(p, `paths[${i}]`, access);
        for (const f of found.files) if (!entries.has(f.path)) entries.set(f.path, f);
        problems.push(...found.problems);
      }
      return { files: [...entries.values()], problems };
    },
    async 'image:thumbnail'(arg, access) {
      const o = obj(arg, 'image:thumbnail', ['path', 'maxSide']);
      const maxSide = int(o.maxSide, 'maxSide', 16, 4096);
      return withOpened(openFile(o.path, 'path', IMAGE_EXTENSIONS, { access }), (f) => fileImageData(f.use, maxSide));
    },
    async 'image:check'(arg, access) {
      const o = obj(arg, 'image:check', ['path']);
      // The engine's own checks, said when a file is added rather than when its batch runs.
      try {
        return await withOpened(openFile(o.path, 'Image', IMAGE_EXTENSIONS, { access }), async (f) => {
          const size = await readImageSize(f.use);
          if (size.width < MIN_SIDE || size.height < MIN_SIDE) throw errors.imageTooSmall(f.use, size.width, size.height, MIN_SIDE);
          return size;
        });
      } catch (e) {
        throw isUserError(e) ? new UserError(e.code, wordForApp(e, ctx.files.displayName), e.file, e.facts) : e;
      }
    },
    async 'image:load'(arg, access) {
      const o = obj(arg, 'image:load', ['path']);
      return withOpened(openFile(o.path, 'path', IMAGE_EXTENSIONS, { access }), (f) => fileImageData(f.use));
    },
    async 'shell:reveal'(arg) {
      const o = obj(arg, 'shell:reveal', ['path']);
      await ctx.shell.reveal(await existingPath(o.path, 'path'));
    },
    async 'files:upload'(arg) {
      const o = obj(arg, 'files:upload', ['name', 'bytes']);
      if (!ctx.uploads) throw errors.badArgument('Uploads are only used in browser mode; open the file by its path instead.');
      const name = uploadName(o.name, 'name');
      const ext = path.extname(name).slice(1).toLowerCase();
      if (!UPLOAD_EXTENSIONS.includes(ext)) throw errors.badArgument(`${JSON.stringify(name)} is neither an image (JPEG, PNG, WebP, TIFF, AVIF, GIF) nor a .safetensors model.`);
      const bytes = int(o.bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER);
      if (bytes === 0) throw errors.emptyFile(name);
      return ctx.uploads.begin(name, bytes);
    },
  };
}
