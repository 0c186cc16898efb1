/**
 * `npm run gpu-bundle [-- --out DIR] [--no-system] [--torch-ref FILE]`
 *
 * Packs the training/inference benchmark (`npm run bench -- --mode train`) into one folder that runs
 * on an offline NVIDIA Linux machine with PyTorch and the driver but no Node.js:
 *
 *   bench.mjs                 the benchmark and the engine, one ESM file (esbuild)
 *   generated/                tfjs's gradient registrations, which the engine loads beside itself
 *   gpu-probe-child.mjs       the GPU probe, run as a child process by the benchmark
 *   node_modules/webgpu/      Dawn for Node (index.js, package.json, dawn.node xz-compressed)
 *   node.xz                   this machine's Node.js binary, xz-compressed
 *   debs/                     the Vulkan loader and GL dispatch libraries the NVIDIA ICD needs
 *                             (libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
 *   torch_ref.py              PyTorch's reference of the same network and step
 *   run.sh                    unpacks (with Python, which that machine has), installs the libraries
 *                             only where missing, runs torch_ref.py and then the benchmark with
 *                             `--torch`, and prints both and the ratios
 *
 * `--no-system` leaves out node.xz and debs/ (for a machine that has them; the tests use it).
 * Default DIR: .cache/gpu-bench (git-ignored, so a GPU run can carry it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { isEntry } from '../main/is-entry.ts';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

export const VULKAN_DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

const RUN_SH = `#!/bin/sh
# Runs PyTorch's reference and SR Studio's benchmark on this machine's GPU, one after the other, and
# prints the ratios. Needs python3 (with torch) and the NVIDIA driver; no Node.js, no network.
# Extra arguments go to the benchmark (e.g. --budget 20). STEPS sets torch_ref.py's step count.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR="$work"

# Node.js and dawn.node, unpacked with Python's lzma.
python3 - "$here" "$work" <<'PY'
import lzma, os, shutil, sys
here, work = sys.argv[1], sys.argv[2]
def unxz(src, dst, mode):
    with lzma.open(src) as i, open(dst, 'wb') as o:
        shutil.copyfileobj(i, o)
    os.chmod(dst, mode)
if os.path.exists(os.path.join(here, 'node.xz')):
    unxz(os.path.join(here, 'node.xz'), os.path.join(work, 'node'), 0o755)
dawn = os.path.join(here, 'node_modules/webgpu/dist/linux-x64/dawn.node.xz')
unxz(dawn, dawn[:-3], 0o644)
PY
if [ -x "$work/node" ]; then node="$work/node"; else node=$(command -v node); fi

# The Vulkan loader and libglvnd, where missing (the NVIDIA ICD needs both).
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLX.so.0 '; then
  if [ -d "$here/debs" ] && [ "$(id -u)" = 0 ]; then
    for f in "$here"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "warning: the Vulkan loader or libglvnd is missing and cannot be installed (need root and debs/)" >&2
  fi
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "\${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done

echo "== PyTorch reference (torch_ref.py \${STEPS:-50})"
python3 "$here/torch_ref.py" "\${STEPS:-50}" | tee "$work/torch.jsonl"
echo "== SR Studio on webgpu (project kernels and tfjs's own)"
"$node" "$here/bench.mjs" --mode train --backends webgpu --kernels tiled,direct,tfjs --torch "$work/torch.jsonl" "$@"
`;

/** xz-compresses `src` to `dst` (the xz tool where present, which is faster, else Python's lzma). */
function xz(src: string, dst: string): void {
  try {
    execFileSync('sh', ['-c', 'xz -T0 -6 -c "$1" > "$2"', 'sh', src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    execFileSync('python3', [
      '-c',
      'import lzma,shutil,sys\nwith open(sys.argv[1],"rb") as i, lzma.open(sys.argv[2],"wb") as o: shutil.copyfileobj(i,o)',
      src,
      dst,
    ]);
  }
}

export async function buildGpuBundle(o: {
  out: string;
  system: boolean;
  torchRef: string;
  log?: (s: string) => void;
}): Promise<void> {
  const log = o.log ?? (() => {});
  await rm(o.out, { recursive: true, force: true });
  await mkdir(path.join(o.out, 'generated'), { recursive: true });
  await build({
    entryPoints: [path.join(root, 'scripts', 'bench.ts')],
    outfile: path.join(o.out, 'bench.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // tfjs's ESM builds (its Node builds register no gradients and pull in optional packages).
    mainFields: ['module', 'main'],
    external: ['webgpu', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'sharp'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  await copyFile(
    path.join(root, 'ml', 'node', 'generated', 'tfjs-gradients.cjs'),
    path.join(o.out, 'generated', 'tfjs-gradients.cjs'),
  );
  // The GPU probe runs in a child process from a file of its own, found next to the bundle.
  await copyFile(path.join(root, 'ml', 'node', 'gpu-probe-child.mjs'), path.join(o.out, 'gpu-probe-child.mjs'));
  log('bench.mjs');

  const webgpu = path.dirname(require.resolve('webgpu/package.json'));
  const dawnDir = path.join(o.out, 'node_modules', 'webgpu', 'dist', 'linux-x64');
  await mkdir(dawnDir, { recursive: true });
  for (const f of ['index.js', 'package.json'])
    await copyFile(path.join(webgpu, f), path.join(o.out, 'node_modules', 'webgpu', f));
  xz(path.join(webgpu, 'dist', 'linux-x64', 'dawn.node'), path.join(dawnDir, 'dawn.node.xz'));
  log('node_modules/webgpu');

  if (!existsSync(o.torchRef))
    throw new Error(`${o.torchRef} is missing: pass --torch-ref with the path of torch_ref.py`);
  await copyFile(o.torchRef, path.join(o.out, 'torch_ref.py'));
  await writeFile(path.join(o.out, 'run.sh'), RUN_SH, { mode: 0o755 });

  if (o.system) {
    xz(process.execPath, path.join(o.out, 'node.xz'));
    log(`node.xz (Node.js ${process.version})`);
    const debs = path.join(o.out, 'debs');
    await mkdir(debs);
    try {
      execFileSync('apt-get', ['download', ...VULKAN_DEBS], { cwd: debs, stdio: ['ignore', 'ignore', 'pipe'] });
      log(`debs/ (${(await readdir(debs)).join(', ')})`);
    } catch (e) {
      throw new Error(
        `apt-get download ${VULKAN_DEBS.join(' ')} failed (${String((e as Error).message).split('\n')[0]}): run it where Debian's archive is reachable, or pass --no-system`,
      );
    }
  }
}

if (isEntry(import.meta.filename)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(root, '.cache', 'gpu-bench') },
      'no-system': { type: 'boolean' },
      'torch-ref': { type: 'string', default: path.join(root, 'reference', 'torch_ref.py') },
    },
  });
  const out = path.resolve(values.out!);
  try {
    await buildGpuBundle({
      out,
      system: !values['no-system'],
      torchRef: path.resolve(values['torch-ref']!),
      log: (s) => console.error(`  ${s}`),
    });
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
  console.log(
    `Built ${path.relative(process.cwd(), out) || '.'}: copy it to the GPU machine and run ${path.join(path.relative(process.cwd(), out), 'run.sh')} there.`,
  );
}
