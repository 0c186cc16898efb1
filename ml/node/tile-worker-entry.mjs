// Entry of a tile thread (tile-workers.ts): registers tsx, then runs tile-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./tile-worker.ts');
