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
