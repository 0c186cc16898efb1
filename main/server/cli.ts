/**
 * `npm run serve`: SR Studio in the browser. Prints exactly one line, the address with the session
 * token (beyond loopback without TLS, also that the traffic is not encrypted and how to encrypt
 * it), and opens it in the default browser unless --no-open. Ctrl-C cancels running jobs (a
 * training run saves its checkpoint) before it exits.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendChoice } from '../../ml/backend-choice.ts';
import { defaultDataDir, findAppRoot } from '../host/host.ts';
import { isLoopback } from './auth.ts';
import { startServer, type StudioServer } from './server.ts';
import { isEntry } from '../is-entry.ts';

const USAGE =
  'Usage: npm run serve -- [--host ADDRESS] [--port N] [--tls-cert FILE --tls-key FILE] [--no-open] [--backend auto|tensorflow|webgpu|onnx|wasm|cpu]';

/** Parses the options; throws a one-line message for a bad one. */
export function parseServeArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'no-open': { type: 'boolean' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a whole number from 0 to 65535, not ${JSON.stringify(values.port)}.`);
  const backend = values.backend;
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}.`);
  const [cert, key] = [values['tls-cert'], values['tls-key']];
  if ((cert === undefined) !== (key === undefined))
    throw new Error('--tls-cert and --tls-key go together: give both files (PEM), or neither.');
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  return {
    host: values.host,
    port,
    tls,
    open: !values['no-open'],
    backend: backend as BackendChoice | undefined,
    help: Boolean(values.help),
  };
}

/** Reads the PEM files; throws one sentence naming the file that cannot be read. */
function readTls(files: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(
        `the TLS ${what} ${JSON.stringify(file)} could not be read (${(e as { code?: string }).code ?? 'error'}); check the path given to --tls-${what}`,
      );
    }
  };
  return { cert: read(files.cert, 'cert'), key: read(files.key, 'key') };
}

/** The one line printed at start. */
export function startupLine(url: string, host: string | undefined, tls: boolean): string {
  const line = `SR Studio is running at ${url}`;
  if (tls || isLoopback(host)) return line;
  return `${line} (not encrypted: anyone on the network between you and this machine can read the token and your photos; for HTTPS, start with --tls-cert FILE --tls-key FILE)`;
}

function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined); // no browser to open: the printed address is enough
    child.unref();
  } catch {
    // as above
  }
}

/** Starts browser mode and keeps it running until SIGINT/SIGTERM. */
export async function serve(argv: string[]): Promise<StudioServer | undefined> {
  let opts;
  try {
    opts = parseServeArgs(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (opts.help) {
    console.log(USAGE);
    return undefined;
  }
  let server: StudioServer;
  try {
    const tls = opts.tls ? readTls(opts.tls) : undefined;
    server = await startServer({
      appRoot: findAppRoot(import.meta.dirname),
      dataDir: defaultDataDir(),
      host: opts.host,
      port: opts.port,
      tls,
      backend: opts.backend,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const tlsBad = typeof code === 'string' && /^ERR_OSSL|^ERR_SSL/.test(code);
    const why =
      code === 'EADDRINUSE'
        ? `port ${opts.port} is already in use; choose another with --port`
        : code === 'EADDRNOTAVAIL'
          ? `${opts.host} is not an address of this machine`
          : tlsBad
            ? 'the --tls-cert and --tls-key files are not a PEM certificate and its private key'
            : (e as Error).message;
    console.error(`SR Studio could not start: ${why}.`);
    process.exitCode = 1;
    return undefined;
  }
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(startupLine(server.url, opts.host, opts.tls !== undefined));
  if (opts.open) openBrowser(server.url);
  return server;
}

if (isEntry(import.meta.filename)) await serve(process.argv.slice(2));
