import { TANHEXP_THRESHOLD } from '../../activations.ts';

/**
 * The WebAssembly text of the project's kernels for the tfjs wasm backend (ml/kernels/wasm/index.ts),
 * written as small TypeScript helpers that expand to WAT, so that eˣ and the other formulas are
 * spelled once and inlined into every loop (V8 does not inline calls between wasm functions).
 * `npm run build:wasm` assembles it (the `wabt` package) into ./bytes.ts; a test checks that the
 * committed bytes are what this source assembles to.
 *
 * The module imports the backend's own memory: every pointer is a byte offset of a float32 array that
 * tfjs allocated there, every count a number of elements. Outputs never alias inputs.
 *
 * The activations use the cancellation-free formulas of ml/activations.ts and the webgpu kernels
 * (ml/kernels/webgpu/activation.ts): with u = eˣ and s = e^(−2u), tanh u = (1 − s)/(1 + s) (its series
 * u − u³/3 + 2u⁵/15 below u = 0.125, where 1 − s cancels) and sech² u = 4s/(1 + s)²; TanhExp and Mish
 * switch to the identity (value x, slope 1) for x > 20. NaN stays NaN, so a diverging step is still
 * seen as one.
 */

type E = string;
const k = (v: number): E => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;
const get = (name: string): E => `(local.get $${name})`;
const set = (name: string, e: E): E => `(local.set $${name} ${e})`;
const op =
  (name: string) =>
  (...args: E[]): E =>
    `(f32x4.${name} ${args.join(' ')})`;
const [add, sub, mul, div, lt, gt] = ['add', 'sub', 'mul', 'div', 'lt', 'gt'].map(op) as [
  (a: E, b: E) => E,
  (a: E, b: E) => E,
  (a: E, b: E) => E,
  (a: E, b: E) => E,
  (a: E, b: E) => E,
  (a: E, b: E) => E,
];
const neg = (a: E): E => `(f32x4.neg ${a})`;
/** min(a, c) that keeps a NaN in `a` (pmin(a, c) is c < a ? c : a). */
const minKeepNaN = (a: E, c: E): E => `(f32x4.pmin ${a} ${c})`;
/** max(a, c) that keeps a NaN in `a` (pmax(a, c) is a < c ? c : a). */
const maxKeepNaN = (a: E, c: E): E => `(f32x4.pmax ${a} ${c})`;
/** `whereTrue` in lanes where `mask` is set, else `otherwise`. */
const select = (whereTrue: E, otherwise: E, mask: E): E => `(v128.bitselect ${whereTrue} ${otherwise} ${mask})`;
const ONE = k(1);
const T = TANHEXP_THRESHOLD;

/** Locals every expanded formula may use as scratch (v128). */
const SCRATCH = ['en', 'ef', 'er', 'ep', 'eq', 'ez', 'u', 's', 'w', 'q', 'r0', 'r1'];

/**
 * `dst` = eˣ of the v128 expression `x` (at most `atMost`), lanewise, to about 1 ulp (Cephes' expf polynomial):
 * x = n·ln2 + r with |r| ≤ ln2/2, eʳ ≈ 1 + r + r²·P(r) with P of degree 5, 2ⁿ from exponent bits.
 * x is clamped to [−87, 89] first: results below e⁻⁸⁷ ≈ 1.6e−38 come out as 0, results past float32's
 * range as +inf. n is rounded by adding 1.5·2²³ (its low mantissa bits then hold n), and 2ⁿ is built as
 * 2ⁿ⁻¹ · 2 so that n = 128 still has an exponent field.
 */
function exp(dst: string, x: E, atMost = Infinity): E[] {
  const MAGIC = 12582912; // 1.5 · 2²³
  return [
    // (the upper clamp is left out where x is known to be at most 89 already)
    set('ez', maxKeepNaN(atMost <= 89 ? x : minKeepNaN(x, k(89)), k(-87))),
    set('en', add(mul(get('ez'), k(Math.LOG2E)), k(MAGIC))),
    set('ef', sub(get('en'), k(MAGIC))),
    // r = x − n·ln2, with ln2 split into 0.693359375 (n times it is exact) and a small correction.
    set('er', sub(sub(get('ez'), mul(get('ef'), k(0.693359375))), mul(get('ef'), k(-2.1219444e-4)))),
    // eʳ ≈ 1 + r + r²·P(r), P of degree 5 evaluated by Estrin's scheme (a short dependency chain):
    // P = (a0 + a1·r) + r²·(a2 + a3·r) + r⁴·(a4 + a5·r)
    set('ep', mul(get('er'), get('er'))),
    set(
      'eq',
      add(
        add(
          add(k(5.0000001201e-1), mul(k(1.6666665459e-1), get('er'))),
          mul(get('ep'), add(k(4.1665795894e-2), mul(k(8.3334519073e-3), get('er')))),
        ),
        mul(mul(get('ep'), get('ep')), add(k(1.3981999507e-3), mul(k(1.98756915e-4), get('er')))),
      ),
    ),
    set('ep', add(add(mul(get('eq'), get('ep')), get('er')), ONE)),
    // 2ⁿ⁻¹: exponent bits n + 126 (n = −126 gives +0), from n << 23 (the 1.5·2²³ bits shift out).
    set(
      dst,
      mul(
        mul(
          get('ep'),
          `(i32x4.add (i32x4.shl ${get('en')} (i32.const 23)) (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000))`,
        ),
        k(2),
      ),
    ),
  ];
}

