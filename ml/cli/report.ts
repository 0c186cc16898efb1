/**
 * How the CLI talks: a progress bar on a terminal, plain lines otherwise, JSON lines with --json.
 * Messages go to stderr in human modes so stdout stays clean for piping; JSON goes to stdout.
 */
import type { BackendSelection } from '../backend-choice.ts';

export type ReportMode = 'tty' | 'plain' | 'json';

export interface Reporter {
  readonly mode: ReportMode;
  /** A one-off event. `text` is for people (nothing is printed when it is empty); `data` is what --json prints. */
  event(type: string, text: string, data?: Record<string, unknown>): void;
  /** A progress update; a terminal redraws one line, plain mode prints at most every 10%. */
  progress(label: string, fraction: number, data?: Record<string, unknown>): void;
  error(text: string, data?: Record<string, unknown>): void;
}

export function pickMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ReportMode {
  return json ? 'json' : stream.isTTY ? 'tty' : 'plain';
}

export function createReporter(
  mode: ReportMode,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): Reporter {
  let barShown = false;
  let lastPlain = -1;
  const clearBar = () => {
    if (barShown) {
      err.write('\r\x1b[2K');
      barShown = false;
    }
  };
  return {
    mode,
    event(type, text, data = {}) {
      if (mode === 'json') out.write(JSON.stringify({ type, ...data }) + '\n');
      else if (text) {
        clearBar();
        err.write(text + '\n');
      }
    },
    progress(label, fraction, data = {}) {
      const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
      if (mode === 'json') {
        out.write(JSON.stringify({ type: 'progress', label, fraction: +fraction.toFixed(4), ...data }) + '\n');
      } else if (mode === 'tty') {
        const width = Math.max(10, Math.min(40, (err.columns ?? 80) - label.length - 12));
        const fill = Math.round((pct / 100) * width);
        err.write(`\r\x1b[2K${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${pct}%`);
        barShown = true;
      } else {
        // One line per 10% of the job: a new job (the fraction falls back) starts over.
        const step = Math.floor(pct / 10);
        if (step < lastPlain) lastPlain = -1;
        if (step > lastPlain) {
          lastPlain = step;
          err.write(`${label}: ${pct}%\n`);
        }
      }
    },
    error(text, data = {}) {
      if (mode === 'json') out.write(JSON.stringify({ type: 'error', message: text, ...data }) + '\n');
      else {
        clearBar();
        err.write(`error: ${text}\n`);
      }
    },
  };
}

/** The backend line every command that computes prints first: the backend, its device and why. */
export function reportBackend(report: Reporter, selection: BackendSelection): void {
  report.event('backend', `Backend: ${selection.why}`, {
    backend: selection.name,
    device: selection.device,
    why: selection.why,
  });
}
