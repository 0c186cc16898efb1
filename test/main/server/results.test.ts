/**
 * Where browser mode's upscaled photos go and how they are found again: a typed output folder is
 * named in the app's words (never by its field's code name), a file typed there is said to be a
 * file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RequestChannel } from '../../../main/api.ts';
import { startServer, type StudioServer } from '../../../main/server/server.ts';
import { StubEngine, tempDir } from '../helpers.ts';

const APP = path.resolve(import.meta.dirname, '../../..');
let dir = '';
let server: StudioServer;
const engine = new StubEngine();

before(async () => {
  dir = await tempDir();
  server = await startServer({ appRoot: APP, dataDir: path.join(dir, 'data'), userModels: path.join(dir, 'models'), engine: engine.factory, log: () => undefined });
});

after(async () => {
  await server.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (s: StudioServer, channel: RequestChannel, arg?: unknown) => (s.handlers[channel] as (a: unknown) => Promise<unknown>)(arg);
const upscale = (files: string[], outputDir: string | null) => ({ files, modelId: 'bundled:tanhexp_photo_x2.safetensors', format: 'png', outputDir, overwrite: false });

describe('the output folder in plain words', () => {
  test('a folder no one may choose is refused once, named "Output folder", never by its code name', async () => {
    for (const channel of ['settings:set', 'job:upscale'] as const) {
      const arg = channel === 'settings:set' ? { outputDir: '/proc/sr-out' } : upscale([path.join(server.inbox, 'a.png')], '/proc/sr-out');
      await assert.rejects(call(server, channel, arg), (e: Error) => {
        assert.equal(e.message, 'Output folder: SR Studio does not use "/proc/sr-out" in browser mode; choose a folder of your own.');
        return true;
      });
    }
  });

  test('a file typed as the output folder is said to be a file, also where no one may choose a folder', async () => {
    const own = path.join(dir, 'notes.txt');
    await fs.writeFile(own, 'not a folder\n');
    for (const file of ['/etc/hostname', own]) {
      await fs.access(file);
      await assert.rejects(call(server, 'settings:set', { outputDir: file }), (e: Error) => {
        assert.match(e.message, new RegExp(`^Output folder: "${file.replace(/[.\\/]/g, '\\$&')}" is a file, not a folder`));
        return true;
      });
    }
  });
});