/** u·(1 + u²·(−1/3 + u²·2/15)): tanh u for small u. */
function tanhSeries(u: E): E {
  return `(f32x4.mul ${u} ${add(ONE, mul(mul(u, u), add(k(-1 / 3), mul(mul(u, u), k(2 / 15)))))})`;
}

/**
 * Each activation as statements over the input in local `x`: `common` computes what its value and its
 * slope share, `value` leaves f(x) in local `r0`, `slope` leaves f′(x) in local `r1` (for x > 20 it is
 * replaced by exactly 1 where `identityAbove20`). The kernels combine them: the value alone, dy·f′(x),
 * or both at once, so dy·f′(x) is the same float whichever way it is computed.
 */
interface ActivationCode {
  readonly common: readonly E[];
  readonly value: readonly E[];
  readonly slope: readonly E[];
  readonly identityAbove20: boolean;
}

const ACTIVATIONS: Record<'tanhexp' | 'swish' | 'mish', ActivationCode> = {
  // x·tanh(u) with u = e^min(x, 20); for x > 20, tanh(e²⁰) is exactly 1, so the value is x.
  // Slope tanh u + x·u·sech² u; with q = 1/(1 + s): tanh u = (1 − s)·q and sech² u = 4s·q².
  tanhexp: {
    common: [set('w', minKeepNaN(get('x'), k(T))), ...exp('u', get('w'), T), ...exp('s', mul(get('u'), k(-2)), 0)],
    value: [
      set(
        'r0',
        mul(
          get('x'),
          select(tanhSeries(get('u')), div(sub(ONE, get('s')), add(ONE, get('s'))), lt(get('u'), k(0.125))),
        ),
      ),
    ],
    slope: [
      set('q', div(ONE, add(ONE, get('s')))),
      set(
        'r1',
        add(
          select(tanhSeries(get('u')), mul(sub(ONE, get('s')), get('q')), lt(get('u'), k(0.125))),
          mul(mul(get('w'), get('u')), mul(mul(get('s'), k(4)), mul(get('q'), get('q')))),
        ),
      ),
    ],
    identityAbove20: true,
  },
  // x / (1 + e⁻ˣ); slope σ + x·σ·(1 − σ) with σ = 1/(1 + e⁻ˣ).
  swish: {
    common: exp('u', neg(get('x'))),
    value: [set('r0', div(get('x'), add(ONE, get('u'))))],
    slope: [
      set('s', div(ONE, add(ONE, get('u')))),
      set('r1', add(get('s'), mul(mul(get('x'), get('s')), sub(ONE, get('s'))))),
    ],
    identityAbove20: false,
  },
  // x·tanh(softplus x) = x·w/(w + 2) with n = e^min(x, 20), w = n(n + 2). Slope tanh(sp) + x·(1 − tanh²(sp))·σ
  // with q = 1/(w + 2): tanh(sp) = w·q, 1 − tanh² = 4(w + 1)·q², σ = n/(1 + n).
  mish: {
    common: [...exp('u', minKeepNaN(get('x'), k(T)), T), set('w', mul(get('u'), add(get('u'), k(2))))],
    value: [set('r0', mul(get('x'), div(get('w'), add(get('w'), k(2)))))],
    slope: [
      set('q', div(ONE, add(get('w'), k(2)))),
      set(
        'r1',
        add(
          mul(get('w'), get('q')),
          mul(
            mul(get('x'), mul(mul(add(get('w'), ONE), k(4)), mul(get('q'), get('q')))),
            div(get('u'), add(ONE, get('u'))),
          ),
        ),
      ),
    ],
    identityAbove20: true,
  },
};

