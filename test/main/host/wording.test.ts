/**
 * The app words every error code once (main/host/wording.ts): one sentence naming the file, with
 * the app's controls where the command line names its flags, and paths as the user knows them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { wordForCli } from '../../../ml/wording.ts';
import { ERROR_CODES, errors, word, type ErrorData } from '../../../ml/errors.ts';
import { APP_WORDING, forPage, wordForApp } from '../../../main/host/wording.ts';
import { FILE, pathOf, SAMPLE_FACTS } from '../../helpers/error-facts.ts';

describe('the app words every error code', () => {
  for (const code of ERROR_CODES) {
    test(code, () => {
      assert.equal(typeof APP_WORDING[code], 'function', `${code} has no wording in the app`);
      for (const facts of SAMPLE_FACTS[code]) {
        const e = { code, facts } as ErrorData;
        const sentence = wordForApp(e);
        assert.match(sentence, /^\S.*[.)]$/s, `${code}: one sentence, ending as one`);
        assert.doesNotMatch(sentence, /\n|undefined|NaN|\[object/, `${code}: ${sentence}`);
        const p = pathOf(facts);
        if (p !== undefined && code !== 'init-mismatch')
          assert.ok(sentence.includes(p), `${code} names ${p}: ${sentence}`);
        // Flags are the command line's: the app names its own controls. A front end's own check says what it says.
        if (code !== 'bad-argument')
          assert.doesNotMatch(sentence, /(^|\s)--?[a-z]|sr-studio (info|train)/, `${code}: ${sentence}`);
      }
    });
  }

  test('the table words exactly the codes there are', () => {
    assert.deepEqual(Object.keys(APP_WORDING).sort(), [...ERROR_CODES].sort());
  });

  test('where the command line names a flag, the app names its control', () => {
    const cases: Array<[ErrorData, RegExp, RegExp]> = [
      [errors.outputExists(FILE).data, /pass --overwrite/, /tick "Replace existing outputs"/],
      [errors.backendFailed('webgpu', 'no adapter').data, /--backend/, /choose another backend in Settings\.$/],
      [errors.noModel(3).data, /--model FILE/, /train one in the Train view, or add one in the Models view\.$/],
      [errors.runExists('/runs/a').data, /--resume "\/runs\/a"/, /continue it from the list of runs/],
      [errors.runTrained('/runs/a', 4000).data, /--iters/, /ask for more than 4000\.$/],
      [errors.scaleMismatch('/m/x4.onnx', 4, 2).data, /leave out --scale/, /choose a model of that scale\.$/],
      [errors.runFolderGone('/runs/a', 'validation', '/photos/val').data, /--val DIR/, /as the validation folder\.$/],
      [
        errors.trainingDiverged(25, 1200).data,
        /checkpoint \(iteration 1200\) was kept as the model; try a lower --lr/,
        /checkpoint \(iteration 1200\) was kept as the model; .*from a trained model, which trains at a lower learning rate\.$/,
      ],
    ];
    for (const [e, cli, app] of cases) {
      assert.match(word(wordForCli, e), cli);
      assert.match(wordForApp(e), app);
    }
  });

  test('each path is shown by the name the user knows it by (an upload: the name it was dropped with)', () => {
    const name = (p: string) => (p === '/data/uploads/3f2a/photo.png' ? 'photo.png' : p);
    const e = errors.unreadableImage('/data/uploads/3f2a/photo.png', 'premature end of JPEG data').data;
    assert.equal(
      wordForApp(e, name),
      '"photo.png" could not be read as an image (premature end of JPEG data); check that it is a complete JPEG, PNG, WebP, TIFF, AVIF or GIF file.',
    );
    const w = errors.outputExists('/data/uploads/3f2a/photo.png').data;
    assert.equal(
      wordForApp(w, name),
      '"photo.png" already exists; tick "Replace existing outputs" to replace it, or choose another output folder.',
    );
  });

  test("an error as the page gets it: the app's sentence, and a user error's code and facts with paths as the user knows them", () => {
    const name = (p: string) => (p === '/data/uploads/3f2a/photo.png' ? 'photo.png' : p);
    assert.deepEqual(forPage(errors.unreadableImage('/data/uploads/3f2a/photo.png', 'bad PNG signature').data, name), {
      message:
        '"photo.png" could not be read as an image (bad PNG signature); check that it is a complete JPEG, PNG, WebP, TIFF, AVIF or GIF file.',
      code: 'unreadable-image',
      facts: { file: 'photo.png', why: 'bad PNG signature' },
    });
    const placed = forPage(errors.badArgument('"/x" is a file, not a folder.', 'Output folder').data);
    assert.deepEqual(placed.facts, { said: '"/x" is a file, not a folder.', field: 'Output folder' });
    // A bug, and a check's refusal that names no field, are their sentence alone.
    assert.deepEqual(forPage({ code: 'internal', facts: { why: 'x is not a function' } }), {
      message: 'The engine failed unexpectedly: x is not a function.',
    });
    assert.deepEqual(forPage(errors.badArgument('Choose two different activations.').data), {
      message: 'Choose two different activations.',
    });
  });
});
