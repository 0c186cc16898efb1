import { ACTIVATIONS_F64 } from '../../ml/activations.ts';
import { convSpecs, type NetworkConfig } from '../../ml/network.ts';
import { CHARBONNIER_EPS } from '../../ml/train/config.ts';

/**
 * The network's forward and backward pass in float64, written out directly (NCHW, OIHW weights),
 * as a reference for the training graphs' gradients. Its own gradient is checked against central
 * differences of its forward pass in the tests that use it.
 */
type F64 = Float64Array;

export interface Shape4 {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** A 3×3 conv (pad 1), NCHW / OIHW. */
export function conv(x: F64, s: Shape4, w: F64, b: F64, cout: number): F64 {
  const { n, c: cin, h, w: wd } = s;
  const y = new Float64Array(n * cout * h * wd);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < cout; o++)
      for (let yy = 0; yy < h; yy++)
        for (let xx = 0; xx < wd; xx++) {
          let acc = b[o]!;
          for (let c = 0; c < cin; c++)
            for (let ky = 0; ky < 3; ky++) {
              const sy = yy + ky - 1;
              if (sy < 0 || sy >= h) continue;
              for (let kx = 0; kx < 3; kx++) {
                const sx = xx + kx - 1;
                if (sx < 0 || sx >= wd) continue;
                acc += w[((o * cin + c) * 3 + ky) * 3 + kx]! * x[((i * cin + c) * h + sy) * wd + sx]!;
              }
            }
          y[((i * cout + o) * h + yy) * wd + xx] = acc;
        }
  return y;
}

/** A 3×3 conv's (pad 1) input, filter and bias gradients, NCHW / OIHW. */
export function convBack(
  x: ArrayLike<number>,
  s: Shape4,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  cout: number,
): { dx: F64; dw: F64; db: F64 } {
  const { n, c: cin, h, w: wd } = s;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(cout);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < cout; o++)
      for (let yy = 0; yy < h; yy++)
        for (let xx = 0; xx < wd; xx++) {
          const g = dy[((i * cout + o) * h + yy) * wd + xx]!;
          db[o]! += g;
          for (let c = 0; c < cin; c++)
            for (let ky = 0; ky < 3; ky++) {
              const sy = yy + ky - 1;
              if (sy < 0 || sy >= h) continue;
              for (let kx = 0; kx < 3; kx++) {
                const sx = xx + kx - 1;
                if (sx < 0 || sx >= wd) continue;
                const wi = ((o * cin + c) * 3 + ky) * 3 + kx;
                const xi = ((i * cin + c) * h + sy) * wd + sx;
                dw[wi]! += g * x[xi]!;
                dx[xi]! += g * w[wi]!;
              }
            }
        }
  return { dx, dw, db };
}

/** PyTorch's bilinear upsampling (align_corners=False), NCHW. */
function bilinear(x: F64, s: Shape4, r: number): F64 {
  const { n, c, h, w } = s;
  const H = h * r;
  const W = w * r;
  const out = new Float64Array(n * c * H * W);
  const at = (d: number, size: number) => {
    const src = Math.max(0, (d + 0.5) / r - 0.5);
    const i0 = Math.min(Math.floor(src), size - 1);
    return [i0, Math.min(i0 + 1, size - 1), src - i0] as const;
  };
  for (let i = 0; i < n * c; i++)
    for (let Y = 0; Y < H; Y++) {
      const [y0, y1, ly] = at(Y, h);
      for (let X = 0; X < W; X++) {
        const [x0, x1, lx] = at(X, w);
        const p = (yy: number, xx: number) => x[(i * h + yy) * w + xx]!;
        out[(i * H + Y) * W + X] =
          (1 - ly) * ((1 - lx) * p(y0, x0) + lx * p(y0, x1)) + ly * ((1 - lx) * p(y1, x0) + lx * p(y1, x1));
      }
    }
  return out;
}

/** DepthToSpace, CRD (PyTorch's pixel shuffle): [n, c·r², h, w] → [n, c, h·r, w·r]; `back` goes the other way. */
function shuffle(x: F64, n: number, c: number, h: number, w: number, r: number, back: boolean): F64 {
  const out = new Float64Array(x.length);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let a = 0; a < r; a++)
        for (let b = 0; b < r; b++)
          for (let yy = 0; yy < h; yy++)
            for (let xx = 0; xx < w; xx++) {
              const small = (((i * c + ch) * r + a) * r + b) * h * w + yy * w + xx;
              const big = ((i * c + ch) * h * r + yy * r + a) * w * r + xx * r + b;
              if (back) out[small] = x[big]!;
              else out[big] = x[small]!;
            }
  return out;
}