/** The activation's kernels: value; dy·slope (`Grad`); value and slope together (`WithSlope`). */
function activationKernels(name: string, a: ActivationCode): E[] {
  const above = gt(get('x'), k(T));
  const slopeOrOne = a.identityAbove20 ? [set('r1', select(ONE, get('r1'), above))] : [];
  const times = (d: string) =>
    a.identityAbove20 ? select(get(d), mul(get(d), get('r1')), above) : mul(get(d), get('r1'));
  return [
    elementwise(name, ['x'], [['y', 'r0']], [...a.common, ...a.value]),
    elementwise(`${name}Grad`, ['x', 'dy'], [['dx', 'r0']], [...a.common, ...a.slope, set('r0', times('dy'))]),
    elementwise(
      `${name}WithSlope`,
      ['x'],
      [
        ['y', 'r0'],
        ['slope', 'r1'],
      ],
      [...a.common, ...a.value, ...a.slope, ...slopeOrOne],
    ),
  ];
}

/** `statements` with every local named in `locals` suffixed by `suffix` (a second, independent copy). */
function renamed(statements: readonly E[], locals: ReadonlySet<string>, suffix: string): E[] {
  return statements.map((st) =>
    st.replace(/\$(\w+)/g, (m, name: string) => (locals.has(name) ? `$${name}${suffix}` : m)),
  );
}

/**
 * An elementwise loop over `n` elements: `streams` are the pointer parameters read (into same-named
 * v128 locals) and `outs` the pointer parameters written, each from its local. Eight lanes at a time
 * as two independent groups of four whose statements alternate (V8 emits instructions in program
 * order, and two interleaved dependency chains keep the core busier than one), then four, then the
 * last 1–3 elements one by one in lane 0.
 */
function elementwise(
  name: string,
  streams: string[],
  outs: Array<[pointer: string, local: string]>,
  body: readonly E[],
): E {
  const pointers = [...streams, ...outs.map(([p]) => p)];
  const advance = (bytes: number) =>
    pointers.map((p) => set(`${p}P`, `(i32.add ${get(`${p}P`)} (i32.const ${bytes}))`)).join('\n');
  const first = `${streams[0]}P`;
  const locals = new Set([...streams, ...SCRATCH]);
  const a = renamed(body, locals, 'A');
  const b = renamed(body, locals, 'B');
  const interleaved = a.flatMap((st, i) => [st, b[i]!]);
  const load = (suffix: string, offset: number) =>
    streams.map((st) => set(`${st}${suffix}`, `(v128.load offset=${offset} ${get(`${st}P`)})`)).join('\n');
  const store = (suffix: string, offset: number) =>
    outs.map(([p, l]) => `(v128.store offset=${offset} ${get(`${p}P`)} ${get(`${l}${suffix}`)})`).join('\n');
  return `
  (func (export "${name}") ${pointers.map((p) => `(param $${p}P i32)`).join(' ')} (param $n i32)
    (local $end i32) (local $end4 i32) (local $end8 i32)
    ${[...locals].flatMap((l) => [`(local $${l}A v128)`, `(local $${l}B v128)`]).join(' ')}
    (local.set $end (i32.add ${get(first)} (i32.shl ${get('n')} (i32.const 2))))
    (local.set $end4 (i32.add ${get(first)} (i32.shl (i32.and ${get('n')} (i32.const -4)) (i32.const 2))))
    (local.set $end8 (i32.add ${get(first)} (i32.shl (i32.and ${get('n')} (i32.const -8)) (i32.const 2))))
    (block $fours
      (loop $eights
        (br_if $fours (i32.ge_u ${get(first)} ${get('end8')}))
        ${load('A', 0)}
        ${load('B', 16)}
        ${interleaved.join('\n')}
        ${store('A', 0)}
        ${store('B', 16)}
        ${advance(32)}
        (br $eights)))
    (block $tail
      (loop $vectors
        (br_if $tail (i32.ge_u ${get(first)} ${get('end4')}))
        ${load('A', 0)}
        ${a.join('\n')}
        ${store('A', 0)}
        ${advance(16)}
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u ${get(first)} ${get('end')}))
        ${streams.map((st) => set(`${st}A`, `(v128.load32_splat ${get(`${st}P`)})`)).join('\n')}
        ${a.join('\n')}
        ${outs.map(([p, l]) => `(f32.store ${get(`${p}P`)} (f32x4.extract_lane 0 ${get(`${l}A`)}))`).join('\n')}
        ${advance(4)}
        (br $scalars))))`;
}

/**
 * Adam's update of one parameter in one pass, in the order of operations of ml/train/adam.ts's
 * composed form (so the results are the same floats):
 *   g ← g·scale;  m ← m·β₁ + g·(1 − β₁);  v ← v·β₂ + g²·(1 − β₂);  p ← p − (m/c₁)/(√(v/c₂) + ε)·lr
 * Constants come as float32 (the values the composed form's scalar tensors hold).
 */
