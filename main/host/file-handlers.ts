/** Handlers for dialogs, files, images and uploads. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { collectImages } from '../../ml/node/files.ts';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import { errors } from '../../ml/errors.ts';
import type { FileEntry } from '../api.ts';
import { fileImageData } from '../engine/images.ts';
import type { Handlers, HostContext } from './context.ts';
import { absPath, existingFile, existingPath, fileName, int, list, none, obj, str } from './validate.ts';

/** Uploads larger than this are refused (the bytes travel base64-encoded in one message). */
export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;
const UPLOAD_EXTENSIONS = [...IMAGE_EXTENSIONS, 'safetensors'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

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
      const o = obj(arg, 'files:upload', ['name', 'base64']);
      if (!ctx.inbox) throw errors.badArgument('Uploads are only used in browser mode; open the file by its path instead.');
      const name = fileName(o.name, 'name');
      const ext = path.extname(name).slice(1).toLowerCase();
      if (!UPLOAD_EXTENSIONS.includes(ext)) throw errors.badArgument(`${JSON.stringify(name)} is neither an image (JPEG, PNG, WebP, TIFF, AVIF, GIF) nor a .safetensors model.`);
      const b64 = str(o.base64, 'base64', { min: 0, max: Math.ceil(MAX_UPLOAD_BYTES / 3) * 4 });
      if (!BASE64.test(b64)) throw errors.badArgument('base64 is not valid base64 data.');
      const bytes = Buffer.from(b64, 'base64');
      if (!bytes.length) throw errors.emptyFile(name);
      const dest = await saveUnique(ctx.inbox, name, bytes);
      // Messages about the file name it as the user dropped it, not by its place in the inbox.
      ctx.files.add(dest, name);
      return entry(dest);
    },
  };
}

/** Writes into `dir` as `name`, or `name (2)`, `name (3)`… when taken; never replaces a file. */
async function saveUnique(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let k = 1; k < 10_000; k++) {
    const dest = path.join(dir, k === 1 ? name : `${stem} (${k})${ext}`);
    try {
      await fs.writeFile(dest, bytes, { flag: 'wx' });
      return dest;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
  throw errors.badArgument(`Too many uploads are named ${JSON.stringify(name)}; rename the file first.`);
}
