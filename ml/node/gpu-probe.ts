/**
 * What GPU adapter Dawn would give this machine, found without loading Dawn into this process: a
 * short-lived child (gpu-probe-child.mjs) asks Dawn, its stderr (Dawn's native warnings) is kept
 * from the user, and a driver that crashes or hangs there costs only the child. The answer is
 * cached per machine in the user's cache folder, keyed by a fingerprint of the graphics drivers
 * (ml/node/driver-fingerprint.ts), so later runs start without probing until a driver changes.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  adapterName,
  classifyAdapter,
  classifyByTiming,
  type AdapterClass,
  type AdapterReport,
} from '../adapter-class.ts';
import { writeFileAtomic } from './atomic.ts';
import { driverFingerprint } from './driver-fingerprint.ts';

export type GpuProbe =
  | {
      readonly ok: true;
      readonly api: AdapterReport['api'];
      readonly adapter: AdapterReport;
      readonly kind: Exclude<AdapterClass, 'unknown'>;
      /** Why it is called hardware or software. */
      readonly why: string;
      /** For people: "llvmpipe llvm 15 0 6 256 bits via OpenGL". */
      readonly device: string;
    }
  | { readonly ok: false; readonly reason: string };

const CHILD = path.join(import.meta.dirname, 'gpu-probe-child.mjs');
const CACHE_VERSION = 1;
const MAX_ENTRIES = 8;

const deviceName = (a: AdapterReport) => `${adapterName(a)} via ${a.api}`;

/** How long the child may take before it counts as a hung driver. */
const PROBE_TIMEOUT_MS = 20_000;

/** The user's cache folder for SR Studio: $SR_STUDIO_CACHE, else $XDG_CACHE_HOME/sr-studio, else ~/.cache/sr-studio. */
function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SR_STUDIO_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sr-studio');
}

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