function adam(): E {
  const c = ['scale', 'b1', 'omb1', 'b2', 'omb2', 'c1', 'c2', 'eps', 'lr'];
  const splat = c.map((n) => set(`${n}V`, `(f32x4.splat ${get(n)})`)).join('\n');
  const body = [
    set('g', mul(get('g'), get('scaleV'))),
    set('m', add(mul(get('m'), get('b1V')), mul(get('g'), get('omb1V')))),
    set('v', add(mul(get('v'), get('b2V')), mul(mul(get('g'), get('g')), get('omb2V')))),
    set(
      'p',
      sub(
        get('p'),
        mul(div(div(get('m'), get('c1V')), add(`(f32x4.sqrt ${div(get('v'), get('c2V'))})`, get('epsV'))), get('lrV')),
      ),
    ),
  ].join('\n');
  const io = ['p', 'g', 'm', 'v'];
  const outs = ['p', 'm', 'v'];
  const pass = (load: string, store: (p: string, v: E) => E, bytes: number) => `
        ${io.map((s) => set(s, `(${load} ${get(`${s}P`)})`)).join('\n')}
        ${body}
        ${outs.map((s) => store(`${s}O`, get(s))).join('\n')}
        ${[...io.map((s) => `${s}P`), ...outs.map((s) => `${s}O`)].map((p) => set(p, `(i32.add ${get(p)} (i32.const ${bytes}))`)).join('\n')}`;
  return `
  (func (export "adam") ${io.map((s) => `(param $${s}P i32)`).join(' ')} ${outs.map((s) => `(param $${s}O i32)`).join(' ')} (param $n i32)
    ${c.map((n) => `(param $${n} f32)`).join(' ')}
    (local $end i32) (local $end4 i32)
    ${[...io, ...c.map((n) => `${n}V`)].map((s) => `(local $${s} v128)`).join(' ')}
    ${splat}
    (local.set $end (i32.add ${get('pP')} (i32.shl ${get('n')} (i32.const 2))))
    (local.set $end4 (i32.add ${get('pP')} (i32.shl (i32.and ${get('n')} (i32.const -4)) (i32.const 2))))
    (block $tail
      (loop $vectors
        (br_if $tail (i32.ge_u ${get('pP')} ${get('end4')}))
        ${pass('v128.load', (p, v) => `(v128.store ${get(p)} ${v})`, 16)}
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u ${get('pP')} ${get('end')}))
        ${pass('v128.load32_splat', (p, v) => `(f32.store ${get(p)} (f32x4.extract_lane 0 ${v}))`, 4)}
        (br $scalars))))`;
}

/**
 * The transposed im2col of a stride-1 convolution's input, for its filter gradient as one matrix
 * product: from xᵀ [C, N, H, W] (channels first), rows (kh, kw, c) and columns (n, oh, ow) for the
 * images n0 … n0 + count − 1:
 *   out[(kh·KW + kw)·C + c][(n − n0)·OH·OW + oh·OW + ow] = x[n, oh + kh − padTop, ow + kw − padLeft, c]
 * (0 outside the image). Row segments of OW values are copied whole; the padding is filled with 0.
 */
