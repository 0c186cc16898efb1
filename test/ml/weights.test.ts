import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../ml/errors.ts';
import { Network, parameterShapes, presetConfig, type NetworkConfig } from '../../ml/network.ts';
import { Rng } from '../../ml/random.ts';
import { decodeSafeTensors, encodeSafeTensors } from '../../ml/safetensors.ts';
import { WEIGHTS_FORMAT, decodeModel, encodeModel } from '../../ml/weights.ts';
import { useBackend } from '../helpers/backends.ts';

/** Weights files: round trip, byte layout, every mismatch error, inferred configs, F16/BF16. */

const FILE = 'm.safetensors';

/** Non-trivial OIHW weights and biases for every parameter. */
function randomWeights(config: NetworkConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  return new Map(
    parameterShapes(config).map(({ name, shape }) => [
      name,
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.1),
    ]),
  );
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function assertBitIdentical(got: ReadonlyMap<string, Float32Array>, want: ReadonlyMap<string, Float32Array>) {
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [name, w] of want) assert.deepEqual(bits(got.get(name)!), bits(w), name);
}

/** A file's parts, parsed by hand: the header length, the JSON header and the data section. */
// biome-ignore lint/suspicious/noExplicitAny: the header is edited as free JSON, broken on purpose
function split(bytes: Uint8Array): { n: number; header: Record<string, any>; data: Uint8Array } {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  return { n, header, data: bytes.subarray(8 + n) };
}

/** Writes a file by hand: header length (or `length`), JSON header padded to 8 bytes, data. */
function join(header: object, data: Uint8Array, length?: bigint): Uint8Array {
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(json.length));
  return new Uint8Array(Buffer.concat([len, json, data]));
}

