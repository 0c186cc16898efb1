/**
 * The real engine for these tests: an EngineHost on the wasm backend for both purposes, its events
 * recorded, with a temp folder of its own that goes with it.
 */
import fs from 'node:fs/promises';
import { EngineHost, type EngineHostOptions } from '../../../main/host/engine-host.ts';
import { EventLog, tempDir } from '../helpers.ts';

export interface WasmEngine {
  readonly dir: string;
  readonly log: EventLog;
  readonly host: EngineHost;
}

/** Starts the host (no threads of its own, a preview at every step), with `options` over those. */
export async function startWasmEngine(options: Partial<EngineHostOptions> = {}): Promise<WasmEngine> {
  const dir = await tempDir();
  const log = new EventLog();
  const host = new EngineHost({
    backends: { upscale: 'wasm', train: 'wasm' },
    threads: 0,
    emit: log.emit,
    previewIntervalMs: 0,
    ...options,
  });
  return { dir, log, host };
}

/** Closes the host and removes its folder. */
export async function stopWasmEngine({ host, dir }: Pick<WasmEngine, 'host' | 'dir'>): Promise<void> {
  await host.close();
  await fs.rm(dir, { recursive: true, force: true });
}
