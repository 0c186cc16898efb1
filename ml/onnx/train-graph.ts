import type { ActivationName } from '../activations.ts';
import { convSpecs, parameterShapes, type NetworkConfig } from '../network.ts';
import { CHARBONNIER_EPS } from '../train/config.ts';
import { activationBackward, activationForward } from './activation-ops.ts';
import { discLayout, type DiscLayer } from '../train/discriminator.ts';
import { convBackward } from './conv-grad.ts';
import { adversarialLoss } from './discriminator.ts';
import { CONV_ATTRS, GraphBuilder, writeModel, type Dims, type ValueSpec } from './graph.ts';

/**
 * One whole training step as a standard ONNX model, for ONNX Runtime: the network's forward pass,
 * the loss, the backward pass written out op by op (no training extensions: every op is in the
 * default domain), the global gradient norm and clipping, Adam with bias correction, and the EMA
 * of the weights when the run keeps one.
 *
 * Inputs: `lr` [N, p, p, 3] and `hr` [N, p·s, p·s, 3] (interleaved RGB, as the patch sampler makes
 * them); `params`, `adam_m`, `adam_v` (and `ema`) [P], every parameter flat in PyTorch's
 * state_dict order and layout (OIHW); scalars `learning_rate`, `bias_correction1` (1 − β₁ᵗ) and
 * `bias_correction2` (1 − β₂ᵗ). Outputs: `loss`, `grad_sq_norm` (before clipping), and the updated
 * `params_out`, `adam_m_out`, `adam_v_out` (and `ema_out`). Nothing is updated in place: a caller
 * whose loss or gradient is not finite keeps its inputs, and the step never happened.
 *
 * Adam's update is written in the order of float32 operations of the trainer's own (ml/train/adam.ts).
 */
export interface TrainGraphOptions {
  readonly network: NetworkConfig;
  readonly batch: number;
  readonly patch: number;
  readonly loss: 'l1' | 'charbonnier';
  readonly clipNorm: number;
  /** The EMA's decay; 0: no EMA input or output. */
  readonly emaDecay: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Adds the output `grad` [P]: the flat gradient before clipping (for checking it). */
  readonly gradientOutput?: boolean;
  /**
   * A perceptual run's step: the discriminator's layers and the adversarial loss's weight. Adds
   * the input `d_weights` [Q] (the discriminator's normalised weights, not trained by this step)
   * and the outputs `pixel_loss`, `adv_loss` and `output` [N, 3, p·s, p·s] (the generated patch,
   * for the discriminator's step); `loss` is then pixel_loss + weight × adv_loss.
   */
  readonly adversarial?: { readonly layers: readonly DiscLayer[]; readonly weight: number } | undefined;
}

/** The flat parameter vector's layout: each parameter's name, shape, offset and size. */
export function flatLayout(
  network: NetworkConfig,
): Array<{ name: string; shape: number[]; offset: number; size: number }> {
  let offset = 0;
  return parameterShapes(network).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { name, shape, offset, size };
    offset += size;
    return entry;
  });
}

