/** Handlers for dialogs, files, images and uploads. */
import path from 'node:path';
import { IMAGE_EXTENSIONS, readImageSize } from '../../ml/node/image-io.ts';
import { MIN_SIDE } from '../../ml/node/upscale-file.ts';
import { errors, isUserError } from '../../ml/errors.ts';
import type { FileEntry } from '../api.ts';
import { fileImageData } from '../engine/images.ts';
import type { Handlers, HostContext } from './context.ts';
import { listImages } from './listing.ts';
import { withOpened } from './opened.ts';
import { absPath, existingPath, int, list, none, obj, openFile, str, uploadName } from './validate.ts';
import { wordForApp } from './wording.ts';

const UPLOAD_EXTENSIONS = [...IMAGE_EXTENSIONS, 'safetensors', 'onnx'];

export function fileHandlers(
  ctx: HostContext,
): Pick<
  Handlers,
  | 'dialog:open-images'
  | 'dialog:open-folder'
  | 'files:expand'
  | 'image:thumbnail'
  | 'image:check'
  | 'image:load'
  | 'shell:reveal'
  | 'files:upload'
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
        const found = await listImages(p, `paths[${i}]`, access);
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
          if (size.width < MIN_SIDE || size.height < MIN_SIDE)
            throw errors.imageTooSmall(f.use, size.width, size.height, MIN_SIDE);
          return size;
        });
      } catch (e) {
        // Said here in the app's words, with the name the file was dropped with (the router would too).
        if (isUserError(e)) e.message = wordForApp(e.data, ctx.files.displayName);
        throw e;
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
      if (!ctx.uploads)
        throw errors.badArgument('Uploads are only used in browser mode; open the file by its path instead.');
      const name = uploadName(o.name, 'name');
      const ext = path.extname(name).slice(1).toLowerCase();
      if (!UPLOAD_EXTENSIONS.includes(ext))
        throw errors.badArgument(
          `${JSON.stringify(name)} is neither an image (JPEG, PNG, WebP, TIFF, AVIF, GIF) nor a model (.safetensors or .onnx).`,
        );
      const bytes = int(o.bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER);
      if (bytes === 0) throw errors.emptyFile(name);
      return ctx.uploads.begin(name, bytes);
    },
  };
}
