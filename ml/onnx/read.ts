import { readFields, type ProtoValue } from './protobuf.ts';

/**
 * What an ONNX file declares about itself, read straight from its ModelProto: the operator sets it
 * imports, its metadata, the ops its graph uses (with their domains) and its initialisers (weights).
 * Enough to judge a model someone brings before running it; shapes and types come from the runtime.
 */
export interface OnnxSummary {
  readonly irVersion: number;
  readonly producer: string;
  /** Operator set per domain ('' is the standard one). */
  readonly opsets: ReadonlyMap<string, number>;
  readonly metadata: ReadonlyMap<string, string>;
  /** Each op type the graph uses, by domain ('' is the standard one), sorted. */
  readonly ops: ReadonlyArray<{ readonly domain: string; readonly op: string }>;
  readonly initialisers: number;
  /** Elements in all initialisers together. */
  readonly parameters: number;
  /** The most channels a convolution weight (a 4-D initialiser) takes or gives: the widest feature map. */
  readonly widest: number;
  /** Whether some weights live in files beside the model (external data). */
  readonly externalData: boolean;
  /** Graph inputs that are not initialisers. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

type Field = { field: number } & ProtoValue;

const text = (f: Field): string => (f.wire === 2 ? new TextDecoder().decode(f.value) : '');
const int = (f: Field): number => (f.wire === 0 ? Number(f.value) : 0);
const bytesOf = (f: Field): Uint8Array => (f.wire === 2 ? f.value : new Uint8Array());

/** Every varint of a repeated int64 field, packed or not. */
function ints(fields: readonly Field[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === 0) out.push(Number(f.value));
    else if (f.wire === 2) {
      // Packed: a run of varints.
      let v = 0;
      let shift = 1;
      for (const b of f.value) {
        v += (b & 0x7f) * shift;
        shift *= 128;
        if (!(b & 0x80)) {
          out.push(v);
          v = 0;
          shift = 1;
        }
      }
    }
  }
  return out;
}

function tensorSummary(bytes: Uint8Array): { name: string; elements: number; external: boolean; channels: number } {
  const fields = readFields(bytes);
  const dims = ints(fields, 1);
  const name = text(fields.find((f) => f.field === 8) ?? { field: 8, wire: 0, value: 0n });
  // data_location (14) = 1 is EXTERNAL.
  const external = fields.some((f) => f.field === 14 && int(f) === 1);
  return {
    name,
    elements: dims.reduce((a, b) => a * b, 1),
    external,
    channels: dims.length === 4 ? Math.max(dims[0]!, dims[1]!) : 0,
  };
}

const nameOf = (bytes: Uint8Array): string => {
  const f = readFields(bytes).find((x) => x.field === 1);
  return f ? text(f) : '';
};

/**
 * Reads a ModelProto's summary; throws a plain Error when the bytes are not one (the caller words
 * it for people).
 */
export function readOnnxSummary(bytes: Uint8Array): OnnxSummary {
  const model = readFields(bytes);
  const graphField = model.find((f) => f.field === 7);
  if (graphField?.wire !== 2) throw new Error('no graph');
  const opsets = new Map<string, number>();
  const metadata = new Map<string, string>();
  let producer = '';
  let irVersion = 0;
  for (const f of model) {
    if (f.field === 1) irVersion = int(f);
    else if (f.field === 2) producer = text(f);
    else if (f.field === 8) {
      const o = readFields(bytesOf(f));
      const domain = o.find((x) => x.field === 1);
      const version = o.find((x) => x.field === 2);
      opsets.set(domain ? text(domain) : '', version ? int(version) : 0);
    } else if (f.field === 14) {
      const e = readFields(bytesOf(f));
      const k = e.find((x) => x.field === 1);
      const v = e.find((x) => x.field === 2);
      if (k) metadata.set(text(k), v ? text(v) : '');
    }
  }
  const graph = readFields(graphField.value);
  const ops = new Map<string, { domain: string; op: string }>();
  const initNames = new Set<string>();
  let parameters = 0;
  let widest = 0;
  let initialisers = 0;
  let externalData = false;
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const f of graph) {
    if (f.field === 1) {
      const node = readFields(bytesOf(f));
      const op = text(node.find((x) => x.field === 4) ?? f);
      const d = node.find((x) => x.field === 7);
      const domain = d ? text(d) : '';
      ops.set(`${domain}\u0000${op}`, { domain: domain === 'ai.onnx' ? '' : domain, op });
    } else if (f.field === 5) {
      const t = tensorSummary(bytesOf(f));
      initialisers++;
      parameters += t.elements;
      widest = Math.max(widest, t.channels);
      externalData ||= t.external;
      initNames.add(t.name);
    } else if (f.field === 11) inputs.push(nameOf(bytesOf(f)));
    else if (f.field === 12) outputs.push(nameOf(bytesOf(f)));
  }
  const sorted = [...ops.values()].sort((a, b) => a.domain.localeCompare(b.domain) || a.op.localeCompare(b.op));
  return {
    irVersion,
    producer,
    opsets,
    metadata,
    ops: sorted,
    initialisers,
    parameters,
    widest,
    externalData,
    inputs: inputs.filter((n) => !initNames.has(n)),
    outputs,
  };
}
