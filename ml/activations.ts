import * as tf from '@tensorflow/tfjs-core';

/**
 * The activations a network can use, in one explicit map.
 *
 * TanhExp(x) = x · tanh(eˣ), with derivative tanh(eˣ) − x·eˣ·(tanh²(eˣ) − 1), switching to the
 * identity (value x, slope 1) for x > 20 where eˣ would overflow float32 further on.
 */
export const ACTIVATION_NAMES = ['tanhexp', 'swish', 'mish', 'relu'] as const;
export type ActivationName = (typeof ACTIVATION_NAMES)[number];
export type Activation = (x: tf.Tensor) => tf.Tensor;

export const TANHEXP_THRESHOLD = 20;

/**
 * The activations that can run as one kernel each way on backends that register them (the project's
 * webgpu and wasm kernels do: ml/kernels/webgpu/index.ts, ml/kernels/wasm/index.ts): `SrActivation`
 * {x} → f(x) and `SrActivationGrad` {x, dy} → dy · f′(x), with attr `activation`. Elsewhere they are
 * composed from tfjs ops below.
 */
export type SmoothActivation = Exclude<ActivationName, 'relu'>;
export const ACTIVATION_KERNEL = 'SrActivation';
export const ACTIVATION_GRAD_KERNEL = 'SrActivationGrad';
/**
 * Optional, for training: `SrActivationWithSlope` {x} → [f(x), f′(x)] in one pass. Where a backend has
 * it (the project's wasm kernels), a forward pass that records gradients saves the slope and the
 * backward pass is dy · f′(x), one multiplication, instead of recomputing f′ from x (for TanhExp two
 * exponentials an element). It saves one tensor per activation, as saving x did.
 */
export const ACTIVATION_SLOPE_KERNEL = 'SrActivationWithSlope';

tf.registerGradient({
  kernelName: ACTIVATION_KERNEL,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({
    x: () =>
      tf
        .engine()
        .runKernel(
          ACTIVATION_GRAD_KERNEL,
          { x: saved[0]!, dy: dy as tf.Tensor },
          attrs as tf.NamedAttrMap,
        ) as tf.Tensor,
  }),
});

/** f(x) whose gradient is dy times the slope the kernel computed with it. */
function withSlope(activation: SmoothActivation): Activation {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const [value, slope] = tf.engine().runKernel(ACTIVATION_SLOPE_KERNEL, { x }, { activation }) as [
      tf.Tensor,
      tf.Tensor,
    ];
    save([slope]);
    slope.dispose(); // what save() keeps is its own clone
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  }) as Activation;
}

/** `composed` unless the active backend has the one-pass kernels for the activation. */
function oneKernelWhereRegistered(activation: SmoothActivation, composed: Activation): Activation {
  const training = withSlope(activation);
  return (x) => {
    const backend = tf.getBackend();
    if (tf.engine().isTapeOn() && tf.getKernel(ACTIVATION_SLOPE_KERNEL, backend)) return training(x);
    return tf.getKernel(ACTIVATION_KERNEL, backend)
      ? (tf.engine().runKernel(ACTIVATION_KERNEL, { x }, { activation }) as tf.Tensor)
      : composed(x);
  };
}

export function isActivationName(s: unknown): s is ActivationName {
  return typeof s === 'string' && (ACTIVATION_NAMES as readonly string[]).includes(s);
}

/**
 * tanh(u) and sech²(u) = 1 − tanh²(u) for u = eˣ ≥ 0, computed without cancellation or overflow on
 * every backend: with s = e^(−2u) ∈ (0, 1], tanh u = (1 − s)/(1 + s) and sech² u = 4s/(1 + s)².
 * For small u, 1 − s cancels, so tanh u comes from its series u − u³/3 + 2u⁵/15 there.
 */
function tanhAndSech2(u: tf.Tensor): { t: tf.Tensor; sech2: tf.Tensor } {
  const s = tf.exp(tf.mul(u, -2));
  const onePlusS = tf.add(s, 1);
  const direct = tf.div(tf.sub(1, s), onePlusS);
  const u2 = tf.square(u);
  const series = tf.mul(u, tf.add(1, tf.mul(u2, tf.add(-1 / 3, tf.mul(u2, 2 / 15)))));
  const t = tf.where(tf.less(u, 0.125), series, direct);
  const sech2 = tf.div(tf.mul(s, 4), tf.square(onePlusS));
  return { t, sech2 };
}

/**
 * tanh(u) for u ≥ 0 to float32 precision on every backend. The cpu, wasm and tensorflow backends
 * compute tanh with the C/JS library function; tfjs-webgpu (and backends not known here) uses
 * (1 − e^(−2u))/(1 + e^(−2u)), which cancels for small u, so those get the series form above.
 */
function accurateTanh(u: tf.Tensor): tf.Tensor {
  const b = tf.getBackend();
  return b === 'cpu' || b === 'wasm' || b === 'tensorflow' ? tf.tanh(u) : tanhAndSech2(u).t;
}

const tanhExp: Activation = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  // For x > 20, u = e²⁰ and tanh(u) is exactly 1 in float32, so x · tanh(u) is exactly x: the
  // identity branch of the specification without a separate select.
  const value = tf.tidy(() => tf.mul(x, accurateTanh(tf.exp(tf.minimum(x, TANHEXP_THRESHOLD)))));
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
    tf.tidy(() => {
      const xs = saved[0]!;
      const big = tf.greater(xs, TANHEXP_THRESHOLD);
      const xc = tf.minimum(xs, TANHEXP_THRESHOLD);
      const u = tf.exp(xc);
      const { t, sech2 } = tanhAndSech2(u);
      // tanh(u) − x·u·(tanh²(u) − 1) = tanh(u) + x·u·sech²(u)
      const d = tf.add(t, tf.mul(tf.mul(xc, u), sech2));
      return tf.mul(dy, tf.where(big, tf.onesLike(xs), d));
    });
  return { value, gradFunc };
}) as Activation;

export const ACTIVATIONS: Readonly<Record<ActivationName, Activation>> = {
  tanhexp: oneKernelWhereRegistered('tanhexp', tanhExp),
  swish: oneKernelWhereRegistered('swish', (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(x)))),
  mish: oneKernelWhereRegistered('mish', (x) => tf.tidy(() => tf.mul(x, tf.tanh(tf.softplus(x))))),
  relu: (x) => tf.relu(x),
};

/** Float64 references, for tests and for plotting the functions. */
export const ACTIVATIONS_F64: Readonly<
  Record<ActivationName, { f: (x: number) => number; df: (x: number) => number }>
> = {
  tanhexp: {
    f: (x) => (x > TANHEXP_THRESHOLD ? x : x * Math.tanh(Math.exp(x))),
    df: (x) => {
      if (x > TANHEXP_THRESHOLD) return 1;
      const e = Math.exp(x);
      const t = Math.tanh(e);
      return t - x * e * (t * t - 1);
    },
  },
  swish: {
    f: (x) => x / (1 + Math.exp(-x)),
    df: (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s + x * s * (1 - s);
    },
  },
  mish: {
    f: (x) => x * Math.tanh(softplus64(x)),
    df: (x) => {
      const t = Math.tanh(softplus64(x));
      const s = 1 / (1 + Math.exp(-x));
      return t + x * (1 - t * t) * s;
    },
  },
  relu: { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0) },
};

function softplus64(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}
