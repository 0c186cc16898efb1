// The GPU probe, run as a short-lived child process (ml/node/gpu-probe.ts) so that Dawn's native
// messages on stderr, and a graphics driver that crashes or hangs, stay out of the user's process.
// Plain JavaScript (no TypeScript loader), so it starts quickly.
//
//   node gpu-probe-child.mjs list          one JSON line: every adapter Dawn finds, per graphics API
//   node gpu-probe-child.mjs time API      one JSON line: GFLOP/s of a compute shader on that API's
//                                          adapter, and of this CPU's cores (an estimate)
//
// SR_STUDIO_PROBE_FAULT=exit|crash|hang makes it fail on purpose, to test how a broken driver is met.
import os from 'node:os';

const fault = process.env.SR_STUDIO_PROBE_FAULT;
if (fault === 'exit') process.exit(3);
if (fault === 'crash') process.kill(process.pid, 'SIGSEGV');
if (fault === 'hang') await new Promise(() => setInterval(() => undefined, 1000));

const APIS = {
  Vulkan: { flags: ['backend=vulkan'], featureLevel: 'core' },
  OpenGL: { flags: ['backend=opengl'], featureLevel: 'compatibility' },
};

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const message = (e) =>
  String(e?.message ?? e)
    .split('\n')[0]
    .slice(0, 300);

process.env.EGL_PLATFORM ??= 'surfaceless';
let dawn;
try {
  dawn = await import('webgpu');
} catch (e) {
  say({ loaded: false, error: `the webgpu package could not be loaded: ${message(e)}` });
  process.exit(0);
}
Object.assign(globalThis, dawn.globals);

async function open(api) {
  const gpu = dawn.create(APIS[api].flags);
  const adapter = await gpu.requestAdapter({
    featureLevel: APIS[api].featureLevel,
    powerPreference: 'high-performance',
  });
  return { gpu, adapter };
}

async function list() {
  const adapters = [];
  const failures = [];
  for (const api of Object.keys(APIS)) {
    try {
      const { adapter } = await open(api);
      if (!adapter) {
        failures.push({ api, error: 'no adapter' });
        continue;
      }
      const i = adapter.info;
      const report = {
        api,
        vendor: i.vendor,
        architecture: i.architecture,
        device: i.device,
        description: i.description,
        isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
      };
      // tfjs needs a device, not only an adapter: a driver that cannot make one is not usable.
      try {
        const device = await adapter.requestDevice();
        device.destroy();
        adapters.push(report);
      } catch (e) {
        failures.push({ api, error: `the adapter could not open a device: ${message(e)}` });
      }
    } catch (e) {
      failures.push({ api, error: message(e) });
    }
  }
  say({ loaded: true, adapters, failures });
}

/** GFLOP/s of a shader of independent vec4 FMAs; the work grows until one dispatch takes ~50 ms. */
async function timeGpu(api) {
  const { adapter } = await open(api);
  if (!adapter) throw new Error('no adapter');
  const device = await adapter.requestDevice();
  const threads = 64 * 1024;
  const out = device.createBuffer({ size: threads * 16, usage: GPUBufferUsage.STORAGE });
  const params = device.createBuffer({ size: 4, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const module = device.createShaderModule({
    code: `
      @group(0) @binding(0) var<storage, read_write> out: array<vec4f>;
      @group(0) @binding(1) var<uniform> n: u32;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        var a = vec4f(f32(id.x) * 1e-6, 0.5, 0.25, 0.125);
        var b = a + vec4f(1.0);
        let m = vec4f(0.999);
        let c = vec4f(1e-3);
        for (var i = 0u; i < n; i++) { a = fma(a, m, c); b = fma(b, m, c); }
        out[id.x] = a + b;
      }`,
  });
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: out } },
      { binding: 1, resource: { buffer: params } },
    ],
  });
  const invalid = await device.popErrorScope();
  if (invalid) throw new Error(invalid.message);
  const run = async (n) => {
    device.queue.writeBuffer(params, 0, new Uint32Array([n]));
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(threads / 64);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  let n = 16;
  let ms = await run(n);
  while (ms < 50 && n < 1 << 20) {
    n *= ms < 5 ? 8 : 2;
    ms = await run(n);
  }
  const best = Math.min(ms, await run(n));
  device.destroy();
  return (threads * n * 2 * 4 * 2) / (best * 1e6);
}

/** One core's scalar rate in JavaScript, times 8 for SIMD, times the cores: what wasm could reach. */
function timeCpu() {
  const a = new Float32Array(1024).fill(0.5);
  let flops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 100) {
    for (let r = 0; r < 64; r++) for (let i = 0; i < a.length; i++) a[i] = a[i] * 0.999 + 1e-3;
    flops += 64 * a.length * 2;
  }
  const gflops = flops / ((performance.now() - t0) * 1e6);
  return gflops * 8 * os.availableParallelism();
}

if (process.argv[2] === 'time') {
  const api = process.argv[3];
  try {
    say({ gpuGflops: await timeGpu(api), cpuGflops: timeCpu() });
  } catch (e) {
    say({ error: message(e) });
  }
} else {
  await list();
}
// Dawn's instances keep threads alive; the answer is out, so leave now.
process.exit(0);
