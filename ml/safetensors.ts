/**
 * The .safetensors container: an 8-byte little-endian header length N, N bytes of JSON
 * ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { string: string } }),
 * then the raw little-endian tensor data. Only F32 tensors are written; F32, F16 and BF16 are read.
 */
export interface SafeTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafeTensorsFile {
  readonly tensors: ReadonlyMap<string, SafeTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function encodeSafeTensors(
  tensors: ReadonlyMap<string, SafeTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape ${t.shape} does not hold ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  const headerBytes = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20);
  headerBytes.set(raw);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, p += 4) view.setFloat32(p, t.data[i]!, true);
  }
  return out;
}

/** Parses a file; throws Error with a short reason (callers turn it into a user error). */
export function decodeSafeTensors(bytes: Uint8Array): SafeTensorsFile {
  if (bytes.length < 8) throw new Error('the file is shorter than a header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER || 8 + n > bytes.length) throw new Error('the header length is invalid');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new Error('the header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new Error('the header is not an object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw new Error('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new Error(`metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new Error(`tensor ${name} is not an object`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = e.shape;
    const offs = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`tensor ${name} has an invalid shape`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`tensor ${name} has invalid data offsets`);
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = e.dtype === 'F32' ? 4 : e.dtype === 'F16' || e.dtype === 'BF16' ? 2 : 0;
    if (!size) throw new Error(`tensor ${name} has unsupported dtype ${String(e.dtype)}`);
    if (end < begin || end > dataLen || end - begin !== count * size)
      throw new Error(`tensor ${name}'s data is out of bounds or the wrong size`);
    const data = new Float32Array(count);
    const base = dataStart + begin;
    for (let i = 0; i < count; i++) {
      if (size === 4) data[i] = view.getFloat32(base + 4 * i, true);
      else if (e.dtype === 'BF16') data[i] = bf16(view.getUint16(base + 2 * i, true));
      else data[i] = f16(view.getUint16(base + 2 * i, true));
    }
    tensors.set(name, { shape: shape as number[], data });
  }
  return { tensors, metadata };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}
function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
