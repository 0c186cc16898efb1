import type { ActivationName } from '../activations.ts';
import { convSpecs, parameterShapes, type NetworkConfig } from '../network.ts';
import type { TrainingSummary } from '../weights.ts';
import { ProtoWriter } from './protobuf.ts';

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
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
const IR_VERSION = 8;

const FLOAT = 1;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

type Attr = { name: string } & ({ i: number } | { s: string } | { ints: readonly number[] } | { f: number });

interface Node {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: readonly Attr[];
}

interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

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

type Dims = ReadonlyArray<number | string>;

/**
 * Builds the graph as a list of nodes, with fresh names for intermediate values and the shape of each
 * (symbolic height and width), written as value_info: with them ONNX Runtime can tell that the two
 * sides of every skip connection have one shape, and fuses those Adds into its convolutions even where
 * a layout change sits between them (as around TanhExp's Exp, which its NCHWc layout does not carry).
 */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  readonly shapes = new Map<string, Dims>();
  #n = 0;

  constant(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  add(op: string, inputs: string[], dims: Dims, attrs: Attr[] = [], hint = op.toLowerCase()): string {
    const out = `${hint}_${this.#n++}`;
    this.nodes.push({ op, inputs, outputs: [out], name: `${op}_${this.#n}`, attrs });
    this.shapes.set(out, dims);
    return out;
  }
}

function activation(g: GraphBuilder, act: ActivationName, x: string, dims: Dims): string {
  switch (act) {
    case 'relu':
      return g.add('Relu', [x], dims);
    case 'swish':
      return g.add('Mul', [x, g.add('Sigmoid', [x], dims)], dims, [], 'swish');
    case 'mish':
      return g.add('Mul', [x, g.add('Tanh', [g.add('Softplus', [x], dims)], dims)], dims, [], 'mish');
    case 'tanhexp':
      // x·tanh(eˣ) in three ops. The engine's identity for x > 20 needs no op of its own: tanh(eˣ) is
      // exactly 1 in float32 from x ≈ 2.3 on, and where eˣ overflows (x > 88.7) tanh(+inf) is 1.
      return g.add('Mul', [x, g.add('Tanh', [g.add('Exp', [x], dims)], dims)], dims, [], 'tanhexp');
  }
}

function graphNodes(config: NetworkConfig, weights: ReadonlyMap<string, Float32Array>, nhwc: boolean, clamp: boolean): GraphBuilder {
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
      [
        { name: 'kernel_shape', ints: [3, 3] },
        { name: 'pads', ints: [1, 1, 1, 1] },
        { name: 'strides', ints: [1, 1] },
        { name: 'dilations', ints: [1, 1] },
        { name: 'group', i: 1 },
      ],
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
      y = g.add('Add', [y, conv(`${p}.c2`, activation(g, c.activation, conv(`${p}.c1`, y), feat))], feat);
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
  const tail: Array<(x: string) => Node> = [(x) => ({ op: 'Add', inputs: [up, x], outputs: [], name: 'Add_output' })];
  if (clamp) {
    const lo = g.constant('clip_min', [], Float32Array.of(0));
    const hi = g.constant('clip_max', [], Float32Array.of(1));
    tail.push((x) => ({ op: 'Clip', inputs: [x, lo, hi], outputs: [], name: 'Clip_output' }));
  }
  if (nhwc) tail.push((x) => ({ op: 'Transpose', inputs: [x], outputs: [], name: 'Transpose_output', attrs: [{ name: 'perm', ints: [0, 2, 3, 1] }] }));
  let value = skip;
  for (const [i, make] of tail.entries()) {
    const node = make(value);
    value = i === tail.length - 1 ? 'output' : `${node.name.toLowerCase()}_value`;
    g.nodes.push({ ...node, outputs: [value] });
    if (value !== 'output') g.shapes.set(value, rgbOut);
  }
  return g;
}

function writeAttr(w: ProtoWriter, a: Attr): void {
  w.string(1, a.name);
  if ('i' in a) w.int(3, a.i).int(20, ATTR.INT);
  else if ('f' in a) w.float(2, a.f).int(20, ATTR.FLOAT);
  else if ('s' in a) w.string(4, a.s).int(20, ATTR.STRING);
  else {
    for (const v of a.ints) w.int(8, v);
    w.int(20, ATTR.INTS);
  }
}

function writeValueInfo(w: ProtoWriter, name: string, dims: ReadonlyArray<number | string>): void {
  w.string(1, name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, FLOAT);
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Little-endian bytes of a float array (copied, so the caller's array is not aliased). */
function rawBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** The GraphProto: nodes, initializers, the input and output, and every intermediate value's shape. */
function writeGraph(graph: ProtoWriter, g: GraphBuilder, name: string, input: Dims, output: Dims): void {
  for (const n of g.nodes) {
    graph.message(1, (node) => {
      for (const i of n.inputs) node.string(1, i);
      for (const o of n.outputs) node.string(2, o);
      node.string(3, n.name).string(4, n.op);
      for (const a of n.attrs ?? []) node.message(5, (attr) => writeAttr(attr, a));
    });
  }
  graph.string(2, name);
  for (const init of g.initializers) {
    graph.message(5, (t) => {
      for (const d of init.dims) t.int(1, d);
      t.int(2, FLOAT).string(8, init.name).bytes(9, rawBytes(init.data));
    });
  }
  graph.message(11, (v) => writeValueInfo(v, 'input', input));
  graph.message(12, (v) => writeValueInfo(v, 'output', output));
  for (const [value, d] of g.shapes) graph.message(13, (v) => writeValueInfo(v, value, d));
}

/**
 * One activation alone as an ONNX model (`input` → `output`, any shape, float32), built as the
 * network's graph builds it: for checking how a runtime evaluates it, extreme inputs included.
 */
export function activationModel(act: ActivationName): Uint8Array {
  const g = new GraphBuilder();
  const dims: Dims = ['n'];
  const out = activation(g, act, 'input', dims);
  g.shapes.delete(out);
  const last = g.nodes.at(-1)!;
  g.nodes[g.nodes.length - 1] = { ...last, outputs: ['output'] };
  const w = new ProtoWriter();
  w.int(1, IR_VERSION).string(2, 'sr-studio');
  w.message(7, (graph) => writeGraph(graph, g, act, dims, dims));
  w.message(8, (opset) => opset.string(1, '').int(2, ONNX_OPSET));
  return w.finish();
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
  const meta: Record<string, string> = {
    'sr-studio.config': JSON.stringify(config),
    'sr-studio.activation': config.activation,
    'sr-studio.scale': String(s),
    'sr-studio.input': `RGB, float in [0, 1], ${nhwc ? 'NHWC' : 'NCHW'}`,
  };
  if (options.training) meta['sr-studio.training'] = JSON.stringify(options.training);
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, 'sr-studio');
  if (options.producerVersion) w.string(3, options.producerVersion);
  w.int(5, 1);
  w.string(
    6,
    options.description ??
      `Super-resolution x${s} (residual-in-residual CNN, ${config.activation}): RGB in [0, 1], output ${options.clamp ? 'clipped to [0, 1]' : 'not clamped'}.`,
  );
  const dims = (h: string, w: string) => (nhwc ? ['batch', h, w, 3] : ['batch', 3, h, w]);
  w.message(7, (graph) => writeGraph(graph, g, `sr_studio_rir_x${s}`, dims('height', 'width'), dims(`height*${s}`, `width*${s}`)));
  w.message(8, (opset) => opset.string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(meta)) w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}