/**
 * Loss and gradient by parameter name (OIHW) of one batch: `lr` [n, 3, p, p] and `hr`
 * [n, 3, p·s, p·s] (NCHW), weights by name. `pre` collects every activation's input (for checking
 * which ranges a case reaches). `extra` adds a loss of the output (NCHW) and its gradient with
 * respect to the output (a perceptual step's weighted adversarial loss).
 */
export function lossAndGradF64(
  c: NetworkConfig,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  lr: ArrayLike<number>,
  hr: ArrayLike<number>,
  n: number,
  p: number,
  loss: 'l1' | 'charbonnier',
  pre: number[] = [],
  extra?: (out: F64) => { loss: number; dOut: ArrayLike<number> },
): { loss: number; grads: Map<string, F64>; output: F64 } {
  const W = new Map([...weights].map(([k, v]) => [k, Float64Array.from(v)]));
  const f = c.features;
  const s = c.scale;
  const act = ACTIVATIONS_F64[c.activation];
  const feat: Shape4 = { n, c: f, h: p, w: p };
  const cout = new Map(convSpecs(c).map((sp) => [sp.name, sp.cout]));
  const cv = (name: string, x: F64, shape: Shape4) =>
    conv(x, shape, W.get(`${name}.weight`)!, W.get(`${name}.bias`)!, cout.get(name)!);
  const add = (a: F64, b: F64) => a.map((v, i) => v + b[i]!);
  const x = Float64Array.from(lr);
  const rgb: Shape4 = { n, c: 3, h: p, w: p };
  const h = cv('head', x, rgb);
  const groups: Array<{ gin: F64; blocks: Array<{ yin: F64; a: F64; z: F64 }>; ylast: F64 }> = [];
  let gcur = h;
  for (let gi = 0; gi < c.groups; gi++) {
    const blocks: Array<{ yin: F64; a: F64; z: F64 }> = [];
    let y = gcur;
    for (let b = 0; b < c.blocks; b++) {
      const name = `body.${gi}.body.${b}`;
      const a = cv(`${name}.c1`, y, feat);
      for (const v of a) pre.push(v);
      const z = a.map(act.f);
      blocks.push({ yin: y, a, z });
      y = add(y, cv(`${name}.c2`, z, feat));
    }
    groups.push({ gin: gcur, blocks, ylast: y });
    gcur = add(gcur, cv(`body.${gi}.body.${c.blocks}`, y, feat));
  }
  const body = add(h, cv(`body.${c.groups}`, gcur, feat));
  const upc = cv('up.0', body, feat);
  const out = add(shuffle(upc, n, 3, p, p, s, false), bilinear(x, rgb, s));
  const target = Float64Array.from(hr);
  const count = out.length;
  let total = 0;
  const dOut = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const d = out[i]! - target[i]!;
    if (loss === 'l1') {
      total += Math.abs(d);
      dOut[i] = Math.sign(d) / count;
    } else {
      const r = Math.sqrt(d * d + CHARBONNIER_EPS ** 2);
      total += r;
      dOut[i] = d / r / count;
    }
  }
  total /= count;
  if (extra) {
    const e = extra(out);
    total += e.loss;
    for (let i = 0; i < count; i++) dOut[i]! += e.dOut[i]!;
  }
  const grads = new Map<string, F64>();
  const back = (name: string, input: F64, shape: Shape4, dy: F64) => {
    const r = convBack(input, shape, W.get(`${name}.weight`)!, dy, cout.get(name)!);
    grads.set(`${name}.weight`, r.dw);
    grads.set(`${name}.bias`, r.db);
    return r.dx;
  };
  const dBody = back('up.0', body, feat, shuffle(dOut, n, 3, p, p, s, true));
  let dG = back(`body.${c.groups}`, gcur, feat, dBody);
  for (let gi = c.groups - 1; gi >= 0; gi--) {
    const gr = groups[gi]!;
    let dy = back(`body.${gi}.body.${c.blocks}`, gr.ylast, feat, dG);
    for (let b = c.blocks - 1; b >= 0; b--) {
      const bl = gr.blocks[b]!;
      const dz = back(`body.${gi}.body.${b}.c2`, bl.z, feat, dy);
      const da = dz.map((g, i) => g * act.df(bl.a[i]!));
      dy = add(dy, back(`body.${gi}.body.${b}.c1`, bl.yin, feat, da));
    }
    dG = add(dG, dy);
  }
  back('head', x, rgb, add(dBody, dG));
  return { loss: total, grads, output: out };
}

/** NHWC (interleaved, as the patch sampler makes batches) → NCHW. */
export function toNchw(hwc: ArrayLike<number>, n: number, h: number, w: number, c = 3): Float64Array {
  const out = new Float64Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * w + x] = hwc[((i * h + y) * w + x) * c + k]!;
  return out;
}
