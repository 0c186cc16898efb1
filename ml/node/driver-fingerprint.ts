/**
 * A fingerprint of what decides which GPU adapter Dawn finds: the Vulkan loader and driver
 * manifests, the GL/EGL libraries, the NVIDIA kernel driver, the environment variables that steer
 * them, Dawn itself and the OS release. Only file names, sizes and times are read (a few dozen
 * stats), so it is cheap enough for every start; when any of them changes, the GPU is probed again.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CLASSIFIER_VERSION } from '../adapter-class.ts';

const ENV = [
  'VK_ICD_FILENAMES',
  'VK_DRIVER_FILES',
  'VK_ADD_DRIVER_FILES',
  'VK_LAYER_PATH',
  'VK_INSTANCE_LAYERS',
  'LD_LIBRARY_PATH',
  'EGL_PLATFORM',
  'LIBGL_ALWAYS_SOFTWARE',
  'GALLIUM_DRIVER',
  'MESA_LOADER_DRIVER_OVERRIDE',
  '__EGL_VENDOR_LIBRARY_FILENAMES',
  '__EGL_VENDOR_LIBRARY_DIRS',
  '__GLX_VENDOR_LIBRARY_NAME',
  'DRI_PRIME',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'SR_STUDIO_PROBE_FAULT',
];

const MANIFEST_DIRS = [
  '/usr/share/vulkan/icd.d',
  '/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/share/glvnd/egl_vendor.d',
  '/etc/glvnd/egl_vendor.d',
  path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'vulkan', 'icd.d'),
];

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];
const LIBS = [
  'libvulkan.so.1',
  'libEGL.so.1',
  'libEGL_mesa.so.0',
  'libGLX_mesa.so.0',
  'libEGL_nvidia.so.0',
  'libGLX_nvidia.so.0',
  'libgallium_dri.so',
];

async function stat(p: string): Promise<string> {
  try {
    const s = await fs.stat(p);
    return `${s.size}:${Math.round(s.mtimeMs)}`;
  } catch {
    return '-';
  }
}

async function dirListing(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
  return Promise.all(names.map(async (n) => `${path.join(dir, n)}=${await stat(path.join(dir, n))}`));
}

function dawnFile(): string {
  try {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('webgpu/package.json'));
    return path.join(
      dir,
      'dist',
      `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`,
      'dawn.node',
    );
  } catch {
    return 'no webgpu package';
  }
}

export async function driverFingerprint(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // The classification rules' version too: adapters judged by older rules are probed again.
  const parts: string[] = [`rules ${CLASSIFIER_VERSION}`, process.platform, process.arch, os.release()];
  for (const k of ENV) parts.push(`${k}=${env[k] ?? ''}`);
  // Drivers named in the environment count with their files.
  for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES']) {
    for (const f of (env[k] ?? '').split(path.delimiter).filter(Boolean)) parts.push(`${f}=${await stat(f)}`);
  }
  const manifests = await Promise.all(MANIFEST_DIRS.map(dirListing));
  parts.push(...manifests.flat());
  const libs = LIB_DIRS.flatMap((dir) => LIBS.map((lib) => path.join(dir, lib)));
  parts.push(...(await Promise.all(libs.map(async (l) => `${l}=${await stat(l)}`))));
  parts.push(`nvidia=${await fs.readFile('/proc/driver/nvidia/version', 'utf8').catch(() => '-')}`);
  parts.push(`dri=${(await fs.readdir('/dev/dri').catch(() => [] as string[])).sort().join(',')}`);
  const dawn = dawnFile();
  parts.push(`${dawn}=${await stat(dawn)}`);
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}
