import * as tf from '@tensorflow/tfjs-core';
import type { Program } from './program.ts';

/**
 * The uniforms both filter-gradient programs declare, in the order ml/kernels/webgpu/index.ts passes
 * them: padding (top, left), strides, filter size, and the slice of M each split reduces.
 */
const FILTER_GRAD_UNIFORMS = 'pads : vec2<i32>, strides : vec2<i32>, filterDims : vec2<i32>, chunk : i32,';

/** Tile of dW per workgroup (rows × columns) and the depth of M staged per step, in the tiled style. */
export const TILE = 64;
export const DEPTH = 16;

/** Partial filter gradients, [splits, KH·KW·Ci, Co]: workgroup (col tile, row tile, split). */
export class FilterGradPartialProgram implements Program {
  variableNames = ['x', 'dy'];
  uniforms = FILTER_GRAD_UNIFORMS;
  workgroupSize: [number, number, number] = [16, 16, 1];
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey = 'srFilterGradPartial';

  constructor(splits: number, rows: number, cols: number) {
    this.outputShape = [splits, rows, cols];
    this.dispatch = [Math.ceil(cols / TILE), Math.ceil(rows / TILE), splits];
  }

  getUserCode(): string {
    return /* wgsl */ `
      var<workgroup> As : array<vec4<f32>, ${(DEPTH * TILE) / 4}>;
      var<workgroup> Bs : array<vec4<f32>, ${(DEPTH * TILE) / 4}>;

      fn main() {
        let tid = i32(localIndex);
        let tx = tid % 16;
        let ty = tid / 16;
        let c0 = i32(workgroupId.x) * ${TILE};
        let r0 = i32(workgroupId.y) * ${TILE};
        let split = i32(workgroupId.z);
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let Ci = uniforms.xShape[3];
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let Co = uniforms.dyShape[3];
        let M = uniforms.dyShape[0] * OH * OW;
        let R = uniforms.filterDims.x * uniforms.filterDims.y * Ci;
        let mStart = split * uniforms.chunk;
        let mEnd = min(M, mStart + uniforms.chunk);

        // This thread stages row (r0 + lane) of the im2col tile and column (c0 + lane) of dy.
        let lane = tid % ${TILE};
        let lk = tid / ${TILE};
        let r = r0 + lane;
        let ci = r % Ci;
        let kk = r / Ci;
        let kw = kk % uniforms.filterDims.y;
        let kh = kk / uniforms.filterDims.y;
        let c = c0 + lane;

        var acc : array<vec4<f32>, 4>;
        for (var i = 0; i < 4; i++) { acc[i] = vec4<f32>(0.0); }

        // The (n, oy, ox) of this thread's four staged rows of M, advanced by ${DEPTH} each step
        // without divisions (GPUs and CPUs divide integers slowly).
        var pn : array<i32, ${DEPTH / 4}>;
        var py : array<i32, ${DEPTH / 4}>;
        var px : array<i32, ${DEPTH / 4}>;
        for (var j = 0; j < ${DEPTH / 4}; j++) {
          let m = mStart + lk + 4 * j;
          px[j] = m % OW;
          py[j] = (m / OW) % OH;
          pn[j] = m / (OW * OH);
        }

        let steps = uniforms.chunk / ${DEPTH};
        for (var s = 0; s < steps; s++) {
          let m0 = mStart + s * ${DEPTH};
          for (var j = 0; j < ${DEPTH / 4}; j++) {
            let k = lk + 4 * j;
            let m = m0 + k;
            var a = 0.0;
            var b = 0.0;
            if (m < mEnd) {
              let iy = py[j] * uniforms.strides.x + kh - uniforms.pads.x;
              let ix = px[j] * uniforms.strides.y + kw - uniforms.pads.y;
              if (r < R && iy >= 0 && iy < H && ix >= 0 && ix < W) {
                a = x[((pn[j] * H + iy) * W + ix) * Ci + ci];
              }
              if (c < Co) {
                b = dy[m * Co + c];
              }
            }
            As[k * ${TILE / 4} + lane / 4][lane % 4] = a;
            Bs[k * ${TILE / 4} + lane / 4][lane % 4] = b;
            px[j] += ${DEPTH};
            while (px[j] >= OW) {
              px[j] -= OW;
              py[j] += 1;
            }
            while (py[j] >= OH) {
              py[j] -= OH;
              pn[j] += 1;
            }
          }
          workgroupBarrier();
          for (var k = 0; k < ${DEPTH}; k++) {
            let av = As[k * ${TILE / 4} + ty];
            let bv = Bs[k * ${TILE / 4} + tx];
            acc[0] = fma(vec4<f32>(av.x), bv, acc[0]);
            acc[1] = fma(vec4<f32>(av.y), bv, acc[1]);
            acc[2] = fma(vec4<f32>(av.z), bv, acc[2]);
            acc[3] = fma(vec4<f32>(av.w), bv, acc[3]);
          }
          workgroupBarrier();
        }

        for (var i = 0; i < 4; i++) {
          let row = r0 + ty * 4 + i;
          if (row < R) {
            for (var jj = 0; jj < 4; jj++) {
              let col = c0 + tx * 4 + jj;
              if (col < Co) {
                result[(split * R + row) * Co + col] = acc[i][jj];
              }
            }
          }
        }
      }
    `;
  }
}

