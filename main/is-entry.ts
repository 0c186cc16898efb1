import { realpathSync } from 'node:fs';

/** True when `file` (a module's import.meta.filename) is the script node was started with. */
export function isEntry(file: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(file);
  } catch {
    return false;
  }
}
