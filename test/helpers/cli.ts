/** Running the real CLI in a child process, and the checks every CLI test makes of its output. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve(import.meta.dirname, '../../bin/sr-studio.mjs');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  /** The user's model folder for this run (a fresh one per test file keeps real models out). */
  readonly modelsDir: string;
  /** Sees stderr as it arrives, with the child (to signal it). */
  readonly onStderr?: ((all: string, child: ReturnType<typeof spawn>) => void) | undefined;
  /** Extra environment (undefined removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Options for node itself, before the CLI's path (e.g. --import a fixture). */
  readonly nodeArgs?: readonly string[] | undefined;
}

/** Runs `sr-studio ARGS` to completion. */
export function runCli(args: string[], opts: CliOptions): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, SR_STUDIO_MODELS: opts.modelsDir };
  delete env.SR_STUDIO_DEBUG; // it adds stack traces, which these tests check never appear
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const show = (r: Run) => `exit ${r.code ?? r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
export const errorLines = (r: Run) => r.stderr.split('\n').filter((l) => l.startsWith('error:'));

/** Text that Dawn (the webgpu package's native library) prints: it must never reach the user. */
export const DAWN_TEXT =
  /Couldn't load Vulkan|BackendVk|artificially reduced|third_party\/dawn|^Warning: |^\s+at operator\(\)|Found no drivers|validation:/m;

export function assertNoDawnText(r: Run): void {
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, DAWN_TEXT, `Dawn's native output reached the user:\n${show(r)}`);
}

export function assertNoStack(r: Run): void {
  for (const l of `${r.stdout}\n${r.stderr}`.split('\n')) {
    assert.doesNotMatch(l, /^\s+at /, `stack trace line:\n${show(r)}`);
    assert.doesNotMatch(l, /\b[A-Z]\w*Error\b|\bError:/, `error class dump:\n${show(r)}`);
  }
}

/**
 * Exits non-zero (or with `code`) with exactly one `error:` line that names `what` (a string it
 * contains, or a pattern it matches), and no stack trace or error class dump.
 */
export function assertOneError(r: Run, what: string | RegExp, code?: number): string {
  if (code !== undefined) assert.equal(r.code, code, show(r));
  else assert.ok(r.code !== 0 && r.code !== null, show(r));
  const errs = errorLines(r);
  assert.equal(errs.length, 1, `expected exactly one error line:\n${show(r)}`);
  if (typeof what === 'string') assert.ok(errs[0]!.includes(what), `the error should name ${what}:\n${show(r)}`);
  else assert.match(errs[0]!, what, show(r));
  assert.doesNotMatch(errs[0]!, /internal error/, show(r));
  assertNoStack(r);
  return errs[0]!;
}

/** The --json records on stdout. */
export function jsonLines(r: Run): Array<{ type: string; [k: string]: unknown }> {
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { type: string; [k: string]: unknown };
      } catch {
        return assert.fail(`not a JSON line: ${JSON.stringify(l)}\n${show(r)}`);
      }
    });
}
