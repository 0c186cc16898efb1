/**
 * Electron's IPC wiring without Electron: every channel registered, the sender check (only the main
 * frame of the main window's webContents), and the preload's window.studio allow-list.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_CHANNELS, REQUEST_CHANNELS } from '../../../main/channels.ts';
import type { BrowserWindow, IpcMainInvokeEvent, IpcRendererLike } from '../../../main/electron/electron-api.ts';
import { isExternalLink, isFromMainWindow, registerIpc } from '../../../main/electron/ipc.ts';
import { createStudioApi, crossing } from '../../../main/electron/studio-api.ts';
import { errorData, RequestError, requestError } from '../../../renderer/src/api/request-error.ts';
import { fieldOf } from '../../../renderer/src/lib/errors.ts';
import type { Handlers } from '../../../main/host/context.ts';
import { createRouter } from '../../../main/host/router.ts';

function fakeWindow() {
  const mainFrame = { url: 'file:///app/index.html' };
  let destroyed = false;
  const webContents = { mainFrame, send() {}, setWindowOpenHandler() {}, on() {}, isDestroyed: () => destroyed };
  const win = {
    webContents,
    isDestroyed: () => destroyed,
    destroy: () => void (destroyed = true),
  } as unknown as BrowserWindow;
  return win;
}

function wire() {
  const win = fakeWindow();
  const registered = new Map<string, (e: IpcMainInvokeEvent, arg: unknown) => Promise<unknown>>();
  const handlers = Object.fromEntries(
    REQUEST_CHANNELS.map((c) => [c, async (arg: unknown) => ({ channel: c, arg })]),
  ) as unknown as Handlers;
  const router = createRouter(handlers, { isTrustedSender: isFromMainWindow(() => win), log: () => undefined });
  registerIpc({ handle: (c, l) => void registered.set(c, l) }, router);
  return { win, registered };
}

describe('Electron IPC', () => {
  test('every request channel is registered, and only those', () => {
    const { registered } = wire();
    assert.deepEqual([...registered.keys()].sort(), [...REQUEST_CHANNELS].sort());
  });

  test('IPC from the main window is answered; any other webContents or frame is dropped', async () => {
    const { win, registered } = wire();
    const curves = registered.get('activations:curves')!;
    const own = { sender: win.webContents, senderFrame: win.webContents.mainFrame } as IpcMainInvokeEvent;
    assert.deepEqual(await curves(own, { a: 1 }), {
      ok: true,
      result: { channel: 'activations:curves', arg: { a: 1 } },
    });
    const other = fakeWindow();
    const strangers = [
      { sender: other.webContents, senderFrame: other.webContents.mainFrame },
      { sender: win.webContents, senderFrame: { url: 'https://evil.example/' } }, // an iframe in our window
      { sender: win.webContents, senderFrame: null },
      {},
    ] as IpcMainInvokeEvent[];
    for (const e of strangers) assert.equal(await curves(e, {}), undefined);
    (win as unknown as { destroy(): void }).destroy();
    assert.equal(await curves(own, {}), undefined, 'nothing is trusted once the window is gone');
  });

  test('only https links may leave the app', () => {
    assert.ok(isExternalLink('https://github.com/'));
    for (const url of [
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
      'smb://host/share',
    ])
      assert.ok(!isExternalLink(url), url);
  });
});

describe('window.studio (preload)', () => {
  function fakeIpc() {
    const invoked: Array<[string, unknown]> = [];
    const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>();
    const ipc: IpcRendererLike = {
      invoke: async (c, a) => (
        invoked.push([c, a]), c === 'models:list' ? { ok: false, error: 'No models folder.' } : { ok: true, result: 42 }
      ),
      on: (c, l) => listeners.set(c, (listeners.get(c) ?? new Set()).add(l)),
      removeListener: (c, l) => listeners.get(c)?.delete(l),
    };
    return { ipc, invoked, listeners };
  }

  test('request goes through for listed channels only', async () => {
    const { ipc, invoked } = fakeIpc();
    const api = createStudioApi(ipc);
    assert.equal(api.mode, 'electron');
    assert.equal(await api.request('activations:curves', { names: ['swish'], xMin: 0, xMax: 1, points: 2 }), 42);
    await assert.rejects(api.request('models:list', undefined), /^Error: No models folder\.$/);
    await assert.rejects(api.request('shell:exec' as 'models:list', undefined), /Unknown request channel "shell:exec"/);
    assert.deepEqual(
      invoked.map(([c]) => c),
      ['activations:curves', 'models:list'],
    );
    assert.ok(Object.isFrozen(api));
  });

  test("a failure reaches the page with its code and facts, though contextBridge copies only an Error's message", async () => {
    const said = '"/etc" is a file, not a folder.';
    const ipc: IpcRendererLike = {
      invoke: async () => ({ ok: false, error: said, code: 'bad-argument', facts: { said, field: 'Output folder' } }),
      on: () => undefined,
      removeListener: () => undefined,
    };
    const api = createStudioApi(ipc);
    const e = await api.request('settings:set', { outputDir: '/etc' }).then(
      () => assert.fail('refused'),
      (x: unknown) => x as Error & { code?: string; facts?: object },
    );
    assert.equal(e.message, said);
    assert.deepEqual([e.code, e.facts], ['bad-argument', { said, field: 'Output folder' }]);
    // What the preload hands over is plain data (structured-clone safe), made an Error again in the page.
    const crossed = structuredClone(crossing(e));
    assert.deepEqual(crossed, { error: said, code: 'bad-argument', facts: { said, field: 'Output folder' } });
    const again = requestError(crossed);
    assert.ok(again instanceof RequestError);
    assert.equal(again.message, said);
    assert.deepEqual(errorData(again), { code: 'bad-argument', facts: { said, field: 'Output folder' } });
    assert.equal(fieldOf(again), 'Output folder');
    // A bug's failure crosses as its sentence alone.
    assert.deepEqual(crossing(new Error('Something broke.')), { error: 'Something broke.' });
    assert.equal(errorData(requestError(crossing(new Error('Something broke.')))), undefined);
  });

  test('on subscribes to listed events, passes the payload only, and unsubscribes', () => {
    const { ipc, listeners } = fakeIpc();
    const api = createStudioApi(ipc);
    const got: unknown[] = [];
    const off = api.on('job:progress', (p) => got.push(p));
    for (const l of listeners.get('job:progress')!)
      l({ sender: 'electron internals' }, { jobId: 'a', fraction: 1, message: 'ok' });
    assert.deepEqual(got, [{ jobId: 'a', fraction: 1, message: 'ok' }]);
    off();
    assert.equal(listeners.get('job:progress')!.size, 0);
    assert.throws(() => api.on('ipc:anything' as 'job:done', () => undefined), /Unknown event channel/);
    assert.equal(EVENT_CHANNELS.length, new Set(EVENT_CHANNELS).size);
  });
});
