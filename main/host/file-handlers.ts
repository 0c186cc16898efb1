/** Handlers for dialogs, files, images and uploads. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { collectImages } from '../../ml/node/files.ts';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import { errors } from '../../ml/errors.ts';
import type { FileEntry } from '../api.ts';
import { fileImageData } from '../engine/images.ts';
import type { Handlers, HostContext } from './context.ts';
import { absPath, existingFile, existingPath, int, list, none, obj, str, uploadName } from './validate.ts';

const UPLOAD_EXTENSIONS = [...IMAGE_EXTENSIONS, 'safetensors'];

async function entry(p: string): Promise<FileEntry> {
  const st = await fs.stat(p);
  return { path: p, name: path.basename(p), bytes: st.size };
}

export function fileHandlers(ctx: HostContext): Pick<
  Handlers,
  'dialog:open-images' | 'dialog:open-folder' | 'files:expand' | 'image:thumbnail' | 'image:load' | 'shell:reveal' | 'files:upload'
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
    async 'files:expand'(arg) {
      const o = obj(arg, 'files:expand', ['paths']);
      const paths = list(o.paths, 'paths', 0, 10_000).map((p, i) => absPath(p, `paths[${i}]`));
      const { files, problems } = await collectImages(paths);
      const entries: FileEntry[] = [];
      const more: string[] = [];
      for (const f of files) {
        try {
          entries.push(await entry(f.path));
        } catch {
          more.push(`${JSON.stringify(f.path)} disappeared while it was being listed.`);
        }
      }
      return { files: entries, problems: [...problems.map((p) => p.message), ...more] };
    },
    async 'image:thumbnail'(arg) {
      const o = obj(arg, 'image:thumbnail', ['path', 'maxSide']);
      const p = await existingFile(o.path, 'path', IMAGE_EXTENSIONS);
      return fileImageData(p, int(o.maxSide, 'maxSide', 16, 4096));
    },
    async 'image:load'(arg) {
      const o = obj(arg, 'image:load', ['path']);
      return fileImageData(await existingFile(o.path, 'path', IMAGE_EXTENSIONS));
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
