/**
 * The `sr-studio` command line: dispatch, help, version and exit codes. Subcommands are loaded only
 * when run, so `--help` and `--version` work even where a dependency (sharp, ONNX Runtime, the
 * generated gradient file) fails to load, and such a failure is one sentence, never a stack.
 *
 * Exit codes, the same for every command: 0 done, 1 a user error (bad file, folder, model, disk
 * full, failed backend), 2 bad usage (unknown command or option, bad value), 130 cancelled (Ctrl-C),
 * 70 an internal error (a bug).
 */
import { parseArgs } from 'node:util';
import { errors, firstLine, isUserError, word, type ErrorCode, type UserError } from '../errors.ts';
import { wordForCli } from '../wording.ts';
import { VERSION } from '../node/version.ts';
import type { Command } from './options.ts';
import { createReporter, pickMode } from './report.ts';
import { COMMAND_USAGE, USAGE } from './usage.ts';

type Name = keyof typeof COMMAND_USAGE;

const LOADERS: Record<Name, () => Promise<Command>> = {
  upscale: async () => (await import('./upscale.ts')).upscaleCommand,
  train: async () => (await import('./train.ts')).trainCommand,
  compare: async () => (await import('./compare.ts')).compareCommand,
  info: async () => (await import('./info.ts')).infoCommand,
  'new-model': async () => (await import('./models.ts')).newModelCommand,
  export: async () => (await import('./export.ts')).exportCommand,
  models: async () => (await import('./imported.ts')).modelsCommand,
};

const isName = (n: string): n is Name => Object.hasOwn(COMMAND_USAGE, n);

export const EXIT = { ok: 0, userError: 1, usage: 2, internal: 70, cancelled: 130 } as const;

/** Errors that a different command line fixes (exit 2, as for a mistyped flag). */
const USAGE_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad-argument',
  'unknown-backend',
  'run-mismatch',
  'run-busy',
  'scale-mismatch',
  'overlap-too-large',
  'init-per-activation',
  'run-records-no-data',
  'no-training-folder',
]);

export function exitCodeFor(e: UserError): number {
  if (e.code === 'cancelled') return EXIT.cancelled;
  return USAGE_ERRORS.has(e.code) ? EXIT.usage : EXIT.userError;
}

/** A module that failed to load, in one sentence with what to do. */
export function loadFailure(e: unknown): string {
  const first = firstLine(e) || 'unknown error';
  if (/sharp/i.test(String((e as Error)?.message)) || /libvips/i.test(first)) {
    return `SR Studio could not load sharp, which reads and writes images (${first}); run "npm install" (or "npm rebuild sharp") in SR Studio's folder.`;
  }
  return `SR Studio could not load one of its parts (${first}); run "npm install" in SR Studio's folder.`;
}

/**
 * `--seed -1` as `--seed=-1`: a value that starts with a dash but reads as a number is a value
 * (node's parseArgs would call it ambiguous), so the range check can name what is wrong with it.
 */
export function joinNegativeValues(args: readonly string[], options: Command['options']): string[] {
  const takesValue = (a: string) => {
    const long = /^--([^=]+)$/.exec(a)?.[1];
    const short = /^-([A-Za-z])$/.exec(a)?.[1];
    const name = long ?? Object.entries(options).find(([, o]) => o.short === short)?.[0];
    return name !== undefined && options[name]?.type === 'string';
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (next !== undefined && takesValue(a) && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(
        `${a.startsWith('--') ? a : `--${Object.entries(options).find(([, o]) => o.short === a[1])![0]}`}=${next}`,
      );
      i++;
    } else out.push(a);
  }
  return out;
}

/** Runs the CLI; returns the exit code. Users see one sentence per problem, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`sr-studio ${VERSION}\n`);
    return EXIT.ok;
  }
  if (!name) {
    process.stderr.write(USAGE + '\n');
    return EXIT.usage;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    process.stdout.write((topic && isName(topic) ? COMMAND_USAGE[topic] : USAGE) + '\n');
    return EXIT.ok;
  }
  const report = createReporter(pickMode(rest.includes('--json')));
  try {
    if (!isName(name))
      throw errors.badArgument(`Unknown command "${name}"; run "sr-studio --help" to see the commands.`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(COMMAND_USAGE[name] + '\n');
      return EXIT.ok;
    }
    let cmd: Command;
    try {
      cmd = await LOADERS[name]();
    } catch (e) {
      report.error(loadFailure(e));
      if (process.env.SR_STUDIO_DEBUG) console.error(e);
      return EXIT.userError;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: joinNegativeValues(rest, cmd.options),
        options: { ...cmd.options, json: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw errors.badArgument(
        `${(e as Error).message.replace(/\.$/, '')}; run "sr-studio ${name} --help" for its options.`,
      );
    }
    return await cmd.run(parsed.values as Record<string, unknown>, parsed.positionals, report);
  } catch (e) {
    if (isUserError(e)) {
      report.error(word(wordForCli, e.data), { code: e.code, ...(e.file ? { file: e.file } : {}) });
      return exitCodeFor(e);
    }
    report.error(
      `internal error: ${(e as Error)?.message ?? String(e)} (set SR_STUDIO_DEBUG=1 for details and please report it)`,
    );
    if (process.env.SR_STUDIO_DEBUG) console.error(e);
    return EXIT.internal;
  }
}
