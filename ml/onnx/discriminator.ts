import { DISC_SLOPE, discLayout, discStride, type DiscLayer } from '../train/discriminator.ts';
import { convBackward, convInputGrad } from './conv-grad.ts';
import { CONV_ATTRS, GraphBuilder, writeModel, type ValueSpec } from './graph.ts';

/**
 * The discriminator of a perceptual run (ml/train/discriminator.ts) in plain ONNX ops: its forward
 * pass, its backward pass written out op by op, the generator's adversarial loss with its gradient
 * with respect to the generator's output (built into the generator's step, ml/onnx/train-graph.ts),
 * and the discriminator's own step. Its weights come in as `d_weights`, flat in discLayout's order,
 * already spectrally normalised (Ŵ = W/σ); the gradient through σ and Adam are computed beside the
 * graph (ml/train/discriminator.ts).
 *
 * Losses are the vanilla GAN's with logits, as Real-ESRGAN's: the generator's is mean softplus(−D(G(x))),
 * the discriminator's mean softplus(−D(real)) + mean softplus(D(fake)), each mean over the logit
 * map's positions and the batch.
 */

/** The discriminator's parameters out of the flat vector `input`: each name's value (weights reshaped to OIHW). */
export function discParams(g: GraphBuilder, input: string, layers: readonly DiscLayer[]): Map<string, string> {
  const layout = discLayout(layers);
  const pieces = g.addMany(
    'Split',
    [input, g.ints(layout.map((e) => e.size))],
    layout.map((e) => [e.size]),
    [{ name: 'axis', i: 0 }],
    'dparam',
  );
  const out = new Map<string, string>();
  layout.forEach((e, i) =>
    out.set(
      e.name,
      e.shape.length === 1 ? pieces[i]! : g.add('Reshape', [pieces[i]!, g.ints(e.shape)], e.shape, [], 'dweight'),
    ),
  );
  return out;
}

/** What the backward pass needs of the forward: each layer's input, its conv's output and its side. */
export interface DiscTape {
  readonly logits: string;
  readonly layers: ReadonlyArray<{ readonly input: string; readonly pre: string; readonly side: number }>;
}

/** The forward pass on `input` [n, 3, side, side]; the logits are [n, 1, side/8, side/8]. */
export function discForward(
  g: GraphBuilder,
  layers: readonly DiscLayer[],
  params: ReadonlyMap<string, string>,
  input: string,
  n: number,
  side: number,
): DiscTape {
  const tape: Array<{ input: string; pre: string; side: number }> = [];
  let x = input;
  let s = side;
  for (const l of layers) {
    const pre = g.add(
      'Conv',
      [x, params.get(`${l.name}.weight`)!, params.get(`${l.name}.bias`)!],
      [n, l.cout, s, s],
      CONV_ATTRS,
      `d_${l.name}`,
    );
    tape.push({ input: x, pre, side: s });
    if (!l.pooled) return { logits: pre, layers: tape };
    const z = g.add('LeakyRelu', [pre], [n, l.cout, s, s], [{ name: 'alpha', f: DISC_SLOPE }], 'd_lrelu');
    s /= 2;
    x = g.add(
      'AveragePool',
      [z],
      [n, l.cout, s, s],
      [
        { name: 'kernel_shape', ints: [2, 2] },
        { name: 'strides', ints: [2, 2] },
      ],
      'd_pool',
    );
  }
  throw new Error('the discriminator ends with a layer that is not pooled');
}

/**
 * The backward pass from the logits' gradient: each parameter's gradient (by name, when `filters`)
 * and the input's gradient (when `input`). A 2×2 average pool's gradient is its output's gradient
 * spread over each 2×2 block, a quarter each (a nearest-neighbour upscale × ¼), and LeakyReLU's
 * passes the gradient where the conv's output was positive and 0.2 of it elsewhere: the two
 * together are one upscale times a map of ¼ or 0.2·¼.
 */