export function trainStepModel(o: TrainGraphOptions): Uint8Array {
  const c = o.network;
  const s = c.scale;
  const n = o.batch;
  const p = o.patch;
  const f = c.features;
  const P = flatLayout(c).reduce((a, e) => a + e.size, 0);
  const g = new GraphBuilder();
  const feat: Dims = [n, f, p, p];
  const rgbIn: Dims = [n, 3, p, p];
  const rgbOut: Dims = [n, 3, p * s, p * s];
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  const epsilon = o.epsilon ?? 1e-8;

  // Parameters out of the flat vector.
  const layout = flatLayout(c);
  const pieces = g.addMany(
    'Split',
    ['params', g.ints(layout.map((e) => e.size))],
    layout.map((e) => [e.size]),
    [{ name: 'axis', i: 0 }],
    'param',
  );
  const param = new Map<string, string>();
  layout.forEach((e, i) =>
    param.set(
      e.name,
      e.shape.length === 1 ? pieces[i]! : g.add('Reshape', [pieces[i]!, g.ints(e.shape)], e.shape, [], 'weight'),
    ),
  );
  const specs = new Map(convSpecs(c).map((sp) => [sp.name, sp]));

  // ---- forward ----
  const x = g.add('Transpose', ['lr'], rgbIn, [{ name: 'perm', ints: [0, 3, 1, 2] }], 'x');
  const target = g.add('Transpose', ['hr'], rgbOut, [{ name: 'perm', ints: [0, 3, 1, 2] }], 'target');
  const conv = (name: string, input: string) => {
    const sp = specs.get(name)!;
    return g.add(
      'Conv',
      [input, param.get(`${name}.weight`)!, param.get(`${name}.bias`)!],
      [n, sp.cout, p, p],
      CONV_ATTRS,
      name.replaceAll('.', '_'),
    );
  };
  interface Block {
    readonly p: string;
    readonly yIn: string;
    readonly a: string;
    readonly saved: readonly string[];
    readonly z: string;
  }
  const groups: Array<{ groupIn: string; blocks: Block[]; yLast: string }> = [];
  const h = conv('head', x);
  let group = h;
  for (let gi = 0; gi < c.groups; gi++) {
    const blocks: Block[] = [];
    let y = group;
    for (let b = 0; b < c.blocks; b++) {
      const name = `body.${gi}.body.${b}`;
      const a = conv(`${name}.c1`, y);
      const act = activationForward(g, c.activation, a, feat);
      blocks.push({ p: name, yIn: y, a, saved: act.saved, z: act.y });
      y = g.add('Add', [y, conv(`${name}.c2`, act.y)], feat);
    }
    groups.push({ groupIn: group, blocks, yLast: y });
    group = g.add('Add', [group, conv(`body.${gi}.body.${c.blocks}`, y)], feat);
  }
  const body = g.add('Add', [h, conv(`body.${c.groups}`, group)], feat);
  const upc = conv('up.0', body);
  const up = g.add('DepthToSpace', [upc], rgbOut, [
    { name: 'blocksize', i: s },
    { name: 'mode', s: 'CRD' },
  ]);
  const skip = g.add('Resize', [x, '', g.constant('skip_scales', [4], Float32Array.of(1, 1, s, s))], rgbOut, [
    { name: 'mode', s: 'linear' },
    { name: 'coordinate_transformation_mode', s: 'half_pixel' },
  ]);
  const out = g.add('Add', [up, skip], rgbOut, [], 'output');

  // ---- loss and its gradient ----
  const diff = g.add('Sub', [out, target], rgbOut);
  const count = n * 3 * p * s * p * s;
  let perPixel: string;
  let dOut: string;
  if (o.loss === 'l1') {
    perPixel = g.add('Abs', [diff], rgbOut);
    dOut = g.add('Mul', [g.add('Sign', [diff], rgbOut), g.scalar(1 / count)], rgbOut);
  } else {
    perPixel = g.add(
      'Sqrt',
      [g.add('Add', [g.add('Mul', [diff, diff], rgbOut), g.scalar(CHARBONNIER_EPS ** 2)], rgbOut)],
      rgbOut,
    );
    dOut = g.add('Mul', [g.add('Div', [diff, perPixel], rgbOut), g.scalar(1 / count)], rgbOut);
  }
  const pixelLoss = g.add('ReduceMean', [perPixel], [], [{ name: 'keepdims', i: 0 }]);
  const adv = o.adversarial;
  if (!adv) g.rename(pixelLoss, 'loss');
  else {
    // The adversarial loss's gradient joins the pixel loss's at the output.
    const a = adversarialLoss(g, adv.layers, out, n, p * s);
    const w = g.scalar(adv.weight);
    dOut = g.add('Add', [dOut, g.add('Mul', [a.dOut, w], rgbOut)], rgbOut, [], 'dout');
    g.rename(g.add('Add', [pixelLoss, g.add('Mul', [a.loss, w], [])], []), 'loss');
    g.rename(pixelLoss, 'pixel_loss');
    g.rename(a.loss, 'adv_loss');
  }

  // ---- backward ----
  const grads = new Map<string, string>();
  /** Records a conv's filter and bias gradients; returns its input's gradient (unless `needInput` is false). */
  const convBack = (name: string, input: string, dy: string, needInput = true): string | undefined => {
    const sp = specs.get(name)!;
    const r = convBackward(g, {
      input,
      dy,
      weight: param.get(`${name}.weight`)!,
      n,
      cin: sp.cin,
      cout: sp.cout,
      p,
      needInput,
    });
    grads.set(`${name}.weight`, r.dw);
    grads.set(`${name}.bias`, r.db);
    return r.dx;
  };
  // The pixel shuffle's gradient: DepthToSpace (CRD) undone by a reshape and a transpose.
  const r5 = g.add('Reshape', [dOut, g.ints([n, 3, p, s, p, s])], [n, 3, p, s, p, s]);
  const r6 = g.add('Transpose', [r5], [n, 3, s, s, p, p], [{ name: 'perm', ints: [0, 1, 3, 5, 2, 4] }]);
  const dUpc = g.add('Reshape', [r6, g.ints([n, 3 * s * s, p, p])], [n, 3 * s * s, p, p], [], 'dup');
  const dBody = convBack('up.0', body, dUpc)!;
  let dGroup = convBack(`body.${c.groups}`, group, dBody)!;
  for (let gi = c.groups - 1; gi >= 0; gi--) {
    const gr = groups[gi]!;
    // group_out = group_in + conv(y_last): the skip passes dGroup to group_in as it is.
    let dy = convBack(`body.${gi}.body.${c.blocks}`, gr.yLast, dGroup)!;
    for (let b = c.blocks - 1; b >= 0; b--) {
      const bl = gr.blocks[b]!;
      // y_out = y_in + c2(act(c1(y_in)))
      const dz = convBack(`${bl.p}.c2`, bl.z, dy)!;
      const da = activationBackward(g, c.activation, bl.a, bl.saved, dz, feat);
      dy = g.add('Add', [dy, convBack(`${bl.p}.c1`, bl.yIn, da)!], feat, [], 'dy');
    }
    dGroup = g.add('Add', [dGroup, dy], feat, [], 'dgroup');
  }
  const dHead = g.add('Add', [dBody, dGroup], feat, [], 'dhead');
  convBack('head', x, dHead, false);

  // ---- clipping, Adam, EMA on the flat vector ----
  const flat = g.add(
    'Concat',
    layout.map((e) =>
      e.shape.length === 1
        ? grads.get(e.name)!
        : g.add('Reshape', [grads.get(e.name)!, g.ints([-1])], [e.size], [], 'flatgrad'),
    ),
    [P],
    [{ name: 'axis', i: 0 }],
    'grad',
  );
  if (o.gradientOutput) g.rename(g.add('Identity', [flat], [P]), 'grad');
  const sq = g.add('ReduceSumSquare', [flat], [], [{ name: 'keepdims', i: 0 }], 'sq');
  const norm = g.add('Sqrt', [sq], []);
  const clip = g.add('Min', [g.scalar(1), g.add('Div', [g.scalar(o.clipNorm), norm], [])], [], [], 'clip');
  const gs = g.add('Mul', [flat, clip], [P]);
  const m1 = g.add(
    'Add',
    [g.add('Mul', ['adam_m', g.scalar(beta1)], [P]), g.add('Mul', [gs, g.scalar(1 - beta1)], [P])],
    [P],
  );
  const v1 = g.add(
    'Add',
    [
      g.add('Mul', ['adam_v', g.scalar(beta2)], [P]),
      g.add('Mul', [g.add('Mul', [gs, gs], [P]), g.scalar(1 - beta2)], [P]),
    ],
    [P],
  );
  const mHat = g.add('Div', [m1, 'bias_correction1'], [P]);
  const denom = g.add(
    'Add',
    [g.add('Sqrt', [g.add('Div', [v1, 'bias_correction2'], [P])], [P]), g.scalar(epsilon)],
    [P],
  );
  const p1 = g.add('Sub', ['params', g.add('Mul', [g.add('Div', [mHat, denom], [P]), 'learning_rate'], [P])], [P]);
  g.rename(sq, 'grad_sq_norm');
  g.rename(m1, 'adam_m_out');
  g.rename(v1, 'adam_v_out');
  const outputs: ValueSpec[] = [
    { name: 'loss', dims: [] },
    { name: 'grad_sq_norm', dims: [] },
    { name: 'params_out', dims: [P] },
    { name: 'adam_m_out', dims: [P] },
    { name: 'adam_v_out', dims: [P] },
  ];
  const inputs: ValueSpec[] = [
    { name: 'lr', dims: [n, p, p, 3] },
    { name: 'hr', dims: [n, p * s, p * s, 3] },
    { name: 'params', dims: [P] },
    { name: 'adam_m', dims: [P] },
    { name: 'adam_v', dims: [P] },
    { name: 'learning_rate', dims: [] },
    { name: 'bias_correction1', dims: [] },
    { name: 'bias_correction2', dims: [] },
  ];
  if (o.gradientOutput) outputs.push({ name: 'grad', dims: [P] });
  if (adv) {
    const Q = discLayout(adv.layers).reduce((a, e) => a + e.size, 0);
    inputs.push({ name: 'd_weights', dims: [Q] });
    g.rename(out, 'output');
    outputs.push({ name: 'pixel_loss', dims: [] }, { name: 'adv_loss', dims: [] }, { name: 'output', dims: rgbOut });
  }
  if (o.emaDecay > 0) {
    inputs.push({ name: 'ema', dims: [P] });
    outputs.push({ name: 'ema_out', dims: [P] });
    g.add(
      'Add',
      [g.add('Mul', ['ema', g.scalar(o.emaDecay)], [P]), g.add('Mul', [p1, g.scalar(1 - o.emaDecay)], [P])],
      [P],
    );
    g.rename(g.nodes.at(-1)!.outputs[0]!, 'ema_out');
  }
  g.rename(p1, 'params_out');
  return writeModel(g, {
    graphName: `sr_studio_train_step_x${s}`,
    inputs,
    outputs,
    description: 'SR Studio training step',
  });
}

/**
 * One activation forward and backward as a model (inputs `x` and `dy`, outputs `y` and `dx`, any
 * length), built as the training step builds it: for checking both against a reference.
 */
export function activationGradModel(act: ActivationName): Uint8Array {
  const g = new GraphBuilder();
  const dims: Dims = ['n'];
  const f = activationForward(g, act, 'x', dims);
  g.rename(activationBackward(g, act, 'x', f.saved, 'dy', dims), 'dx');
  g.rename(f.y, 'y');
  return writeModel(g, {
    graphName: `${act}_grad`,
    inputs: [
      { name: 'x', dims },
      { name: 'dy', dims },
    ],
    outputs: [
      { name: 'y', dims },
      { name: 'dx', dims },
    ],
  });
}
