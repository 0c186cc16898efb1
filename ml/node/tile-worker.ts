/** A tile thread: makes the enlarged tiles it is asked for (enlarge-tile.ts) and sends back their PNG bytes. */
import { parentPort } from 'node:worker_threads';
import { enlargeTile } from './enlarge-tile.ts';
import type { TileReply, TileRequest } from './tile-workers.ts';

const port = parentPort!;
port.on('message', (m: TileRequest) => {
  enlargeTile(m.spec).then(
    (png) => {
      // A copy in an ArrayBuffer of its own, handed over rather than copied again.
      const bytes = new Uint8Array(png);
      port.postMessage({ id: m.id, ok: true, png: bytes } satisfies TileReply, [bytes.buffer]);
    },
    (e: unknown) =>
      port.postMessage({ id: m.id, ok: false, message: String((e as Error)?.message ?? e) } satisfies TileReply),
  );
});
