// The engine worker's entry: registers tsx (TypeScript without a build step), then runs worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
