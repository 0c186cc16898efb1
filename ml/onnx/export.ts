import type { ActivationName } from '../activations.ts';
import { convSpecs, parameterShapes, type NetworkConfig } from '../network.ts';
import type { TrainingSummary } from '../weights.ts';
import { activationForward } from './activation-ops.ts';
import { CONV_ATTRS, GraphBuilder, ONNX_OPSET, writeModel, type Dims, type GraphNode } from './graph.ts';

/**
 * The network as a standard ONNX model: opset 17, one input `input` [N, 3, H, W] (float RGB in
 * [0, 1], NCHW, batch, height and width dynamic) and one output `output` [N, 3, H·s, W·s], not
 * clamped. Every op is in the default domain and older than opset 17, so ONNX Runtime, chaiNNer
 * and other ONNX tools run it as is. The graph is the engine's forward pass op for op:
 *   Conv (3×3, pad 1) · the activation from elementary ops (TanhExp: Exp, Tanh, Mul; Swish: Sigmoid,
 *   Mul, which ONNX Runtime fuses into one op) · Add for every skip · DepthToSpace (CRD = PyTorch's
 *   pixel shuffle) · Resize (linear, half_pixel = PyTorch's bilinear with align_corners=False) for
 *   the global skip.
 * Weights are the file's own OIHW arrays, stored raw; every intermediate value's shape is declared.
 */
export { ONNX_OPSET };

export interface OnnxExportOptions {
  /**
   * `nhwc` takes and gives interleaved RGB ([N, H, W, 3]) through a Transpose at each end, for
   * callers whose pixels are interleaved (the app's own runtime); files for other tools are NCHW.
   */
  readonly layout?: 'nchw' | 'nhwc';
  /** Clip the output to [0, 1] in the graph (the app's own runtime; files for other tools do not). */
  readonly clamp?: boolean;
  /** Shown to tools as the model's description. */
  readonly description?: string;
  readonly training?: TrainingSummary | undefined;
  readonly producerVersion?: string;
}

function graphNodes(
  config: NetworkConfig,
  weights: ReadonlyMap<string, Float32Array>,
  nhwc: boolean,
  clamp: boolean,
): GraphBuilder {
  const g = new GraphBuilder();
  const s = config.scale;
  const rgb: Dims = ['batch', 3, 'height', 'width'];
  const feat: Dims = ['batch', config.features, 'height', 'width'];
  const rgbOut: Dims = ['batch', 3, `height*${s}`, `width*${s}`];
  const x = nhwc ? g.add('Transpose', ['input'], rgb, [{ name: 'perm', ints: [0, 3, 1, 2] }], 'nchw') : 'input';
  for (const { name, shape } of parameterShapes(config)) {
    const data = weights.get(name);
    if (!data) throw new Error(`missing parameter ${name}`);
    g.constant(name, shape, data);
  }
  const specs = new Map(convSpecs(config).map((s) => [s.name, s]));
  const conv = (name: string, x: string) => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no conv ${name}`);
    return g.add(
      'Conv',
      [x, `${name}.weight`, `${name}.bias`],
      ['batch', spec.cout, 'height', 'width'],
      CONV_ATTRS,
      name.replaceAll('.', '_'),
    );
  };
  const c = config;
  const h = conv('head', x);
  let group = h;
  for (let gi = 0; gi < c.groups; gi++) {
    let y = group;
    for (let b = 0; b < c.blocks; b++) {
      const p = `body.${gi}.body.${b}`;
      y = g.add('Add', [y, conv(`${p}.c2`, activationForward(g, c.activation, conv(`${p}.c1`, y), feat).y)], feat);
    }
    group = g.add('Add', [group, conv(`body.${gi}.body.${c.blocks}`, y)], feat);
  }
  const body = g.add('Add', [h, conv(`body.${c.groups}`, group)], feat);
  const up = g.add('DepthToSpace', [conv('up.0', body)], rgbOut, [
    { name: 'blocksize', i: c.scale },
    { name: 'mode', s: 'CRD' },
  ]);
  const scales = g.constant('skip_scales', [4], Float32Array.of(1, 1, c.scale, c.scale));
  const skip = g.add('Resize', [x, '', scales], rgbOut, [
    { name: 'mode', s: 'linear' },
    { name: 'coordinate_transformation_mode', s: 'half_pixel' },
  ]);
  // The final op writes `output`: the sum, then optionally a clip and a transpose.
  const tail: Array<(x: string) => GraphNode> = [
    (x) => ({ op: 'Add', inputs: [up, x], outputs: [], name: 'Add_output' }),
  ];
  if (clamp) {
    const lo = g.constant('clip_min', [], Float32Array.of(0));
    const hi = g.constant('clip_max', [], Float32Array.of(1));
    tail.push((x) => ({ op: 'Clip', inputs: [x, lo, hi], outputs: [], name: 'Clip_output' }));
  }
  if (nhwc)
    tail.push((x) => ({
      op: 'Transpose',
      inputs: [x],
      outputs: [],
      name: 'Transpose_output',
      attrs: [{ name: 'perm', ints: [0, 2, 3, 1] }],
    }));
  let value = skip;
  for (const [i, make] of tail.entries()) {
    const node = make(value);
    value = i === tail.length - 1 ? 'output' : `${node.name.toLowerCase()}_value`;
    g.nodes.push({ ...node, outputs: [value] });
    if (value !== 'output') g.shapes.set(value, rgbOut);
  }
  return g;
}

/**
 * One activation alone as an ONNX model (`input` → `output`, any shape, float32), built as the
 * network's graph builds it: for checking how a runtime evaluates it, extreme inputs included.
 */
export function activationModel(act: ActivationName): Uint8Array {
  const g = new GraphBuilder();
  const dims: Dims = ['n'];
  g.rename(activationForward(g, act, 'input', dims).y, 'output');
  return writeModel(g, { graphName: act, inputs: [{ name: 'input', dims }], outputs: [{ name: 'output', dims }] });
}

/** Serialises the network as an ONNX ModelProto. */
export function exportOnnx(
  config: NetworkConfig,
  weights: ReadonlyMap<string, Float32Array>,
  options: OnnxExportOptions = {},
): Uint8Array {
  const nhwc = options.layout === 'nhwc';
  const g = graphNodes(config, weights, nhwc, options.clamp ?? false);
  const s = config.scale;
  const metadata: Record<string, string> = {
    'sr-studio.config': JSON.stringify(config),
    'sr-studio.activation': config.activation,
    'sr-studio.scale': String(s),
    'sr-studio.input': `RGB, float in [0, 1], ${nhwc ? 'NHWC' : 'NCHW'}`,
  };
  if (options.training) metadata['sr-studio.training'] = JSON.stringify(options.training);
  const dims = (h: string, w: string) => (nhwc ? ['batch', h, w, 3] : ['batch', 3, h, w]);
  return writeModel(g, {
    graphName: `sr_studio_rir_x${s}`,
    inputs: [{ name: 'input', dims: dims('height', 'width') }],
    outputs: [{ name: 'output', dims: dims(`height*${s}`, `width*${s}`) }],
    producerVersion: options.producerVersion,
    description:
      options.description ??
      `Super-resolution x${s} (residual-in-residual CNN, ${config.activation}): RGB in [0, 1], output ${options.clamp ? 'clipped to [0, 1]' : 'not clamped'}.`,
    metadata,
  });
}
