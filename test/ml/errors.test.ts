/**
 * Errors as data: the engine raises a code and its facts, and the command line words every code
 * in one sentence that names the file and what to do (ml/wording.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { wordForCli } from '../../ml/wording.ts';
import {
  ERROR_CODES,
  errors,
  fsError,
  isUserError,
  type UserError,
  withPaths,
  word,
  type ErrorData,
} from '../../ml/errors.ts';
import { pathOf, SAMPLE_FACTS } from '../helpers/error-facts.ts';

const q = JSON.stringify;

describe('the command line words every error code', () => {
  for (const code of ERROR_CODES) {
    test(code, () => {
      assert.equal(typeof wordForCli[code], 'function', `${code} has no command-line wording`);
      const samples = SAMPLE_FACTS[code];
      assert.ok(samples.length > 0, `${code} has no sample facts`);
      for (const facts of samples) {
        const sentence = word(wordForCli, { code, facts } as ErrorData);
        assert.match(sentence, /^\S.*[.)]$/s, `${code}: one sentence, ending as one`);
        assert.doesNotMatch(sentence, /\n|undefined|NaN|\[object/, `${code}: ${sentence}`);
        const p = pathOf(facts);
        if (p !== undefined && code !== 'init-mismatch')
          assert.ok(sentence.includes(p), `${code} names ${p}: ${sentence}`);
      }
    });
  }

  test('the table words exactly the codes there are', () => {
    assert.deepEqual(Object.keys(wordForCli).sort(), [...ERROR_CODES].sort());
    assert.deepEqual(Object.keys(SAMPLE_FACTS).sort(), [...ERROR_CODES].sort());
  });
});

describe('UserError', () => {
  test('carries its code and facts; its message is the command line sentence', () => {
    const e = errors.outputExists('/out/a_x2.png');
    assert.ok(isUserError(e));
    assert.deepEqual(e.data, { code: 'output-exists', facts: { file: '/out/a_x2.png' } });
    assert.equal(e.file, '/out/a_x2.png');
    assert.equal(
      e.message,
      '"/out/a_x2.png" already exists; pass --overwrite to replace it or choose another output folder with -o.',
    );
  });

  test('the flags a sentence names are the command line own: engine checks raise facts, not flags', () => {
    const e = errors.scaleMismatch('/m/x4.onnx', 4, 2);
    assert.deepEqual(e.data, { code: 'scale-mismatch', facts: { file: '/m/x4.onnx', modelScale: 4, scale: 2 } });
    assert.match(e.message, /leave out --scale/);
    const o = errors.overlapTooLarge('/m/fixed.onnx', 64, 64, 40, 28);
    assert.deepEqual(o.facts, { file: '/m/fixed.onnx', width: 64, height: 64, overlap: 40, max: 28 });
    assert.match(o.message, /use --overlap 28 or less\.$/);
  });

  test('codes worded two ways tell them apart by their facts', () => {
    assert.match(errors.runNotStarted('/r').message, /holds no training yet .*instead of --resume\.$/);
    assert.match(
      errors.notARun('/r', 'it has no config.json').message,
      /is not a training run folder \(it has no config\.json\)/,
    );
    assert.equal(errors.runNotStarted('/r').code, errors.notARun('/r', 'x').code);
    assert.match(
      errors.allImagesTooSmall('/d', 96, { width: 60, height: 40 }).message,
      /^Every image in "\/d" is smaller than the 96×96 pixels/,
    );
    assert.match(errors.imageTooSmall('/d/a.png', 8, 6, 16).message, /^"\/d\/a\.png" is only 8×6 pixels/);
  });

  test('withPaths shows each path fact by another name, and the sentence follows', () => {
    const e = withPaths(errors.unwritableOutput('/proc/self/fd/12/a.png', 'permission denied'), (p) =>
      p.replace('/proc/self/fd/12', '/home/me/out'),
    );
    assert.equal(e.file, '/home/me/out/a.png');
    assert.equal(
      e.message,
      'Cannot write to "/home/me/out/a.png" (permission denied); choose another output folder with -o or fix its permissions.',
    );
  });

  test('a filesystem failure becomes the error whose facts name the path', () => {
    const e = fsError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), '/out') as UserError;
    assert.deepEqual(e.data, { code: 'unwritable-output', facts: { file: '/out', why: 'permission denied' } });
    assert.equal(
      (fsError(Object.assign(new Error('x'), { code: 'ENAMETOOLONG' }), '/o') as UserError).code,
      'name-too-long',
    );
    assert.ok(e.message.includes(q('/out')));
  });
});
