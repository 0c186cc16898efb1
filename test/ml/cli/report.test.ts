/** The CLI's reporter: a progress bar on a terminal that an error or an event never lands behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createReporter } from '../../../ml/cli/report.ts';

function sink(): Writable & { text: string; columns: number; isTTY: boolean } {
  const w = new Writable({
    write(chunk, _enc, done) {
      w.text += String(chunk);
      done();
    },
  }) as Writable & { text: string; columns: number; isTTY: boolean };
  w.text = '';
  w.columns = 80;
  w.isTTY = true;
  return w;
}

/** What a terminal shows: \r returns to the line's start and ESC[2K clears it. */
function screen(raw: string): string[] {
  const lines = [''];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC[2K is what is looked for
  for (const part of raw.split(/(\r|\n|\x1b\[2K)/)) {
    if (part === '\n') lines.push('');
    else if (part === '\r' || part === '\x1b[2K') lines[lines.length - 1] = '';
    else lines[lines.length - 1] += part;
  }
  return lines;
}

test('on a terminal, an error after a progress bar starts on its own line and the bar is gone', async () => {
  const out = sink();
  const err = sink();
  const r = createReporter('tty', out, err as unknown as NodeJS.WriteStream);
  r.progress('[1/2] photo.jpg', 0.4);
  r.error('Cannot write to "/x" (permission denied).');
  r.progress('[2/2] other.jpg', 0.5);
  r.event('done', '2 upscaled.');
  const shown = screen(err.text);
  assert.deepEqual(shown, ['error: Cannot write to "/x" (permission denied).', '2 upscaled.', '']);
  assert.equal(out.text, '', 'nothing on stdout in human modes');
});

test('in plain mode, progress is a line per 10% and errors are lines of their own', () => {
  const out = sink();
  const err = sink();
  err.isTTY = false;
  const r = createReporter('plain', out, err as unknown as NodeJS.WriteStream);
  for (let i = 0; i <= 10; i++) r.progress('job', i / 20);
  r.error('bad.png could not be read.');
  assert.deepEqual(err.text.split('\n'), [
    'job: 0%',
    'job: 10%',
    'job: 20%',
    'job: 30%',
    'job: 40%',
    'job: 50%',
    'error: bad.png could not be read.',
    '',
  ]);
});
