/**
 * Browser mode as users start it (`main/server/cli.ts` in its own process group, with fresh data,
 * models and cache folders), for the tests that attack it or measure it from outside and for the
 * end-to-end tests: whether it is still running, what it logged, its memory (from /proc), and a
 * clean stop.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const URL_LINE = /^SR Studio is running at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+))$/m;

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly pid: number;
  readonly dir: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Its exit code once it has exited, else null. */
  exited(): number | string | null;
  /** Resident and peak resident memory in bytes (VmRSS, VmHWM); Linux only. */
  memory(): Promise<{ rss: number; peak: number }>;
  /** Ends it (its whole process group); its folder goes too unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/**
 * `env`: more environment variables (TMPDIR for a temp folder of the test's own); `dir`: the
 * folder of its data, models and cache (default: a fresh temp folder).
 */
export async function startServerProcess(
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
  opts: { dir?: string } = {},
): Promise<ServerProcess> {
  const dir = opts.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'sr-studio-server-')));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'main/server/cli.ts', '--port', '0', '--no-open', ...args],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        SR_STUDIO_DATA: path.join(dir, 'data'),
        SR_STUDIO_MODELS: path.join(dir, 'models'),
        SR_STUDIO_CACHE: path.join(dir, 'cache'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  let exit: number | string | null = null;
  const closed = new Promise<void>((r) =>
    child.once('close', (code, signal) => ((exit = code ?? signal ?? 'gone'), r())),
  );
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async ({ keep = false }: { keep?: boolean } = {}) => {
    if (exit === null) {
      kill('SIGTERM');
      // unref: a server that stops at once does not keep the test waiting for the timer.
      const late = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((r) => setTimeout(r, 15_000, true).unref()),
      ]);
      if (late) kill('SIGKILL');
      await closed;
    }
    process.off('exit', onExit);
    if (!keep) await fs.rm(dir, { recursive: true, force: true });
  };
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`browser mode printed no address within 90 s:\n${out}`)), 90_000);
    child.stdout!.on('data', () => {
      const hit = URL_LINE.exec(out);
      if (hit) clearTimeout(timer), resolve(hit);
    });
    void closed.then(
      () => (
        clearTimeout(timer), reject(new Error(`browser mode exited (${exit}) before printing its address:\n${out}`))
      ),
    );
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  const memory = async () => {
    const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  };
  return {
    url: m[1]!,
    port: Number(m[2]),
    token: m[3]!,
    pid: child.pid!,
    dir,
    output: () => out,
    exited: () => exit,
    memory,
    stop,
  };
}
