/** The one request entry: unknown senders dropped unanswered, unknown channels refused, errors as one line. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handlers } from '../../../main/host/context.ts';
import { createRouter } from '../../../main/host/router.ts';
import { REQUEST_CHANNELS } from '../../../main/channels.ts';
import { errors } from '../../../ml/errors.ts';

const TRUSTED = { name: 'main window' };
const handlers = Object.fromEntries(
  REQUEST_CHANNELS.map((c) => [c, async () => `${c} answered`]),
) as unknown as Handlers;
const failing = {
  ...handlers,
  'models:list': async () => {
    throw errors.badArgument('The models folder is gone; restart SR Studio.');
  },
  'app:status': async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')\n    at secret/stack.ts:1:1");
  },
} as unknown as Handlers;

function router(h = handlers) {
  const logged: string[] = [];
  const r = createRouter(h, { isTrustedSender: (s) => s === TRUSTED, log: (m) => logged.push(m) });
  return { r, logged };
}

describe('router', () => {
  test('a request from the trusted sender is answered', async () => {
    const { r } = router();
    assert.deepEqual(await r.handle(TRUSTED, 'models:list', undefined), { ok: true, result: 'models:list answered' });
  });

  test('a request from any other sender is dropped unanswered and logged', async () => {
    const { r, logged } = router();
    for (const sender of [{ name: 'devtools' }, null, undefined, 'main window']) {
      assert.equal(await r.handle(sender, 'models:list', undefined), undefined);
    }
    assert.equal(logged.length, 4);
    assert.match(logged[0]!, /dropped a models:list request from an unknown sender/);
  });

  test('unknown and malformed channels are refused', async () => {
    const { r } = router();
    assert.deepEqual(await r.handle(TRUSTED, 'fs:rm', {}), { ok: false, error: 'Unknown request channel "fs:rm".' });
    assert.deepEqual(await r.handle(TRUSTED, 'job:progress', {}), {
      ok: false,
      error: 'Unknown request channel "job:progress".',
    });
    assert.deepEqual(await r.handle(TRUSTED, { toString: () => 'x' }, {}), {
      ok: false,
      error: 'Unknown request channel "x".',
    });
    assert.deepEqual(await r.handle(TRUSTED, '__proto__', {}), {
      ok: false,
      error: 'Unknown request channel "__proto__".',
    });
  });

  test('failures become one line: user errors as they are, bugs without their stack', async () => {
    const { r, logged } = router(failing);
    assert.deepEqual(await r.handle(TRUSTED, 'models:list', undefined), {
      ok: false,
      error: 'The models folder is gone; restart SR Studio.',
    });
    assert.equal(logged.length, 0);
    const bug = await r.handle(TRUSTED, 'app:status', undefined);
    assert.deepEqual(bug, { ok: false, error: "Cannot read properties of undefined (reading 'x')" });
    assert.equal(logged.length, 1, 'the bug is logged for whoever debugs it');
  });

  test("an engine error is said in the app's words, with its code and facts beside the sentence for the UI to place it by, paths as the user knows them", async () => {
    const engine = {
      ...handlers,
      'job:upscale': async () => {
        throw errors.outputExists('/data/uploads/3f2a/photo_x2.png');
      },
      'settings:set': async () => {
        throw errors.badArgument('"/etc/passwd" is a file, not a folder.', 'Output folder');
      },
    } as unknown as Handlers;
    const name = (p: string) => (p.startsWith('/data/uploads/3f2a/') ? p.slice('/data/uploads/3f2a/'.length) : p);
    const r = createRouter(engine, { isTrustedSender: (s) => s === TRUSTED, name });
    assert.deepEqual(await r.handle(TRUSTED, 'job:upscale', {}), {
      ok: false,
      error:
        '"photo_x2.png" already exists; tick "Replace existing outputs" to replace it, or choose another output folder.',
      code: 'output-exists',
      facts: { file: 'photo_x2.png' },
    });
    const refused = await r.handle(TRUSTED, 'settings:set', {});
    assert.equal(refused?.ok, false);
    assert.deepEqual(refused && !refused.ok && [refused.code, refused.facts], [
      'bad-argument',
      { said: '"/etc/passwd" is a file, not a folder.', field: 'Output folder' },
    ]);
  });
});
