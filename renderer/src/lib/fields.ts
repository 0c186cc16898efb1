/**
 * Reading number fields as people type them. A field may hold text (a text field), a number or
 * null (Svelte's binding of a number field gives null when it is emptied), so each reader takes
 * any of those and says in one sentence what is wrong.
 */

/** What the field holds, as trimmed text ('' when empty). */
export function fieldText(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return typeof v === 'string' ? v.trim() : '';
}

/** A number read from a field, or the sentence that says why it cannot be used. */
export type FieldNumber =
  | { readonly value: number; readonly error: null }
  | { readonly value: null; readonly error: string };

/**
 * A whole number from `lo` to `hi` as the command line reads one (so "1e3" is 1000), or the
 * sentence that says what is wrong with it; `what` names the field ("Iterations").
 */
export function wholeNumber(v: unknown, what: string, lo: number, hi: number): FieldNumber {
  const text = fieldText(v);
  const range = `a whole number from ${lo.toLocaleString('en-US')} to ${hi.toLocaleString('en-US')}`;
  const bad = (error: string): FieldNumber => ({ value: null, error });
  if (text === '') return bad(`${what}: type ${range}.`);
  const n = Number(text);
  if (!Number.isFinite(n)) return bad(`${what} must be a number, not "${text}".`);
  if (!Number.isInteger(n)) return bad(`${what} must be a whole number, not ${text}.`);
  if (n < lo) return bad(`${what} must be at least ${lo.toLocaleString('en-US')}, not ${text}.`);
  if (n > hi) return bad(`${what} can be at most ${hi.toLocaleString('en-US')}, not ${text}.`);
  return { value: n, error: null };
}

/**
 * A number from `lo` to `hi` as the command line reads one ("0.1", "1e-2"), or the sentence that
 * says what is wrong with it; `what` names the field ("Adversarial weight").
 */
export function decimalNumber(v: unknown, what: string, lo: number, hi: number): FieldNumber {
  const text = fieldText(v);
  const bad = (error: string): FieldNumber => ({ value: null, error });
  if (text === '') return bad(`${what}: type a number from ${lo} to ${hi}.`);
  const n = Number(text);
  if (!Number.isFinite(n)) return bad(`${what} must be a number, not "${text}".`);
  if (n < lo) return bad(`${what} must be at least ${lo}, not ${text}.`);
  if (n > hi) return bad(`${what} can be at most ${hi}, not ${text}.`);
  return { value: n, error: null };
}
