/**
 * A failed request as the renderer sees it: an Error whose message is the sentence to show, with
 * the code and facts of an error a user can cause beside it, so that the UI places an error (at
 * the field it is about) by what it is, never by its words.
 */
import type { ErrorData, RequestFailure } from './types.ts';

export class RequestError extends Error {
  constructor(
    message: string,
    readonly data: ErrorData | undefined,
  ) {
    super(message);
  }
}

const isFailure = (v: unknown): v is RequestFailure =>
  typeof v === 'object' && v !== null && !(v instanceof Error) && typeof (v as { error?: unknown }).error === 'string';

/** A RequestFailure (as the server sends it, as it crosses from Electron's preload) made an Error; anything else as it is. */
export function requestError(f: unknown): unknown {
  if (!isFailure(f)) return f;
  return new RequestError(
    f.error,
    f.code !== undefined && f.facts !== undefined ? ({ code: f.code, facts: f.facts } as ErrorData) : undefined,
  );
}

/** The code and facts of a failed request or a job's error event, if it was an error a user can cause. */
export function errorData(e: unknown): ErrorData | undefined {
  if (e instanceof RequestError) return e.data;
  const o = e as Partial<ErrorData> | null | undefined;
  return typeof o?.code === 'string' && typeof o.facts === 'object' && o.facts !== null ? (o as ErrorData) : undefined;
}
