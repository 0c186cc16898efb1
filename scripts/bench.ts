/**
 * Inference benchmark: one 256×256 input through each preset, on every available backend, with
 * TanhExp and Swish, all measured in this one run. Prints a table and the TanhExp/Swish ratios.
 *
 *   npm run bench [-- --backends cpu,wasm,webgpu] [--presets tiny,light,standard] [--size 256] [--budget 10]
 *
 * Each configuration gets one warm-up pass, then repeats until `budget` seconds or 5 runs; the
 * median is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import type { ActivationName } from '../ml/activations.ts';
import { Network, PRESET_NAMES, presetConfig, type PresetName } from '../ml/network.ts';
import { initBackend, probeBackends } from '../ml/node/backends.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string' },
    presets: { type: 'string', default: PRESET_NAMES.join(',') },
    size: { type: 'string', default: '256' },
    budget: { type: 'string', default: '10' },
    json: { type: 'boolean' },
  },
});
const size = Number(values.size);
const budgetMs = Number(values.budget) * 1000;
const presets = values.presets!.split(',') as PresetName[];
const acts: ActivationName[] = ['swish', 'tanhexp'];
const probes = await probeBackends();
const backends = values.backends ? values.backends.split(',') : probes.filter((p) => p.available).map((p) => p.name);

interface Row {
  backend: string;
  device: string;
  preset: string;
  act: string;
  ms: number;
  runs: number;
}
const rows: Row[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const b of backends) {
  let device: string;
  try {
    device = (await initBackend(b, 'inference')).device;
  } catch (e) {
    console.error(`${b}: skipped (${(e as Error).message})`);
    continue;
  }
  for (const preset of presets) {
    for (const act of acts) {
      const net = Network.create(presetConfig(preset, 2, act), 1);
      const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const run = async () => {
        const t = performance.now();
        const y = net.forward(x);
        await y.data();
        y.dispose();
        return performance.now() - t;
      };
      await run();
      const times: number[] = [];
      const start = performance.now();
      do times.push(await run());
      while (times.length < 5 && performance.now() - start < budgetMs);
      x.dispose();
      net.dispose();
      const row = { backend: b, device, preset, act, ms: median(times), runs: times.length };
      rows.push(row);
      if (!values.json) console.error(`${b.padEnd(7)} ${preset.padEnd(9)} ${act.padEnd(8)} ${row.ms.toFixed(1).padStart(9)} ms  (median of ${row.runs})`);
    }
  }
}

const ratios = rows
  .filter((r) => r.act === 'tanhexp')
  .map((t) => {
    const s = rows.find((r) => r.backend === t.backend && r.preset === t.preset && r.act === 'swish')!;
    return { backend: t.backend, preset: t.preset, tanhexpMs: t.ms, swishMs: s.ms, ratio: t.ms / s.ms };
  });

if (values.json) {
  console.log(JSON.stringify({ size, scale: 2, rows, ratios }));
} else {
  console.log(`\nInference of one ${size}×${size} image at x2 (median ms), measured in this run:\n`);
  console.log('backend  preset     swish ms   tanhexp ms   tanhexp/swish   output MP/s (tanhexp)');
  for (const r of ratios) {
    const mps = (size * size * 4) / 1e6 / (r.tanhexpMs / 1000);
    console.log(
      `${r.backend.padEnd(8)} ${r.preset.padEnd(9)} ${r.swishMs.toFixed(1).padStart(9)} ${r.tanhexpMs.toFixed(1).padStart(12)} ${r.ratio.toFixed(3).padStart(15)} ${mps.toFixed(3).padStart(22)}`,
    );
  }
  const devices = [...new Set(rows.map((r) => `${r.backend}: ${r.device}`))];
  console.log(`\nDevices: ${devices.join('; ')}`);
}
