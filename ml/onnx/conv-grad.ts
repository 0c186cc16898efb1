import { CONV_ATTRS, GraphBuilder, writeModel } from './graph.ts';

/**
 * The gradients of a 3×3 convolution (pad 1, stride 1, square inputs) written out in plain ONNX
 * ops, for the training graphs (ml/onnx/train-graph.ts, ml/onnx/discriminator.ts).
 */

/**
 * A 3×3 conv's (pad 1) gradients from its input [n, cin, p, p], its weight (OIHW) and its output's
 * gradient `dy` [n, cout, p, p]: the bias gradient (a sum over batch and pixels), the filter
 * gradient (filterGrad), and unless `needInput` is false the input's gradient, which is the output's
 * gradient convolved with the kernel rotated 180° with in and out swapped.
 */
export function convBackward(
  g: GraphBuilder,
  a: {
    input: string;
    dy: string;
    weight: string;
    n: number;
    cin: number;
    cout: number;
    p: number;
    needInput?: boolean;
  },
): { dw: string; db: string; dx: string | undefined } {
  const { n, cin, cout, p } = a;
  const db = g.add('ReduceSum', [a.dy, g.ints([0, 2, 3])], [cout], [{ name: 'keepdims', i: 0 }], 'dbias');
  const dw = filterGrad(g, a.input, a.dy, n, cin, cout, p);
  if (a.needInput === false) return { dw, db, dx: undefined };
  return { dw, db, dx: convInputGrad(g, a) };
}

/**
 * A 3×3 conv's (pad 1) input gradient alone [n, cin, p, p], from its weight (OIHW) and its output's
 * gradient `dy` [n, cout, p, p]: `dy` convolved with the kernel rotated 180°, in and out swapped.
 */
export function convInputGrad(
  g: GraphBuilder,
  a: { dy: string; weight: string; n: number; cin: number; cout: number; p: number },
): string {
  const { n, cin, cout, p } = a;
  const swapped = g.add('Transpose', [a.weight], [cin, cout, 3, 3], [{ name: 'perm', ints: [1, 0, 2, 3] }], 'wt');
  const rotated = g.add(
    'Slice',
    [swapped, g.ints([2, 2]), g.ints([-1000, -1000]), g.ints([2, 3]), g.ints([-1, -1])],
    [cin, cout, 3, 3],
    [],
    'wrot',
  );
  return g.add('Conv', [a.dy, rotated], [n, cin, p, p], CONV_ATTRS, 'dinput');
}

/**
 * The filter gradient with every shifted copy a contiguous window: the input, channel-major and
 * zero-padded ([cin, (n + 1)·(p + 2)²], one spare zero image at the end), holds pixel (y, x) of image
 * i at column j = i·(p + 2)² + y·(p + 2) + x, and tap (ky, kx) of that pixel at column
 * j + ky·(p + 2) + kx. The output gradient, padded with zeros on the same grid ([cout, n·(p + 2)²]),
 * is zero wherever j is not a real pixel, so
 *   dWᵀ[(ky, kx, c), o] = Σⱼ window_(ky,kx)[c, j] · dy[o, j]
 * is one matrix product (Gemm with B transposed, the form ONNX Runtime runs fastest here) of the
 * nine windows stacked and the gradient.
 */
function filterGrad(
  g: GraphBuilder,
  input: string,
  dy: string,
  n: number,
  cin: number,
  cout: number,
  p: number,
): string {
  const w = p + 2;
  const len = n * w * w;
  const xc = g.add('Transpose', [input], [cin, n, p, p], [{ name: 'perm', ints: [1, 0, 2, 3] }], 'xc');
  const xpad = g.add('Pad', [xc, g.ints([0, 0, 1, 1, 0, 1, 1, 1])], [cin, n + 1, w, w], [], 'xpad');
  const flat = g.add('Reshape', [xpad, g.ints([cin, (n + 1) * w * w])], [cin, (n + 1) * w * w], [], 'xflat');
  const windows: string[] = [];
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const off = ky * w + kx;
      windows.push(g.add('Slice', [flat, g.ints([off]), g.ints([off + len]), g.ints([1])], [cin, len], [], 'window'));
    }
  }
  const dyc = g.add('Transpose', [dy], [cout, n, p, p], [{ name: 'perm', ints: [1, 0, 2, 3] }], 'dyc');
  const dypad = g.add('Pad', [dyc, g.ints([0, 0, 0, 0, 0, 0, 2, 2])], [cout, n, w, w], [], 'dypad');
  const dyflat = g.add('Reshape', [dypad, g.ints([cout, len])], [cout, len], [], 'dyflat');
  const cols = g.add('Concat', windows, [9 * cin, len], [{ name: 'axis', i: 0 }], 'cols');
  const dwT = g.add('Gemm', [cols, dyflat], [9 * cin, cout], [{ name: 'transB', i: 1 }], 'dwt');
  const r = g.add('Reshape', [dwT, g.ints([3, 3, cin, cout])], [3, 3, cin, cout]);
  return g.add('Transpose', [r], [cout, cin, 3, 3], [{ name: 'perm', ints: [3, 2, 0, 1] }], 'dweight');
}

/** One 3×3 conv's gradients as a model (inputs `x` [n, cin, p, p], `w`, `dy`; outputs `dx`, `dw`, `db`). */
export function convGradModel(n: number, cin: number, cout: number, p: number): Uint8Array {
  const g = new GraphBuilder();
  const r = convBackward(g, { input: 'x', dy: 'dy', weight: 'w', n, cin, cout, p });
  g.rename(r.dx!, 'dx');
  g.rename(r.dw, 'dw');
  g.rename(r.db, 'db');
  return writeModel(g, {
    graphName: 'conv_grad',
    inputs: [
      { name: 'x', dims: [n, cin, p, p] },
      { name: 'w', dims: [cout, cin, 3, 3] },
      { name: 'dy', dims: [n, cout, p, p] },
    ],
    outputs: [
      { name: 'dx', dims: [n, cin, p, p] },
      { name: 'dw', dims: [cout, cin, 3, 3] },
      { name: 'db', dims: [cout] },
    ],
  });
}
