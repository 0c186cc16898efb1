/** Handlers for the viewer's tile pyramids (ml/node/tiles.ts): a source's levels, and its tiles as PNG. */
import { errors } from '../../ml/errors.ts';
import { ENLARGE_FILTERS, type TileSource } from '../../ml/node/tiles.ts';
import { IMAGE_EXTENSIONS } from '../../ml/node/image-io.ts';
import type { Handlers, HostContext, RequestAccess } from './context.ts';
import { withOpened, type Opened } from './opened.ts';
import { int, isObj, obj, oneOf, openFile } from './validate.ts';

/** Enlargements are at most this many pixels a side (the largest output the engine writes is smaller). */
export const MAX_VIEW_SIDE = 1 << 20;
const MAX_TILE_INDEX = 1 << 20;

/** The source as the tile cache takes it: read through the file opened once, named as the request named it. */
function source(file: Opened, o: Record<string, unknown>): TileSource {
  if (o.enlarge === undefined || o.enlarge === null) return { path: file.given, read: file.use };
  if (!isObj(o.enlarge)) throw errors.badArgument('enlarge must be an object with width, height and filter.');
  const g = obj(o.enlarge, 'enlarge', ['width', 'height', 'filter']);
  return {
    path: file.given,
    read: file.use,
    enlarge: {
      width: int(g.width, 'enlarge.width', 1, MAX_VIEW_SIDE),
      height: int(g.height, 'enlarge.height', 1, MAX_VIEW_SIDE),
      filter: oneOf(g.filter, 'enlarge.filter', ENLARGE_FILTERS),
    },
  };
}

/**
 * The tile cache decodes through the open file (it keeps each pyramid by the file's device, inode,
 * size and time, not by a name), so the file stays open while the request is answered.
 */
const open = (o: Record<string, unknown>, access: RequestAccess | undefined) =>
  openFile(o.path, 'path', IMAGE_EXTENSIONS, { access });

export function imageHandlers(ctx: HostContext): Pick<Handlers, 'image:info' | 'image:tile'> {
  return {
    async 'image:info'(arg, access) {
      const o = obj(arg, 'image:info', ['path', 'enlarge']);
      return withOpened(open(o, access), (f) => ctx.tiles.info(source(f, o)));
    },
    async 'image:tile'(arg, access) {
      const o = obj(arg, 'image:tile', ['path', 'enlarge', 'level', 'col', 'row']);
      const level = int(o.level, 'level', 0, 64);
      const col = int(o.col, 'col', 0, MAX_TILE_INDEX);
      const row = int(o.row, 'row', 0, MAX_TILE_INDEX);
      const png = await withOpened(open(o, access), (f) => ctx.tiles.tile(source(f, o), level, col, row));
      // The tile's size is in its PNG header (IHDR: width and height at bytes 16–23).
      return {
        dataUrl: `data:image/png;base64,${png.toString('base64')}`,
        width: png.readUInt32BE(16),
        height: png.readUInt32BE(20),
      };
    },
  };
}
