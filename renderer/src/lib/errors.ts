import { errorData } from '../api/request-error.ts';

/**
 * One plain sentence from a failed request. Electron wraps handler errors as
 * "Error invoking remote method 'channel': Error: message"; the wrapping is dropped.
 */
export function plainError(e: unknown): string {
  let text = e instanceof Error ? e.message : typeof e === 'string' ? e : 'Something went wrong.';
  text = text.replace(/^Error invoking remote method '[^']*':\s*/, '');
  text = text.replace(/^(?:[A-Za-z]*Error|Error):\s*/, '');
  text = text.trim();
  if (!text) return 'Something went wrong.';
  const first = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/**
 * The control a failed request or a job's error (job:error, job:file-error) is about, as the check
 * that refused it named it (its label, such as "Output folder"), from the error's facts; undefined
 * when the error names none.
 */
export function fieldOf(e: unknown): string | undefined {
  const facts = errorData(e)?.facts as { field?: unknown } | undefined;
  return typeof facts?.field === 'string' ? facts.field : undefined;
}

/** The label of the Upscale view's output folder field, as the host's checks name it. */
export const OUTPUT_FOLDER = 'Output folder';
