import * as tf from '@tensorflow/tfjs-core';
import { TANHEXP_THRESHOLD, type SmoothActivation } from '../../activations.ts';
import type { Program } from './program.ts';

/**
 * tanh(u) and sech²(u) for u = eˣ ≥ 0, as in ml/activations.ts: with s = e^(−2u),
 * tanh u = (1 − s)/(1 + s) (its series below u = 0.125, where 1 − s cancels) and sech² u = 4s/(1 + s)².
 */
const TANH_SECH2 = /* wgsl */ `
  fn tanhPos(u : vec4<f32>, s : vec4<f32>) -> vec4<f32> {
    let u2 = u * u;
    let series = u * (1.0 + u2 * (-1.0 / 3.0 + u2 * (2.0 / 15.0)));
    return select((1.0 - s) / (1.0 + s), series, u < vec4<f32>(0.125));
  }
`;

/** Forward value f(x) and slope f′(x) of each smooth activation, on vec4s. */
export const ACTIVATION_WGSL: Record<SmoothActivation, { value: string; slope: string }> = {
  tanhexp: {
    value: `
      let u = exp(min(v, vec4<f32>(${TANHEXP_THRESHOLD}.0)));
      return v * tanhPos(u, exp(-2.0 * u));`,
    slope: `
      let xc = min(v, vec4<f32>(${TANHEXP_THRESHOLD}.0));
      let u = exp(xc);
      let s = exp(-2.0 * u);
      let d = tanhPos(u, s) + xc * u * (4.0 * s / ((1.0 + s) * (1.0 + s)));
      return select(d, vec4<f32>(1.0), v > vec4<f32>(${TANHEXP_THRESHOLD}.0));`,
  },
  swish: {
    value: `
      return v / (1.0 + exp(-v));`,
    slope: `
      let sg = 1.0 / (1.0 + exp(-v));
      return sg + v * sg * (1.0 - sg);`,
  },
  // tanh(softplus x) = w/(w + 2) with n = eˣ, w = n(n + 2); 1 − tanh² = 4(w + 1)/(w + 2)²; σ(x) = n/(1 + n).
  mish: {
    value: `
      let n = exp(min(v, vec4<f32>(20.0)));
      let w = n * (n + 2.0);
      return v * (w / (w + 2.0));`,
    slope: `
      let n = exp(min(v, vec4<f32>(20.0)));
      let w = n * (n + 2.0);
      let d = w / (w + 2.0) + v * (4.0 * (w + 1.0) / ((w + 2.0) * (w + 2.0))) * (n / (1.0 + n));
      return select(d, vec4<f32>(1.0), v > vec4<f32>(20.0));`,
  },
};

/** y = f(x), or with `grad`, dx = dy · f′(x); four elements per thread. */
export class ActivationProgram implements Program {
  variableNames: string[];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'n : i32,';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey: string;
  readonly #act: SmoothActivation;
  readonly #grad: boolean;

  constructor(act: SmoothActivation, grad: boolean, shape: number[]) {
    this.#act = act;
    this.#grad = grad;
    this.variableNames = grad ? ['x', 'dy'] : ['x'];
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(shape) / 4 / 64), 1, 1];
    this.shaderKey = `srActivation_${act}_${grad}`;
  }

  getUserCode(): string {
    const f = ACTIVATION_WGSL[this.#act];
    // The last thread's 1–3 lanes past the end re-read the last element and write nothing.
    const load = (name: string) =>
      `vec4<f32>(${[0, 1, 2, 3].map((k) => `${name}[min(i + ${k}, uniforms.n - 1)]`).join(', ')})`;
    return /* wgsl */ `
      ${TANH_SECH2}
      fn f(v : vec4<f32>) -> vec4<f32> { ${this.#grad ? f.slope : f.value} }
      fn main(index : i32) {
        let i = index * 4;
        if (i < uniforms.n) {
          let r = f(${load('x')})${this.#grad ? ` * ${load('dy')}` : ''};
          for (var k = 0; k < 4; k++) {
            if (i + k < uniforms.n) { result[i + k] = r[k]; }
          }
        }
      }
    `;
  }
}
