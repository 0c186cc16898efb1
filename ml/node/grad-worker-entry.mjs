// Entry of a data-parallel training helper thread: registers tsx, then runs grad-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./grad-worker.ts');