function runChild(args: string[], timeoutMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    // ELECTRON_RUN_AS_NODE: inside the desktop app, execPath is Electron, which then acts as Node.
    const child = spawn(process.execPath, [CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: e.message, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const lastJson = (s: string): unknown => {
  const line = s
    .trimEnd()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/** Why the child ended without an answer, in words. */
function childFailure(r: ChildRun, what: string): string {
  if (r.timedOut)
    return `${what} did not answer within ${Math.round(PROBE_TIMEOUT_MS / 1000)} s (the graphics driver may be stuck)`;
  if (r.signal) return `${what} crashed (${r.signal}); the graphics driver may be broken`;
  if (r.code === null) return `${what} could not be started (${r.stderr.split('\n')[0]})`;
  return `${what} failed (exit code ${r.code}); the graphics driver may be broken`;
}

/** Dawn's stderr says why an API found nothing; this keeps the gist and drops the rest. */
export function explainDawn(stderr: string): { Vulkan?: string; OpenGL?: string } {
  const out: { Vulkan?: string; OpenGL?: string } = {};
  const noLoader = /Couldn't load Vulkan: ([\w.]+)/.exec(stderr);
  if (noLoader) out.Vulkan = `no Vulkan loader (${noLoader[1]} is not installed)`;
  else if (/Found no drivers|vkEnumeratePhysicalDevices|VK_ERROR_INCOMPATIBLE_DRIVER/.test(stderr))
    out.Vulkan = 'no Vulkan driver';
  if (/EGL|libEGL|eglGetDisplay|eglInitialize/i.test(stderr) && !/OpenGL version/.test(stderr))
    out.OpenGL = 'no OpenGL (EGL) driver';
  return out;
}

interface ListAnswer {
  loaded: boolean;
  error?: string;
  adapters?: AdapterReport[];
  failures?: Array<{ api: AdapterReport['api']; error: string }>;
}

/** Asks Dawn in a child; classifies what it found; times an adapter that names no class. */
export async function probeGpuUncached(timeoutMs = PROBE_TIMEOUT_MS): Promise<GpuProbe> {
  const r = await runChild(['list'], timeoutMs);
  const answer = lastJson(r.stdout) as ListAnswer | undefined;
  if (!answer || r.code !== 0) return { ok: false, reason: childFailure(r, 'the GPU probe') };
  if (!answer.loaded) return { ok: false, reason: answer.error ?? 'the webgpu package could not be loaded' };
  const adapters = answer.adapters ?? [];
  if (!adapters.length) {
    const dawn = explainDawn(r.stderr);
    const per = (['Vulkan', 'OpenGL'] as const).map((api) => {
      const f = answer.failures?.find((x) => x.api === api)?.error;
      return `${api}: ${dawn[api] ?? (f === 'no adapter' || !f ? 'no adapter' : f)}`;
    });
    return { ok: false, reason: `no GPU adapter found (${per.join('; ')})` };
  }
  const judged: Array<Extract<GpuProbe, { ok: true }>> = [];
  for (const a of adapters) {
    let v = classifyAdapter(a);
    if (v.kind === 'unknown') {
      const t = await runChild(['time', a.api], timeoutMs);
      const timing = lastJson(t.stdout) as { gpuGflops?: number; cpuGflops?: number; error?: string } | undefined;
      v =
        timing?.gpuGflops !== undefined && timing.cpuGflops !== undefined
          ? classifyByTiming(timing.gpuGflops, timing.cpuGflops)
          : {
              kind: 'software',
              why: `its class is unknown and ${timing?.error ? `the timed probe failed (${timing.error})` : childFailure(t, 'the timed probe')}, so it is not trusted as a GPU`,
            };
    }
    judged.push({
      ok: true,
      api: a.api,
      adapter: a,
      kind: v.kind === 'hardware' ? 'hardware' : 'software',
      why: v.why,
      device: deviceName(a),
    });
  }
  // A hardware adapter first; among equals, Vulkan (the order Dawn was asked in).
  return judged.find((j) => j.kind === 'hardware') ?? judged[0]!;
}

interface CacheFile {
  version: number;
  entries: Array<{ fingerprint: string; at: string; probe: GpuProbe }>;
}

async function readCache(file: string): Promise<CacheFile> {
  try {
    const c = JSON.parse(await fs.readFile(file, 'utf8')) as CacheFile;
    if (c.version === CACHE_VERSION && Array.isArray(c.entries)) return c;
  } catch {
    // missing or damaged: probe again
  }
  return { version: CACHE_VERSION, entries: [] };
}

/** Whether a result says something about the drivers (worth keeping) or only about this one attempt. */
const lasting = (p: GpuProbe) => p.ok || !/did not answer|crashed|could not be started|failed \(exit/.test(p.reason);

let inProcess: Promise<GpuProbe> | undefined;

/**
 * The GPU probe, once per process and once per driver fingerprint on this machine. A crash or a
 * timeout is not cached: the next run tries again.
 */
export function probeGpu(): Promise<GpuProbe> {
  inProcess ??= (async () => {
    const file = path.join(cacheDir(), 'gpu-probe.json');
    const fingerprint = await driverFingerprint();
    const cache = await readCache(file);
    const hit = cache.entries.find((e) => e.fingerprint === fingerprint);
    if (hit) return { ...hit.probe, ...(hit.probe.ok ? { device: deviceName(hit.probe.adapter) } : {}) };
    const probe = await probeGpuUncached();
    if (lasting(probe)) {
      const entries = [
        { fingerprint, at: new Date().toISOString(), probe },
        ...cache.entries.filter((e) => e.fingerprint !== fingerprint),
      ].slice(0, MAX_ENTRIES);
      await writeFileAtomic(
        file,
        new TextEncoder().encode(JSON.stringify({ version: CACHE_VERSION, entries }, null, 1) + '\n'),
      ).catch(() => undefined);
    }
    return probe;
  })();
  return inProcess;
}
