import { GraphBuilder, writeModel, type Dims, type ValueSpec } from '../../ml/onnx/graph.ts';
import { ProtoWriter } from '../../ml/onnx/protobuf.ts';

/**
 * Small ONNX graphs that cannot be super-resolution models, each wrong in one way, for checking
 * that an import refuses them with the reason.
 */
function model(
  build: (g: GraphBuilder) => void,
  inputs: readonly ValueSpec[],
  outputs: readonly ValueSpec[],
  metadata?: Record<string, string>,
): Uint8Array {
  const g = new GraphBuilder();
  build(g);
  return writeModel(g, { graphName: 'test', inputs, outputs, metadata });
}

const rgb: Dims = [1, 3, 'h', 'w'];

export const rank3Model = () =>
  model(
    (g) => g.rename(g.add('Identity', ['input'], [3, 'h', 'w']), 'output'),
    [{ name: 'input', dims: [3, 'h', 'w'] }],
    [{ name: 'output', dims: [3, 'h', 'w'] }],
  );

export const twoInputModel = () =>
  model(
    (g) => g.rename(g.add('Add', ['a', 'b'], rgb), 'output'),
    [
      { name: 'a', dims: rgb },
      { name: 'b', dims: rgb },
    ],
    [{ name: 'output', dims: rgb }],
  );

/** Gives the mean of the channels: a grey map, not an RGB image. */
export const greyOutputModel = () =>
  model(
    (g) =>
      g.rename(
        g.add(
          'ReduceMean',
          ['input'],
          [1, 1, 'h', 'w'],
          [
            { name: 'axes', ints: [1] },
            { name: 'keepdims', i: 1 },
          ],
        ),
        'output',
      ),
    [{ name: 'input', dims: rgb }],
    [{ name: 'output', dims: [1, 1, 'h', 'w'] }],
  );

/** Resizes the input by `scale` (nearest neighbour), declaring `metadata`; the graph works in any range. */
const resizeModel = (scale: number, metadata?: Record<string, string>) =>
  model(
    (g) => {
      const scales = g.constant('scales', [4], Float32Array.of(1, 1, scale, scale));
      g.rename(g.add('Resize', ['input', '', scales], [1, 3, 'H', 'W'], [{ name: 'mode', s: 'nearest' }]), 'output');
    },
    [{ name: 'input', dims: rgb }],
    [{ name: 'output', dims: [1, 3, 'H', 'W'] }],
    metadata,
  );

/** Resizes by 1.5: not a whole scale. */
export const oddScaleModel = () => resizeModel(1.5);

/** Nearest x2 with a declared 0–255 range, but the graph works in any range. */
export const declared255Model = () => resizeModel(2, { input_range: '0-255' });

/** Nearest x2 with nothing declared: a flat grey comes out the same in either range, so the probe cannot tell which it takes. */
export const nearestModel = () => resizeModel(2);

/** One node from a custom operator domain (written by hand: the graph builder knows only the standard one). */
export function customOpModel(): Uint8Array {
  const valueInfo = (w: ProtoWriter, name: string) =>
    w
      .string(1, name)
      .message(2, (t) =>
        t.message(1, (tensor) =>
          tensor.int(1, 1).message(2, (s) => [1, 3, 8, 8].forEach((d) => s.message(1, (dim) => dim.int(1, d)))),
        ),
      );
  return new ProtoWriter()
    .int(1, 8)
    .string(2, 'test')
    .message(7, (g) =>
      g
        .message(1, (n) =>
          n
            .string(1, 'input')
            .string(2, 'output')
            .string(3, 'sharpen')
            .string(4, 'Sharpen')
            .string(7, 'com.example.sr'),
        )
        .string(2, 'custom')
        .message(11, (w) => valueInfo(w, 'input'))
        .message(12, (w) => valueInfo(w, 'output')),
    )
    .message(8, (o) => o.string(1, '').int(2, 17))
    .message(8, (o) => o.string(1, 'com.example.sr').int(2, 1))
    .finish();
}

/**
 * Folds 2×2 pixels into channels and back (as pixel-unshuffle models start), then nearest x2: takes
 * even sides only, and its output is the input's nearest-neighbour enlargement.
 */
export const evenSidesModel = () =>
  model(
    (g) => {
      const folded = g.add('SpaceToDepth', ['input'], [1, 12, 'h2', 'w2'], [{ name: 'blocksize', i: 2 }]);
      const back = g.add(
        'DepthToSpace',
        [folded],
        [1, 3, 'h', 'w'],
        [
          { name: 'blocksize', i: 2 },
          { name: 'mode', s: 'DCR' },
        ],
      );
      const scales = g.constant('scales', [4], Float32Array.of(1, 1, 2, 2));
      g.rename(g.add('Resize', [back, '', scales], [1, 3, 'H', 'W'], [{ name: 'mode', s: 'nearest' }]), 'output');
    },
    [{ name: 'input', dims: rgb }],
    [{ name: 'output', dims: [1, 3, 'H', 'W'] }],
  );