function im2colTransposed(): E {
  const params = ['src', 'dst', 'C', 'N', 'H', 'W', 'KH', 'KW', 'padTop', 'padLeft', 'OH', 'OW', 'n0', 'count'];
  const i = (name: string) => get(name);
  const i32 = (o: string, a: E, b: E) => `(i32.${o} ${a} ${b})`;
  return `
  (func (export "im2colTransposed") ${params.map((p) => `(param $${p} i32)`).join(' ')}
    (local $kh i32) (local $kw i32) (local $c i32) (local $n i32) (local $oh i32) (local $ih i32)
    (local $lo i32) (local $hi i32) (local $row i32)
    (local.set $kh (i32.const 0))
    (loop $khLoop
      (local.set $kw (i32.const 0))
      (loop $kwLoop
        ;; the ow range whose input column ow + kw − padLeft lies inside [0, W)
        (local.set $lo (select ${i32('sub', i('padLeft'), i('kw'))} (i32.const 0) ${i32('gt_s', i32('sub', i('padLeft'), i('kw')), '(i32.const 0)')}))
        (local.set $hi (select ${i32('sub', i32('add', i('W'), i('padLeft')), i('kw'))} ${i('OW')} ${i32('lt_s', i32('sub', i32('add', i('W'), i('padLeft')), i('kw')), i('OW'))}))
        (if ${i32('gt_s', i('lo'), i('hi'))} (then (local.set $lo ${i('hi')})))
        (local.set $c (i32.const 0))
        (loop $cLoop
          (local.set $n ${i('n0')})
          (loop $nLoop
            (local.set $oh (i32.const 0))
            (loop $ohLoop
              (local.set $ih ${i32('sub', i32('add', i('oh'), i('kh')), i('padTop'))})
              (if ${i32('or', i32('lt_s', i('ih'), '(i32.const 0)'), i32('ge_s', i('ih'), i('H')))}
                (then (memory.fill ${i('dst')} (i32.const 0) ${i32('shl', i('OW'), '(i32.const 2)')}))
                (else
                  ;; source row x[n, ih, ·, c] in xᵀ, at column lo + kw − padLeft
                  (local.set $row ${i32('add', i('src'), i32('shl', i32('add', i32('mul', i32('add', i32('mul', i('c'), i('N')), i('n')), i32('mul', i('H'), i('W'))), i32('add', i32('mul', i('ih'), i('W')), i32('sub', i32('add', i('lo'), i('kw')), i('padLeft')))), '(i32.const 2)'))})
                  (memory.fill ${i('dst')} (i32.const 0) ${i32('shl', i('lo'), '(i32.const 2)')})
                  (memory.copy ${i32('add', i('dst'), i32('shl', i('lo'), '(i32.const 2)'))} ${i('row')} ${i32('shl', i32('sub', i('hi'), i('lo')), '(i32.const 2)')})
                  (memory.fill ${i32('add', i('dst'), i32('shl', i('hi'), '(i32.const 2)'))} (i32.const 0) ${i32('shl', i32('sub', i('OW'), i('hi')), '(i32.const 2)')})))
              (local.set $dst ${i32('add', i('dst'), i32('shl', i('OW'), '(i32.const 2)'))})
              (local.set $oh ${i32('add', i('oh'), '(i32.const 1)')})
              (br_if $ohLoop ${i32('lt_s', i('oh'), i('OH'))}))
            (local.set $n ${i32('add', i('n'), '(i32.const 1)')})
            (br_if $nLoop ${i32('lt_s', i('n'), i32('add', i('n0'), i('count')))}))
          (local.set $c ${i32('add', i('c'), '(i32.const 1)')})
          (br_if $cLoop ${i32('lt_s', i('c'), i('C'))}))
        (local.set $kw ${i32('add', i('kw'), '(i32.const 1)')})
        (br_if $kwLoop ${i32('lt_s', i('kw'), i('KW'))}))
      (local.set $kh ${i32('add', i('kh'), '(i32.const 1)')})
      (br_if $khLoop ${i32('lt_s', i('kh'), i('KH'))})))`;
}

/**
 * The machine's multiply-add rate as wasm SIMD code can use it: `iterations` rounds of 12 independent
 * chains a ← a·m + c on four lanes (96 float operations a round), enough chains to hide the latency.
 * Returns a sum of the chains, so that nothing is optimised away.
 */
function peak(): E {
  const chains = Array.from({ length: 12 }, (_, j) => `a${j}`);
  return `
  (func (export "peak") (param $iterations i32) (result f32)
    ${chains.map((a) => `(local $${a} v128)`).join(' ')} (local $m v128) (local $c v128) (local $t v128)
    ${chains.map((a, j) => set(a, k(1 + j / 16))).join('\n')}
    ${set('m', k(0.999))} ${set('c', k(0.001))}
    (block $done
      (loop $round
        (br_if $done (i32.le_s ${get('iterations')} (i32.const 0)))
        ${chains.map((a) => set(a, add(mul(get(a), get('m')), get('c')))).join('\n')}
        (local.set $iterations (i32.sub ${get('iterations')} (i32.const 1)))
        (br $round)))
    ${set(
      't',
      chains.map((a) => get(a)).reduce((acc, a) => add(acc, a)),
    )}
    (f32.add (f32.add (f32x4.extract_lane 0 ${get('t')}) (f32x4.extract_lane 1 ${get('t')}))
             (f32.add (f32x4.extract_lane 2 ${get('t')}) (f32x4.extract_lane 3 ${get('t')}))))`;
}

/** The module's text. */
export function kernelsWat(): string {
  const funcs = Object.entries(ACTIVATIONS).flatMap(([name, a]) => activationKernels(name, a));
  return `;; Generated from ml/kernels/wasm/source.ts.
(module
  (import "env" "memory" (memory 0))
${funcs.join('\n')}
${adam()}
${im2colTransposed()}
${peak()}
)
`;
}
