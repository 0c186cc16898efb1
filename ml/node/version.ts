import { createRequire } from 'node:module';

/** SR Studio's version, from package.json. */
export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
