import * as tf from '@tensorflow/tfjs-core';

/**
 * Adam (Kingma & Ba) with bias correction, over named variables, whose whole state (step count and
 * both moments) can be read out and restored bit for bit, so a resumed run continues exactly.
 *
 * A backend may register ADAM_KERNEL, one parameter's whole update in one pass: inputs {p, g, m, v},
 * AdamKernelAttrs, outputs [p, m, v] updated, computed in the same order of float32 operations as
 * the composed form below, so both give the same numbers (the project's wasm kernels do:
 * ml/kernels/wasm/index.ts). Elsewhere each update is about a dozen tfjs kernels.
 */
export const ADAM_KERNEL = 'SrAdam';

export interface AdamKernelAttrs {
  readonly gradScale: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ. */
  readonly c1: number;
  readonly c2: number;
  readonly epsilon: number;
  readonly lr: number;
}

export class Adam {
  readonly beta1 = 0.9;
  readonly beta2 = 0.999;
  readonly epsilon = 1e-8;
  step = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();

  constructor(params: ReadonlyMap<string, tf.Variable>) {
    const zeros = (p: tf.Variable) => {
      const z = tf.zerosLike(p);
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    for (const [name, p] of params) {
      this.#m.set(name, zeros(p));
      this.#v.set(name, zeros(p));
    }
  }

  /**
   * params ← params − lr · m̂ / (√v̂ + ε), with each gradient first multiplied by `gradScale`.
   * `grads` is keyed by tfjs variable name, as tf.variableGrads returns them.
   */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: Readonly<Record<string, tf.Tensor>>,
    lr: number,
    gradScale = 1,
  ): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    const fused = tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
    const attrs: AdamKernelAttrs = {
      gradScale,
      beta1: this.beta1,
      beta2: this.beta2,
      c1,
      c2,
      epsilon: this.epsilon,
      lr,
    };
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g0 = grads[p.name];
        if (!g0) throw new Error(`no gradient for ${name}`);
        const m = this.#m.get(name)!;
        const v = this.#v.get(name)!;
        if (fused) {
          const [p1, m1, v1] = tf
            .engine()
            .runKernel(ADAM_KERNEL, { p, g: g0, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          m.assign(m1!);
          v.assign(v1!);
          p.assign(p1!);
          continue;
        }
        const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
  }

  async state(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, m] of this.#m) out.set(`m.${name}`, Float32Array.from((await m.data()) as Float32Array));
    for (const [name, v] of this.#v) out.set(`v.${name}`, Float32Array.from((await v.data()) as Float32Array));
    return out;
  }

  load(step: number, state: ReadonlyMap<string, Float32Array>): void {
    this.step = step;
    for (const [prefix, vars] of [
      ['m', this.#m],
      ['v', this.#v],
    ] as const) {
      for (const [name, variable] of vars) {
        const data = state.get(`${prefix}.${name}`);
        if (!data || data.length !== variable.size)
          throw new Error(`optimizer state ${prefix}.${name} is missing or the wrong size`);
        tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
      }
    }
  }

  /** Back to a fresh optimizer: step 0, both moments zero. */
  reset(): void {
    this.step = 0;
    tf.tidy(() => {
      for (const v of [...this.#m.values(), ...this.#v.values()]) v.assign(tf.zerosLike(v));
    });
  }

  dispose(): void {
    for (const v of [...this.#m.values(), ...this.#v.values()]) v.dispose();
  }
}
