import type { Program } from './program.ts';

/** Output pixels × output channels per invocation of DirectConvProgram. */
export const PIXELS = 8;
export const CONV_BLOCK = 8;

/**
 * Stride-1 convolution, NHWC, optional bias, for software adapters: invocation = 8 output pixels ×
 * 8 output channels (Co a multiple of 8). Per input channel it loads 8 input values (one per pixel)
 * and 2 vec4s of weights (the same in every lane) for 64 FMAs. (On lavapipe, blocks of 4 × 16,
 * 2 × 32, 16 × 4 and 16 × 8 measured slower or no faster, and so did reading the input as vec4s:
 * a load that differs per lane costs more than four scalar ones there.)
 */
export class DirectConvProgram implements Program {
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  uniforms = 'pads : vec2<i32>,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout = { x: [0, 1, 2], y: [3] };
  dispatch: [number, number, number];
  outputShape: number[];
  shaderKey: string;
  readonly #bias: boolean;

  constructor(outShape: [number, number, number, number], bias: boolean) {
    const [n, h, w, co] = outShape;
    this.outputShape = outShape;
    this.variableNames = bias ? ['x', 'w', 'bias'] : ['x', 'w'];
    this.variableComponents = bias ? [1, 4, 4] : [1, 4];
    this.dispatch = [Math.ceil((n * h * w) / PIXELS / 64), co / CONV_BLOCK, 1];
    this.#bias = bias;
    this.shaderKey = `srDirectConv_${bias}`;
  }

  getUserCode(): string {
    const px = Array.from({ length: PIXELS }, (_, j) => j);
    const blocks = Array.from({ length: CONV_BLOCK / 4 }, (_, i) => i);
    return /* wgsl */ `
      fn main() {
        let OH = uniforms.outShape[1];
        let OW = uniforms.outShape[2];
        let Co = uniforms.outShape[3];
        let total = uniforms.outShape[0] * OH * OW;
        let co0 = i32(workgroupId.y) * ${CONV_BLOCK};
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let Ci = uniforms.xShape[3];
        let KH = uniforms.wShape[0];
        let KW = uniforms.wShape[1];
        let first = i32(globalId.x) * ${PIXELS};
        // Past-the-end pixels are computed as the last one and not stored: no lane leaves early,
        // so no load is under a per-lane condition.
        ${px
          .map(
            (j) => `let p${j} = min(first + ${j}, total - 1);
        let ox${j} = p${j} % OW;
        let oy${j} = (p${j} / OW) % OH;
        let n${j} = p${j} / (OW * OH);`,
          )
          .join('\n        ')}
        ${px.map((j) => `var acc${j} = array<vec4<f32>, ${CONV_BLOCK / 4}>(${blocks.map((i) => (this.#bias ? `bias[co0 / 4 + ${i}]` : 'vec4<f32>(0.0)')).join(', ')});`).join('\n        ')}
        for (var kh = 0; kh < KH; kh++) {
          for (var kw = 0; kw < KW; kw++) {
            ${px
              .map(
                (j) => `let iy${j} = oy${j} + kh - uniforms.pads.x;
            let ix${j} = ox${j} + kw - uniforms.pads.y;
            let in${j} = iy${j} >= 0 && iy${j} < H && ix${j} >= 0 && ix${j} < W;
            let xb${j} = select(0, ((n${j} * H + iy${j}) * W + ix${j}) * Ci, in${j});`,
              )
              .join('\n            ')}
            let wb = ((kh * KW + kw) * Ci * Co + co0) / 4;
            for (var ci = 0; ci < Ci; ci++) {
              let wr = wb + ci * (Co / 4);
              ${blocks.map((i) => `let w${i} = w[wr + ${i}];`).join('\n              ')}
              ${px
                .map(
                  (j) => `let a${j} = select(0.0, x[xb${j} + ci], in${j});
              ${blocks.map((i) => `acc${j}[${i}] = fma(vec4<f32>(a${j}), w${i}, acc${j}[${i}]);`).join('\n              ')}`,
                )
                .join('\n              ')}
            }
          }
        }
        ${px
          .map(
            (j) => `if (first + ${j} < total) {
          ${blocks.map((i) => `result[((first + ${j}) * Co + co0) / 4 + ${i}] = acc${j}[${i}];`).join('\n          ')}
        }`,
          )
          .join('\n        ')}
      }
    `;
  }
}
