import { ProtoWriter } from './protobuf.ts';

/**
 * Building ONNX graphs: nodes with fresh value names, initializers (float32 or int64), every
 * value's shape, and the ModelProto around them. Used by the exporter (ml/onnx/export.ts) and the
 * training step (ml/onnx/train-graph.ts); every op is in the default domain.
 */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
export const IR_VERSION = 8;

const DTYPE = { float: 1, int64: 7, bool: 9 } as const;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export type Attr = { name: string } & ({ i: number } | { s: string } | { ints: readonly number[] } | { f: number });

export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: readonly Attr[];
}

interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export type Dims = ReadonlyArray<number | string>;

/** A graph input or output: its name, element type and shape. */
export interface ValueSpec {
  readonly name: string;
  readonly dims: Dims;
  readonly type?: keyof typeof DTYPE;
}

/**
 * The graph as a list of nodes, with fresh names for intermediate values and the shape of each
 * (symbolic sizes allowed), written as value_info: with them ONNX Runtime can tell that the two
 * sides of every skip connection have one shape, and fuses those Adds into its convolutions even
 * where a layout change sits between them.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  readonly shapes = new Map<string, Dims>();
  /** The element type of each value that is not float32 (a comparison's bool). */
  readonly types = new Map<string, 'int64' | 'bool'>();
  readonly #int64 = new Map<string, string>();
  readonly #floats = new Map<number, string>();
  #n = 0;

  constant(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A float32 scalar constant, made once per value. */
  scalar(v: number): string {
    const key = Math.fround(v);
    let name = this.#floats.get(key);
    if (!name) this.#floats.set(key, (name = this.constant(`const_f${this.#floats.size}`, [], Float32Array.of(v))));
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds), made once per value. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.#int64.get(key);
    if (!name) {
      name = `const_i${this.#int64.size}`;
      this.#int64.set(key, name);
      this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    }
    return name;
  }

  add(op: string, inputs: readonly string[], dims: Dims, attrs: readonly Attr[] = [], hint = op.toLowerCase()): string {
    return this.addMany(op, inputs, [dims], attrs, hint)[0]!;
  }

  /** A node with several outputs (Split). */
  addMany(
    op: string,
    inputs: readonly string[],
    dims: readonly Dims[],
    attrs: readonly Attr[] = [],
    hint = op.toLowerCase(),
  ): string[] {
    const outs = dims.map(() => `${hint}_${this.#n++}`);
    this.nodes.push({ op, inputs, outputs: outs, name: `${op}_${this.#n}`, attrs });
    outs.forEach((o, i) => this.shapes.set(o, dims[i]!));
    return outs;
  }

  /** A node whose output is not float32 (Greater: bool). */
  addTyped(
    op: string,
    inputs: readonly string[],
    dims: Dims,
    type: 'int64' | 'bool',
    attrs: readonly Attr[] = [],
    hint = op.toLowerCase(),
  ): string {
    const out = this.add(op, inputs, dims, attrs, hint);
    this.types.set(out, type);
    return out;
  }

  /** Renames the value `from` everywhere (e.g. to make it a graph output, which later nodes may still read). */
  rename(from: string, to: string): void {
    if (!this.nodes.some((n) => n.outputs.includes(from))) throw new Error(`no node makes ${from}`);
    const swap = (v: string) => (v === from ? to : v);
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      if (n.outputs.includes(from) || n.inputs.includes(from))
        this.nodes[i] = { ...n, inputs: n.inputs.map(swap), outputs: n.outputs.map(swap) };
    }
    this.shapes.delete(from);
    this.types.delete(from);
  }
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

function writeValueInfo(w: ProtoWriter, v: ValueSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DTYPE[v.type ?? 'float']);
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Little-endian bytes of an array (copied, so the caller's array is not aliased). */
function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  else for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i]!, true);
  return out;
}

/** The GraphProto: nodes, initializers, inputs and outputs, and every intermediate value's shape. */
function writeGraph(
  graph: ProtoWriter,
  g: GraphBuilder,
  name: string,
  inputs: readonly ValueSpec[],
  outputs: readonly ValueSpec[],
): void {
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
      t.int(2, init.data instanceof Float32Array ? DTYPE.float : DTYPE.int64)
        .string(8, init.name)
        .bytes(9, rawBytes(init.data));
    });
  }
  for (const v of inputs) graph.message(11, (w) => writeValueInfo(w, v));
  for (const v of outputs) graph.message(12, (w) => writeValueInfo(w, v));
  const io = new Set([...inputs, ...outputs].map((v) => v.name));
  for (const [value, dims] of g.shapes)
    if (!io.has(value))
      graph.message(13, (w) =>
        writeValueInfo(w, { name: value, dims, ...(g.types.has(value) ? { type: g.types.get(value) } : {}) }),
      );
}

export interface ModelInfo {
  readonly graphName: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly producerVersion?: string | undefined;
  readonly description?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** Serialises a graph as an ONNX ModelProto (opset 17, default domain). */
export function writeModel(g: GraphBuilder, info: ModelInfo): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, 'sr-studio');
  if (info.producerVersion) w.string(3, info.producerVersion);
  w.int(5, 1);
  if (info.description) w.string(6, info.description);
  w.message(7, (graph) => writeGraph(graph, g, info.graphName, info.inputs, info.outputs));
  w.message(8, (opset) => opset.string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(info.metadata ?? {}))
    w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}

/** A 3×3 convolution with padding 1 (weights OIHW, bias). */
export const CONV_ATTRS: readonly Attr[] = [
  { name: 'kernel_shape', ints: [3, 3] },
  { name: 'pads', ints: [1, 1, 1, 1] },
  { name: 'strides', ints: [1, 1] },
  { name: 'dilations', ints: [1, 1] },
  { name: 'group', i: 1 },
];
