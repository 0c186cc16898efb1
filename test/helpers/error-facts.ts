/** Facts for every error code, as the engine raises them: what the wording tests word. */
import type { ErrorCode, Facts } from '../../ml/errors.ts';

export const FILE = '/photos/holiday/IMG_0001.jpg';
export const FOLDER = '/photos/holiday';
export const RUN = '/runs/tanhexp-x2';

/** Each code's facts (for codes worded two ways, one of each). Typed: a code without facts does not compile. */
export const SAMPLE_FACTS: { readonly [C in ErrorCode]: readonly Facts<C>[] } = {
  'missing-path': [{ file: FILE }],
  'no-images': [{ folder: FOLDER }],
  'empty-file': [{ file: FILE }],
  'unreadable-image': [
    { file: FILE, why: 'premature end of JPEG data' },
    { file: FILE, kind: 'pipe' },
  ],
  'image-too-small': [
    { file: FILE, width: 8, height: 6, min: 16 },
    { folder: FOLDER, width: 60, height: 40, min: 96 },
  ],
  'image-too-large': [{ file: FILE, width: 40000, height: 30000 }],
  'viewer-too-large': [{ file: FILE, need: 5 * 1024 ** 3, max: 4 * 1024 ** 3 }],
  'viewer-busy': [{ file: FILE, held: 2 * 1024 ** 3, max: 2 * 1024 ** 3 }],
  'viewer-low-disk': [
    { file: FILE, folder: '/tmp/views', need: 300 * 1024 ** 2, free: 100 * 1024 ** 2, keep: 256 * 1024 ** 2 },
  ],
  'viewer-write-failed': [{ file: FILE, folder: '/tmp/views', why: 'the disk is full' }],
  'unwritable-output': [{ file: FILE, why: 'permission denied' }],
  'name-too-long': [{ file: FILE }],
  'unreadable-file': [{ file: FILE, why: 'permission denied', what: 'model' }],
  'output-exists': [{ file: FILE }],
  'would-overwrite-input': [{ file: FILE }],
  'disk-full': [{ file: FILE }],
  'bad-weights': [{ file: FILE, why: 'its header is not JSON' }],
  'bad-model': [{ file: FILE, why: 'it is not an ONNX model file' }],
  'model-needs-memory': [
    { file: FILE, tile: 'its fixed 64×64 input', need: 3 * 1024 ** 2, budget: 512 * 1024 },
    {
      file: FILE,
      tile: 'even its smallest tile (16×16 pixels with a margin of 8)',
      need: 2 * 1024 ** 3,
      budget: 1024 ** 3,
      share: 0.25,
      total: 4 * 1024 ** 3,
    },
  ],
  'imported-not-trainable': [{ file: FILE }],
  'weights-mismatch': [{ file: FILE, why: 'it has 32 features, not 16' }],
  'init-mismatch': [
    {
      file: FILE,
      why: 'tanhexp_photo_x2 uses tanhexp, but this run uses swish; pick a model with the same activation, or start from scratch.',
    },
  ],
  'scale-mismatch': [{ file: FILE, modelScale: 4, scale: 2 }],
  'overlap-too-large': [{ file: FILE, width: 64, height: 64, overlap: 40, max: 28 }],
  'unknown-backend': [{ value: 'cuda', known: 'auto, cpu, wasm, onnx' }],
  'backend-failed': [{ backend: 'tensorflow', why: '@tensorflow/tfjs-node-gpu is not installed' }],
  'objective-needs-onnx': [{ objective: 'perceptual', backend: 'webgpu' }],
  'no-model': [{ scale: 3 }],
  'unknown-model': [{ value: 'sharpest' }],
  'broken-install': [{ file: '/opt/sr-studio/ml/node/generated/tfjs-gradients.cjs' }],
  'run-exists': [{ folder: RUN }],
  'folder-not-empty': [{ folder: RUN }],
  'not-a-run': [
    { folder: RUN, why: 'it has no config.json' },
    { folder: RUN, why: 'it was stopped before its settings were saved', notStarted: true },
  ],
  'run-busy': [{ folder: RUN, pid: 4242 }],
  'run-records-no-data': [{ run: RUN }],
  'run-folder-gone': [
    { folder: FOLDER, run: RUN, what: 'training' },
    { folder: FOLDER, run: RUN, what: 'validation' },
  ],
  'no-training-folder': [{}],
  'init-per-activation': [{ acts: 'swish,tanhexp' }],
  'run-trained': [{ run: RUN, done: 4000 }],
  'run-mismatch': [{ run: RUN, what: 'the light preset, not tiny' }],
  'file-failed': [{ file: FILE, why: 'vips: out of order read' }],
  'training-diverged': [{ steps: 25, kept: 1200 }, { steps: 25 }],
  internal: [{ why: "Cannot read properties of null (reading 'x')" }],
  cancelled: [{ what: 'Upscaling' }],
  'bad-argument': [
    { said: 'A comparison needs at least two different activations, e.g. swish and tanhexp.' },
    { said: '"/etc" is a file, not a folder.', field: 'Output folder' },
  ],
};

/** The path a code's facts name (its file, folder or run), if any. */
export function pathOf(facts: object): string | undefined {
  const f = facts as { file?: string; folder?: string; run?: string };
  return f.file ?? f.folder ?? f.run;
}
