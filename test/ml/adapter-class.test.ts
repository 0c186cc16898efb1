/**
 * Adapter classes from what Dawn reports. The reports are those Dawn gives on real machines: Mesa's
 * llvmpipe through OpenGL (a Debian machine without a Vulkan loader; its GL version string never
 * names the rasteriser), lavapipe through Vulkan (CI), and hardware adapters through both APIs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adapterName, classifyAdapter, classifyByTiming, type AdapterReport } from '../../ml/adapter-class.ts';

const llvmpipeGl: AdapterReport = {
  api: 'OpenGL',
  vendor: '',
  architecture: '',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'OpenGL version 4.5 (Core Profile) Mesa 22.3.6',
  isFallbackAdapter: false,
};

test('software: llvmpipe through OpenGL is told by its renderer (device), though the description does not say', () => {
  assert.doesNotMatch(llvmpipeGl.description!, /llvmpipe|software/i);
  const v = classifyAdapter(llvmpipeGl);
  assert.equal(v.kind, 'software');
  assert.match(v.why, /llvmpipe, a CPU rasteriser/);
  assert.equal(adapterName(llvmpipeGl), 'llvmpipe llvm 15 0 6 256 bits (Mesa 22.3.6)');
});

test('software: lavapipe through Vulkan, SwiftShader, WARP, softpipe and fallback adapters', () => {
  const cases: Array<[AdapterReport, RegExp]> = [
    [
      {
        api: 'Vulkan',
        vendor: 'mesa',
        architecture: '',
        device: '',
        description: 'llvmpipe (LLVM 15.0.6, 256 bits): Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)',
      },
      /llvmpipe/,
    ],
    [{ api: 'Vulkan', vendor: 'mesa', architecture: '', device: 'lavapipe', description: '' }, /lavapipe/],
    [
      { api: 'Vulkan', vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' },
      /SwiftShader/,
    ],
    [
      {
        api: 'Vulkan',
        vendor: 'microsoft',
        architecture: '',
        device: '',
        description: 'Microsoft Basic Render Driver',
      },
      /WARP/,
    ],
    [
      { api: 'OpenGL', vendor: '', architecture: '', device: 'softpipe', description: 'OpenGL version 3.3 Mesa 23.1' },
      /softpipe/,
    ],
    [
      {
        api: 'Vulkan',
        vendor: 'nvidia',
        architecture: '',
        device: '',
        description: 'anything',
        isFallbackAdapter: true,
      },
      /fallback/,
    ],
  ];
  for (const [report, why] of cases) {
    const v = classifyAdapter(report);
    assert.equal(v.kind, 'software', JSON.stringify(report));
    assert.match(v.why, why);
  }
});

test('hardware: GPUs named by vendor (Vulkan) or in the GL renderer string', () => {
  const cases: AdapterReport[] = [
    { api: 'Vulkan', vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' },
    {
      api: 'Vulkan',
      vendor: 'amd',
      architecture: 'rdna-2',
      device: '',
      description: 'AMD Radeon RX 6800 XT (RADV NAVI21)',
    },
    {
      api: 'Vulkan',
      vendor: 'intel',
      architecture: 'gen-12lp',
      device: '',
      description: 'Intel(R) UHD Graphics 770 (ADL-S GT1)',
    },
    {
      api: 'OpenGL',
      vendor: '',
      architecture: '',
      device: 'nvidia-geforce-rtx-4090-pcie-sse2',
      description: 'OpenGL version 4.6.0 NVIDIA 550.54.14',
    },
    {
      api: 'OpenGL',
      vendor: '',
      architecture: '',
      device: 'mesa-intel-r-uhd-graphics-620-kbl-gt2-',
      description: 'OpenGL version 4.6 (Core Profile) Mesa 23.2.1',
    },
  ];
  for (const report of cases) assert.equal(classifyAdapter(report).kind, 'hardware', JSON.stringify(report));
});

test('unknown: an adapter that names neither a rasteriser nor a GPU maker is left to the timed probe', () => {
  const v = classifyAdapter({
    api: 'OpenGL',
    vendor: '',
    architecture: '',
    device: 'virgl',
    description: 'OpenGL version 4.3 (Core Profile) Mesa 24.0',
  });
  assert.equal(v.kind, 'unknown');
  assert.equal(classifyAdapter({ api: 'Vulkan' }).kind, 'unknown');
});

test('timed probe: a GPU only when clearly faster than the CPU cores', () => {
  assert.equal(classifyByTiming(5000, 40).kind, 'hardware');
  assert.equal(classifyByTiming(79, 40).kind, 'software');
  assert.equal(classifyByTiming(14, 15).kind, 'software');
  assert.match(classifyByTiming(14, 15).why, /no faster than WebAssembly/);
});
