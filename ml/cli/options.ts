/** What every subcommand is, and the option parsers they share (kept apart from main.ts, which loads them). */
import type { ParseArgsConfig } from 'node:util';
import { errors } from '../errors.ts';
import type { Reporter } from './report.ts';

export interface Command {
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Runs with the parsed options; returns the exit code. `report` is the process's one reporter. */
  run(values: Record<string, unknown>, positionals: string[], report: Reporter): Promise<number>;
}

/** Parses an integer option within bounds, or throws a bad-argument error naming it. */
export function intOption(values: Record<string, unknown>, name: string, lo: number, hi: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw errors.badArgument(`--${name} must be a whole number from ${lo} to ${hi}, not "${String(v)}".`);
  }
  return n;
}

export function choiceOption<T extends string>(
  values: Record<string, unknown>,
  name: string,
  choices: readonly T[],
): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw errors.badArgument(`--${name} must be one of ${choices.join(', ')}, not "${String(v)}".`);
  }
  return v as T;
}

/** For commands that take no plain arguments. */
export function noPositionals(command: string, positionals: readonly string[], hint = ''): void {
  if (positionals.length)
    throw errors.badArgument(`${command} takes no plain arguments ("${positionals[0]}")${hint ? `; ${hint}` : ''}.`);
}
