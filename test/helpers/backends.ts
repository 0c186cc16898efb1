import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { initBackend, probeBackends, type ConcreteBackend, type Purpose } from '../../ml/node/backends.ts';

/**
 * Which tfjs backends a test run should cover on this machine, and how to start one.
 *
 * `availableBackends` only reads the probes: it never tries a backend and drops it when it fails.
 * A backend that the probes report available but that then fails to start makes `useBackend` throw,
 * so the test that asked for it fails instead of silently covering less.
 *
 * SR_TEST_BACKENDS=cpu,wasm,webgpu pins the list (a CI machine that must cover webgpu sets it):
 * a pinned backend that is not available throws here.
 */
export async function availableBackends(purpose: Purpose): Promise<ConcreteBackend[]> {
  const probes = await probeBackends();
  const fits = (name: ConcreteBackend) => {
    const p = probes.find((q) => q.name === name);
    if (!p) throw new Error(`probeBackends() did not report ${name}`);
    if (!p.available) return { ok: false, why: p.reason ?? 'not available' };
    if (purpose === 'train' && !p.canTrain) return { ok: false, why: 'cannot train' };
    return { ok: true, why: '' };
  };
  const pinned = process.env.SR_TEST_BACKENDS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (pinned?.length) {
    for (const name of pinned) {
      const f = fits(name as ConcreteBackend);
      if (!f.ok) throw new Error(`SR_TEST_BACKENDS names ${name}, but it is not usable for ${purpose}: ${f.why}`);
    }
    return pinned as ConcreteBackend[];
  }
  // cpu always, wasm always for inference: if the probes ever say otherwise, that is a failure.
  const always: ConcreteBackend[] = purpose === 'train' ? ['cpu'] : ['cpu', 'wasm'];
  for (const name of always) {
    const f = fits(name);
    if (!f.ok) throw new Error(`the ${name} backend must always be available for ${purpose}, but: ${f.why}`);
  }
  const order: ConcreteBackend[] = ['cpu', 'wasm', 'webgpu', 'tensorflow'];
  return order.filter((name) => fits(name).ok);
}

/**
 * Switches tfjs to `name` and checks that it really is the active backend. Throws (never falls back)
 * when it cannot start. wasm has no training kernels, so it is started for inference; tf.grad of
 * elementwise ops still works there.
 */
export async function useBackend(name: ConcreteBackend, purpose: Purpose = 'train'): Promise<void> {
  await initBackend(name, name === 'wasm' ? 'upscale' : purpose);
  if (tf.getBackend() !== name) throw new Error(`asked for the ${name} backend but tfjs is on ${tf.getBackend()}`);
}

/** Whether TensorFlow's Node bindings are installed (they cannot be offline: their C library is a download). */
export const tensorflowInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
});