/** Asserts `fn` throws a UserError of `code` whose one-sentence message names the file and `names`. */
function assertUserError(fn: () => unknown, code: string, ...names: Array<string | RegExp>) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `not a UserError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.file, FILE);
    assert.ok(e.message.includes(JSON.stringify(FILE)), `no file name in: ${e.message}`);
    for (const n of names) {
      if (typeof n === 'string') assert.ok(e.message.includes(n), `"${n}" not in: ${e.message}`);
      else assert.match(e.message, n);
    }
    // One sentence: ends with a full stop, and no full stop inside starts another.
    assert.match(e.message, /\.$/, e.message);
    assert.doesNotMatch(e.message, /[.!?]\s+[A-Z]/, `more than one sentence: ${e.message}`);
    return true;
  });
}

before(async () => {
  await useBackend('cpu');
});

describe('round trip', () => {
  const config = presetConfig('tiny', 3, 'swish');
  const weights = randomWeights(config, 1);

  test('encode → decode keeps config, training summary and bit-identical arrays; the network is the same', async () => {
    const net = new Network(config, weights);
    const saved = await net.weights();
    assertBitIdentical(saved, weights); // OIHW → HWIO → OIHW loses nothing
    const bytes = encodeModel(config, saved, { iterations: 10 });
    const m = decodeModel(bytes, FILE);
    assert.deepEqual(m.config, config);
    assert.deepEqual(m.training, { iterations: 10 });
    assert.equal(m.metadata.format, WEIGHTS_FORMAT);
    assertBitIdentical(m.weights, weights);

    const copy = new Network(m.config, m.weights);
    const x = tf.tensor4d(
      Float32Array.from({ length: 7 * 6 * 3 }, (_, i) => ((i * 37) % 101) / 100),
      [1, 7, 6, 3],
    );
    const [a, b] = [net.forward(x), copy.forward(x)];
    assert.deepEqual(await b.data(), await a.data());
    tf.dispose([x, a, b]);
    net.dispose();
    copy.dispose();
  });

  describe('the bytes have the safetensors layout, with OIHW weights in little-endian float32', () => {
    let net: Network;
    let parts: ReturnType<typeof split>;
    before(async () => {
      net = new Network(config, weights);
      parts = split(encodeModel(config, await net.weights(), { iterations: 10 }));
    });
    after(() => net.dispose());

    test('the data section starts 8-byte aligned', () => {
      const { n } = parts;
      assert.equal((8 + n) % 8, 0, 'data must start 8-byte aligned');
    });

    test('the metadata holds the config, activation, scale and training summary, all as strings', () => {
      const meta = parts.header.__metadata__;
      assert.deepEqual(JSON.parse(meta.config), config);
      assert.equal(meta.activation, 'swish');
      assert.equal(meta.scale, '3');
      assert.deepEqual(JSON.parse(meta.training), { iterations: 10 });
      assert.ok(Object.values(meta).every((v) => typeof v === 'string'));
    });

    test('every parameter, in state_dict order, F32, contiguous, filling the data section exactly', () => {
      const { header, data } = parts;
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      assert.deepEqual(
        names,
        parameterShapes(config).map((p) => p.name),
      );
      let offset = 0;
      for (const { name, shape } of parameterShapes(config)) {
        const e = header[name];
        assert.equal(e.dtype, 'F32', name);
        assert.deepEqual(e.shape, shape, name);
        const size = shape.reduce((a, b) => a * b, 1) * 4;
        assert.deepEqual(e.data_offsets, [offset, offset + size], name);
        offset += size;
      }
      assert.equal(data.length, offset);
    });

    test("one conv weight element [o, i, kh, kw] in the file is the HWIO variable's [kh, kw, i, o]", async () => {
      const { header, data } = parts;
      const name = 'body.0.body.1.c2.weight';
      const [cout, cin] = header[name].shape as [number, number];
      const hwio = await net.params.get(name)!.data();
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (const [o, i, kh, kw] of [
        [2, 5, 1, 2],
        [15, 0, 2, 0],
        [0, 15, 0, 1],
      ] as const) {
        const at = header[name].data_offsets[0] + 4 * (((o * cin + i) * 3 + kh) * 3 + kw);
        const fromFile = dv.getFloat32(at, true);
        assert.equal(fromFile, weights.get(name)![((o * cin + i) * 3 + kh) * 3 + kw]);
        assert.equal(fromFile, hwio[((kh * 3 + kw) * cin + i) * cout + o], `[${o},${i},${kh},${kw}]`);
      }
    });

    test('a bias is little-endian float32 at its offset too', () => {
      const { header, data } = parts;
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      assert.equal(dv.getFloat32(header['up.0.bias'].data_offsets[0] + 4 * 7, true), weights.get('up.0.bias')![7]);
    });
  });
});

describe('mismatch errors name the file and the offending tensor or property', () => {
  const config = presetConfig('tiny', 2, 'tanhexp');
  const bytes = encodeModel(config, randomWeights(config, 2));
  const parsed = decodeSafeTensors(bytes);

  test('a tensor with the wrong shape', () => {
    const { header, data } = split(bytes);
    header['body.0.body.1.c1.weight'].shape = [16, 16, 9, 1]; // same size, wrong shape
    assertUserError(
      () => decodeModel(join(header, data), FILE),
      'weights-mismatch',
      'body.0.body.1.c1.weight',
      '[16,16,9,1]',
    );
  });

  test('a missing tensor', () => {
    const tensors = new Map(parsed.tensors);
    tensors.delete('body.0.body.2.c2.bias');
    assertUserError(
      () => decodeModel(encodeSafeTensors(tensors, parsed.metadata), FILE),
      'weights-mismatch',
      'body.0.body.2.c2.bias',
      'missing',
    );
  });

  test('an extra tensor', () => {
    const tensors = new Map(parsed.tensors).set('tail.weight', { shape: [2], data: new Float32Array(2) });
    assertUserError(
      () => decodeModel(encodeSafeTensors(tensors, parsed.metadata), FILE),
      'weights-mismatch',
      'tail.weight',
    );
  });

  test('the wrong scale', () => {
    assertUserError(() => decodeModel(bytes, FILE, { scale: 4 }), 'weights-mismatch', /scale 2\b/, /\b4\b/);
  });

  test('the wrong activation', () => {
    assertUserError(
      () => decodeModel(bytes, FILE, { activation: 'relu' }),
      'weights-mismatch',
      'activation tanhexp',
      'relu',
    );
  });

  test('a truncated file names the first tensor cut short', () => {
    const { n, header } = split(bytes);
    const cut = header['body.0.body.2.c1.weight'].data_offsets[0] + 100;
    assertUserError(() => decodeModel(bytes.subarray(0, 8 + n + cut), FILE), 'bad-weights', 'body.0.body.2.c1.weight');
    assertUserError(() => decodeModel(bytes.subarray(0, bytes.length - 1), FILE), 'bad-weights', 'up.0.bias');
    assertUserError(() => decodeModel(bytes.subarray(0, 40), FILE), 'bad-weights', 'header length');
    assertUserError(() => decodeModel(bytes.subarray(0, 5), FILE), 'bad-weights', 'header');
  });

  test('garbage bytes', () => {
    const rng = new Rng(9);
    const garbage = Uint8Array.from({ length: 4096 }, () => rng.int(256));
    assertUserError(() => decodeModel(garbage, FILE), 'bad-weights', 'header');
    // A plausible header length followed by garbage: the header is not JSON.
    const framed = garbage.slice();
    new DataView(framed.buffer).setBigUint64(0, 256n, true);
    assertUserError(() => decodeModel(framed, FILE), 'bad-weights', 'header', 'JSON');
    // Valid JSON that is not an object.
    assertUserError(() => decodeModel(join([1, 2], new Uint8Array(0)), FILE), 'bad-weights', 'header');
  });

  test('a header length past the end of the file', () => {
    const { header, data } = split(bytes);
    assertUserError(() => decodeModel(join(header, data, BigInt(bytes.length)), FILE), 'bad-weights', 'header length');
    assertUserError(() => decodeModel(join(header, data, 2n ** 63n), FILE), 'bad-weights', 'header length');
  });

  test('tensor data out of bounds, an unknown dtype, a metadata value that is not a string', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the header is edited as free JSON, broken on purpose
    const edit = (f: (h: Record<string, any>) => void) => {
      const { header, data } = split(bytes);
      f(header);
      return join(header, data);
    };
    assertUserError(
      () =>
        decodeModel(
          edit((h) => (h['head.bias'].data_offsets = [0, 8])),
          FILE,
        ),
      'bad-weights',
      'head.bias',
    );
    assertUserError(
      () =>
        decodeModel(
          edit((h) => (h['head.bias'].dtype = 'F64')),
          FILE,
        ),
      'bad-weights',
      'head.bias',
      'F64',
    );
    assertUserError(
      () =>
        decodeModel(
          edit((h) => (h.__metadata__.scale = 2)),
          FILE,
        ),
      'bad-weights',
      'scale',
    );
    // An entry that is not an object is named too (not a TypeError about reading its properties).
    assertUserError(
      () =>
        decodeModel(
          edit((h) => (h['up.0.bias'] = null)),
          FILE,
        ),
      'bad-weights',
      'up.0.bias',
    );
    assertUserError(
      () =>
        decodeModel(
          edit((h) => (h['head.weight'] = 3)),
          FILE,
        ),
      'bad-weights',
      'head.weight',
    );
  });

  test('a file inside a larger buffer, at an odd offset, decodes the same', () => {
    const big = new Uint8Array(bytes.length + 7);
    big.set(bytes, 3);
    const m = decodeModel(big.subarray(3, 3 + bytes.length), FILE);
    assertBitIdentical(m.weights, decodeModel(bytes, FILE).weights);
  });

  test('metadata naming an impossible config', () => {
    const metadata = { ...parsed.metadata, config: JSON.stringify({ ...config, scale: 5 }) };
    assertUserError(() => decodeModel(encodeSafeTensors(parsed.tensors, metadata), FILE), 'bad-weights', 'scale 5');
  });
});

describe('files written elsewhere', () => {
  for (const config of [
    presetConfig('tiny', 3, 'swish'),
    presetConfig('light', 4, 'mish'),
    presetConfig('standard', 2, 'relu'),
  ]) {
    test(`without config metadata, ${config.features}×${config.groups}×${config.blocks} x${config.scale} is inferred from the shapes`, () => {
      const weights = randomWeights(config, 3);
      const tensors = new Map(
        parameterShapes(config).map(({ name, shape }) => [name, { shape, data: weights.get(name)! }]),
      );
      const m = decodeModel(encodeSafeTensors(tensors, { activation: config.activation }), FILE);
      assert.deepEqual(m.config, config);
      assert.equal(m.training, undefined);
      assertBitIdentical(m.weights, weights);
      // …but it must name the activation.
      assertUserError(() => decodeModel(encodeSafeTensors(tensors), FILE), 'bad-weights', 'activation');
    });
  }
});

/** Writes raw little-endian 16-bit values as a hand-made file's data. */
const u16 = (values: number[]) => new Uint8Array(Uint16Array.from(values).buffer);

describe('F16 and BF16', () => {
  test('known values decode exactly', () => {
    const f16 = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const f16Want = [1, -2, 0.333251953125, 65504, 2 ** -24, 2 ** -14, -0, Infinity, -Infinity, NaN];
    const bf16 = [0x3f80, 0xc040, 0x4049, 0x0001, 0x8000, 0x7f80];
    const bf16Want = [1, -3, 3.140625, 2 ** -133, -0, Infinity];
    const f32 = new Uint8Array(new Float32Array([0.1]).buffer);
    const header = {
      __metadata__: {},
      h: { dtype: 'F16', shape: [2, 5], data_offsets: [0, 20] },
      b: { dtype: 'BF16', shape: [6], data_offsets: [20, 32] },
      f: { dtype: 'F32', shape: [1], data_offsets: [32, 36] }, // unaligned after 2-byte data is fine
    };
    const file = decodeSafeTensors(join(header, new Uint8Array([...u16(f16), ...u16(bf16), ...f32])));
    const h = file.tensors.get('h')!;
    assert.deepEqual(h.shape, [2, 5]);
    f16Want.forEach((want, i) =>
      assert.ok(Object.is(h.data[i], want), `F16 0x${f16[i]!.toString(16)}: ${h.data[i]} ≠ ${want}`),
    );
    const b = file.tensors.get('b')!;
    bf16Want.forEach((want, i) =>
      assert.ok(Object.is(b.data[i], want), `BF16 0x${bf16[i]!.toString(16)}: ${b.data[i]} ≠ ${want}`),
    );
    assert.equal(file.tensors.get('f')!.data[0], Math.fround(0.1));
  });

  test('a BF16 model file loads, with each weight its float32 truncated to 16 bits', () => {
    const config = presetConfig('tiny', 2, 'relu');
    const weights = randomWeights(config, 4);
    const header: Record<string, unknown> = { __metadata__: { activation: 'relu', scale: '2' } };
    const chunks: number[] = [];
    for (const { name, shape } of parameterShapes(config)) {
      const top = Array.from(bits(weights.get(name)!), (b) => b >>> 16);
      header[name] = { dtype: 'BF16', shape, data_offsets: [chunks.length * 2, (chunks.length + top.length) * 2] };
      chunks.push(...top);
    }
    const m = decodeModel(join(header, u16(chunks)), FILE);
    assert.deepEqual(m.config, config);
    for (const [name, w] of weights) {
      const want = Uint32Array.from(bits(w), (b) => (b & 0xffff0000) >>> 0);
      assert.deepEqual(bits(m.weights.get(name)!), want, name);
    }
  });
});