export function discBackward(
  g: GraphBuilder,
  layers: readonly DiscLayer[],
  params: ReadonlyMap<string, string>,
  tape: DiscTape,
  dLogits: string,
  n: number,
  o: { readonly filters: boolean; readonly input: boolean },
): { grads: Map<string, string>; dInput: string | undefined } {
  const grads = new Map<string, string>();
  const up = upScales(g);
  const quarter = g.scalar(0.25);
  const slopeQuarter = g.scalar(0.25 * DISC_SLOPE);
  let dy: string | undefined = dLogits;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    const t = tape.layers[i]!;
    const dims = [n, l.cout, t.side, t.side];
    if (l.pooled) {
      const spread = g.add(
        'Resize',
        [dy!, '', up],
        dims,
        [
          { name: 'mode', s: 'nearest' },
          { name: 'coordinate_transformation_mode', s: 'asymmetric' },
          { name: 'nearest_mode', s: 'floor' },
        ],
        'd_unpool',
      );
      const positive = g.addTyped('Greater', [t.pre, g.scalar(0)], dims, 'bool', [], 'd_positive');
      const factor = g.add('Where', [positive, quarter, slopeQuarter], dims, [], 'd_factor');
      dy = g.add('Mul', [spread, factor], dims, [], 'd_dpre');
    }
    const needInput = i > 0 || o.input;
    const weight = params.get(`${l.name}.weight`)!;
    const shape = { n, cin: l.cin, cout: l.cout, p: t.side };
    if (o.filters) {
      const r = convBackward(g, { input: t.input, dy: dy!, weight, ...shape, needInput });
      grads.set(`${l.name}.weight`, r.dw);
      grads.set(`${l.name}.bias`, r.db);
      dy = r.dx;
    } else {
      dy = needInput ? convInputGrad(g, { dy: dy!, weight, ...shape }) : undefined;
    }
  }
  return { grads, dInput: o.input ? dy : undefined };
}

/**
 * sigmoid(x) as exp(−softplus(−x)), given −x (`negX`): accurate to float32 rounding in relative
 * terms for any x, where ONNX Runtime's Sigmoid kernel is a fast approximation that is 0 below −18
 * and off by up to 6e-8 elsewhere (a certain discriminator's gradients would be lost).
 */
function sigmoid(g: GraphBuilder, negX: string, dims: readonly number[]): string {
  return g.add('Exp', [g.add('Neg', [g.add('Softplus', [negX], dims)], dims)], dims, [], 'd_sigmoid');
}

/** Resize's scales for a 2× upscale of H and W, made once per graph. */
function upScales(g: GraphBuilder): string {
  const name = 'd_up_scales';
  if (!g.initializers.some((i) => i.name === name)) g.constant(name, [4], Float32Array.of(1, 1, 2, 2));
  return name;
}

/**
 * The generator's adversarial loss on its output `out` [n, 3, side, side], mean softplus(−D(out)),
 * and its gradient with respect to `out`, through the discriminator whose weights are `d_weights`
 * (not trained by this step).
 */
export function adversarialLoss(
  g: GraphBuilder,
  layers: readonly DiscLayer[],
  out: string,
  n: number,
  side: number,
): { loss: string; dOut: string } {
  const params = discParams(g, 'd_weights', layers);
  const tape = discForward(g, layers, params, out, n, side);
  const h = side / discStride(layers);
  const dims = [n, 1, h, h];
  // softplus(−l) and its derivative −sigmoid(−l).
  const neg = g.add('Neg', [tape.logits], dims, [], 'd_neg');
  const loss = g.add('ReduceMean', [g.add('Softplus', [neg], dims)], [], [{ name: 'keepdims', i: 0 }], 'adv');
  const dLogits = g.add('Mul', [sigmoid(g, tape.logits, dims), g.scalar(-1 / (n * h * h))], dims, [], 'd_dlogits');
  const { dInput } = discBackward(g, layers, params, tape, dLogits, n, { filters: false, input: true });
  return { loss, dOut: dInput! };
}

export interface DiscStepOptions {
  readonly layers: readonly DiscLayer[];
  readonly batch: number;
  /** The HR patch side (patch × scale), a multiple of discStride. */
  readonly side: number;
}

/**
 * The discriminator's step as a model: its loss on the real HR patches `hr` [N, side, side, 3]
 * (interleaved RGB, as the patch sampler makes them) and on the generator's patches `fake`
 * [N, 3, side, side] (the generator step's `output`, taken as it is: nothing flows back into the
 * generator), and the gradient of that loss with respect to `d_weights` (Ŵ and the biases).
 * Outputs `d_loss` and `d_grad` [Q]. Real and fake patches go through as one batch of 2N.
 */