/**
 * The filter gradient for software adapters (Mesa's lavapipe/llvmpipe, SwiftShader), which run a
 * workgroup's invocations as SIMD lanes of one CPU thread: there, workgroup memory and barriers cost
 * more than they save (the CPU caches already do that job), so each invocation owns one row of dW and
 * 16 output channels and walks its slice of M alone. No lane leaves early and no load is under a
 * per-lane condition (out-of-range reads are clamped and zeroed by `select`).
 */
/** Output channels per invocation in the direct filter gradient. */
export const BLOCK = 16;

/** dy[base + k], k = 0..3, as a vec4, with zeros for channels c0 + k ≥ Co (reads clamped in bounds). */
function dyQuad(base: string, c0: string): string {
  const at = (k: number) => `select(0.0, dy[min(${base} + ${k}, ${base} + Co - 1 - (${c0}))], ${c0} + ${k} < Co)`;
  return `vec4<f32>(${[0, 1, 2, 3].map(at).join(', ')})`;
}

/** Partial filter gradients [splits, KH·KW·Ci, Co]: invocation = 1 or 4 rows of dW × 16 channels, over a slice of M. */
export class DirectFilterGradProgram implements Program {
  variableNames = ['x', 'dy'];
  uniforms = FILTER_GRAD_UNIFORMS;
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout = { x: [1], y: [2], z: [0] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey: string;
  variableComponents?: number[];
  readonly #full: boolean;
  readonly #wide: boolean;

  constructor(splits: number, rows: number, cin: number, cols: number) {
    this.outputShape = [splits, rows, cols];
    this.#full = cols % BLOCK === 0;
    // With Ci a multiple of 4 too, a lane owns four rows (four input channels, one vec4 load).
    this.#wide = this.#full && cin % 4 === 0;
    this.dispatch = [Math.ceil(rows / (this.#wide ? 4 : 1) / 64), Math.ceil(cols / BLOCK), splits];
    // A whole block reads dy as vec4s: one load for four channels.
    if (this.#full) this.variableComponents = [this.#wide ? 4 : 1, 4];
    this.shaderKey = `srDirectFilterGrad_${this.#full}_${this.#wide}`;
  }

  getUserCode(): string {
    const wide = this.#wide;
    const operand = (i: number) => (this.#full ? `dy[dr / 4 + ${i}]` : dyQuad(`dr + ${4 * i}`, `co0 + ${4 * i}`));
    const rows = wide ? [0, 1, 2, 3] : [0];
    const fmas = rows
      .flatMap((k) =>
        [0, 1, 2, 3].map((i) => `acc${k}[${i}] = fma(vec4<f32>(${wide ? `a[${k}]` : 'a'}), d${i}, acc${k}[${i}]);`),
      )
      .join('\n          ');
    const zero = 'array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0))';
    const store = rows
      .map(
        (k) => `for (var i = 0; i < 4; i++) {
            for (var j = 0; j < 4; j++) {
              if (co0 + 4 * i + j < Co) {
                result[(split * R + r0 + ${k}) * Co + co0 + 4 * i + j] = acc${k}[i][j];
              }
            }
          }`,
      )
      .join('\n          ');
    return /* wgsl */ `
      fn main() {
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let Ci = uniforms.xShape[3];
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let Co = uniforms.dyShape[3];
        let R = uniforms.filterDims.x * uniforms.filterDims.y * Ci;
        let lanes = R / ${rows.length};
        // Past-the-end lanes repeat the last rows and store nothing.
        let lane = min(i32(globalId.x), lanes - 1);
        let r0 = lane * ${rows.length};
        let co0 = i32(workgroupId.y) * ${BLOCK};
        let split = i32(workgroupId.z);
        let ci = r0 % Ci;
        let kk = r0 / Ci;
        let kw = kk % uniforms.filterDims.y;
        let kh = kk / uniforms.filterDims.y;
        let M = uniforms.dyShape[0] * OH * OW;
        let mStart = split * uniforms.chunk;
        let mEnd = min(M, mStart + uniforms.chunk);
        var ox = mStart % OW;
        var oy = (mStart / OW) % OH;
        var n = mStart / (OW * OH);
        ${rows.map((k) => `var acc${k} = ${zero};`).join('\n        ')}
        for (var m = mStart; m < mEnd; m++) {
          let iy = oy * uniforms.strides.x + kh - uniforms.pads.x;
          let ix = ox * uniforms.strides.y + kw - uniforms.pads.y;
          let inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          let at = select(0, ((n * H + iy) * W + ix) * Ci + ci, inside);
          ${wide ? 'let a = select(vec4<f32>(0.0), x[at / 4], inside);' : 'let a = select(0.0, x[at], inside);'}
          let dr = m * Co + co0;
          ${[0, 1, 2, 3].map((i) => `let d${i} = ${operand(i)};`).join('\n          ')}
          ${fmas}
          ox++;
          if (ox == OW) {
            ox = 0;
            oy++;
            if (oy == OH) {
              oy = 0;
              n++;
            }
          }
        }
        if (i32(globalId.x) < lanes) {
          ${store}
        }
      }
    `;
  }
}

/**
 * Partial column sums of a [rows, C] matrix (C a multiple of 4), [splits, C]: lane = four columns,
 * workgroup y = one slice of the rows. The bias gradient of a convolution (Σ dy over batch, height
 * and width) on software adapters, where tfjs's own reduction first transposes the whole tensor.
 */
export class ColumnSumPartialProgram implements Program {
  variableNames = ['x'];
  variableComponents = [4];
  outputComponent = 4;
  uniforms = 'rows : i32, chunk : i32,';
  workgroupSize: [number, number, number] = [16, 1, 1];
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey = 'srColumnSumPartial';

  constructor(splits: number, cols: number) {
    this.outputShape = [splits, cols];
    this.dispatch = [Math.ceil(cols / 4 / 16), splits, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
      fn main() {
        let quads = uniforms.outShape[1] / 4;
        let q = min(i32(globalId.x), quads - 1);
        let split = i32(workgroupId.y);
        let start = split * uniforms.chunk;
        let end = min(uniforms.rows, start + uniforms.chunk);
        var acc = vec4<f32>(0.0);
        for (var r = start; r < end; r++) {
          acc += x[r * quads + q];
        }
        if (i32(globalId.x) < quads) {
          result[split * quads + q] = acc;
        }
      }
    `;
  }
}

/** Sums [splits, n] partials over the splits. */
export class SumSplitsProgram implements Program {
  variableNames = ['partial'];
  uniforms = 'splits : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey = 'srSumSplits';

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(outputShape) / 64), 1, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var sum = 0.0;
          for (var s = 0; s < uniforms.splits; s++) {
            sum += partial[s * uniforms.size + index];
          }
          result[index] = sum;
        }
      }
    `;
  }
}