export function discStepModel(o: DiscStepOptions): Uint8Array {
  const { layers, batch: n, side } = o;
  if (side % discStride(layers) !== 0)
    throw new Error(`the discriminator needs a side divisible by ${discStride(layers)}`);
  const g = new GraphBuilder();
  const layout = discLayout(layers);
  const Q = layout.reduce((a, e) => a + e.size, 0);
  const real = g.add('Transpose', ['hr'], [n, 3, side, side], [{ name: 'perm', ints: [0, 3, 1, 2] }], 'real');
  const both = g.add('Concat', [real, 'fake'], [2 * n, 3, side, side], [{ name: 'axis', i: 0 }], 'both');
  const params = discParams(g, 'd_weights', layers);
  const tape = discForward(g, layers, params, both, 2 * n, side);
  const h = side / discStride(layers);
  const dims = [2 * n, 1, h, h];
  const count = n * h * h;
  // Real patches' logits are negated: softplus(−l) for real, softplus(l) for fake, and the
  // derivative of softplus(s·l) is s·sigmoid(s·l).
  const sign = Float32Array.from({ length: 2 * n }, (_, i) => (i < n ? -1 : 1));
  const s = g.constant('d_sign', [2 * n, 1, 1, 1], sign);
  const sOverCount = g.constant(
    'd_sign_over_count',
    [2 * n, 1, 1, 1],
    Float32Array.from(sign, (x) => x / count),
  );
  const signed = g.add('Mul', [tape.logits, s], dims, [], 'd_signed');
  const total = g.add('ReduceSum', [g.add('Softplus', [signed], dims)], [], [{ name: 'keepdims', i: 0 }]);
  const loss = g.add('Mul', [total, g.scalar(1 / count)], [], [], 'd_loss');
  const negSigned = g.add('Neg', [signed], dims, [], 'd_neg');
  const dLogits = g.add('Mul', [sigmoid(g, negSigned, dims), sOverCount], dims, [], 'd_dlogits');
  const { grads } = discBackward(g, layers, params, tape, dLogits, 2 * n, { filters: true, input: false });
  const flat = g.add(
    'Concat',
    layout.map((e) =>
      e.shape.length === 1
        ? grads.get(e.name)!
        : g.add('Reshape', [grads.get(e.name)!, g.ints([-1])], [e.size], [], 'd_flatgrad'),
    ),
    [Q],
    [{ name: 'axis', i: 0 }],
    'd_grad',
  );
  g.rename(loss, 'd_loss');
  g.rename(flat, 'd_grad');
  const inputs: ValueSpec[] = [
    { name: 'hr', dims: [n, side, side, 3] },
    { name: 'fake', dims: [n, 3, side, side] },
    { name: 'd_weights', dims: [Q] },
  ];
  return writeModel(g, {
    graphName: 'sr_studio_discriminator_step',
    inputs,
    outputs: [
      { name: 'd_loss', dims: [] },
      { name: 'd_grad', dims: [Q] },
    ],
    description: 'SR Studio discriminator step',
  });
}

/**
 * The generator's adversarial loss alone as a model (inputs `output` [n, 3, side, side] and
 * `d_weights`; outputs `adv_loss` and `d_output`, its gradient), built as the generator's step
 * builds it: for checking it against a reference.
 */
export function adversarialLossModel(layers: readonly DiscLayer[], n: number, side: number): Uint8Array {
  const g = new GraphBuilder();
  const Q = discLayout(layers).reduce((a, e) => a + e.size, 0);
  const { loss, dOut } = adversarialLoss(g, layers, 'output', n, side);
  g.rename(loss, 'adv_loss');
  g.rename(dOut, 'd_output');
  return writeModel(g, {
    graphName: 'adversarial_loss',
    inputs: [
      { name: 'output', dims: [n, 3, side, side] },
      { name: 'd_weights', dims: [Q] },
    ],
    outputs: [
      { name: 'adv_loss', dims: [] },
      { name: 'd_output', dims: [n, 3, side, side] },
    ],
  });
}
