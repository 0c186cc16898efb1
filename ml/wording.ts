/**
 * The engine's errors in the command line's words: one sentence for each code, naming the file
 * and the flag that fixes it (--overwrite, -o, --backend, --resume). It sits beside errors.ts
 * rather than in ml/cli/ because it is also every UserError's message (what the library says when
 * an error is printed or logged), and the core imports nothing above it. The app words the same
 * codes for its controls in main/host/wording.ts.
 */
import { formatBytes, formatMemory } from './bytes.ts';
import type { Facts, Wording } from './errors.ts';

const q = (p: string) => JSON.stringify(p);
const IMAGE_KINDS = 'JPEG, PNG, WebP, TIFF, AVIF or GIF';

/**
 * The codes whose sentence names no flag and no control: the command line and the app say them
 * alike.
 */
export const SHARED_WORDING = {
  'missing-path': (f) => `${q(f.file)} does not exist; check the path and try again.`,
  'no-images': (f) => `${q(f.folder)} contains no images (${IMAGE_KINDS}); choose a folder with photos in it.`,
  'empty-file': (f) => `${q(f.file)} is empty (0 bytes); re-export or re-download the image.`,
  'image-too-small': (f) =>
    'folder' in f
      ? `Every image in ${q(f.folder)} is smaller than the ${f.min}×${f.min} pixels training needs (the largest is ${f.width}×${f.height}); add larger photos, or choose a smaller patch size or scale.`
      : `${q(f.file)} is only ${f.width}×${f.height} pixels; use an image at least ${f.min}×${f.min} pixels.`,
  'image-too-large': (f) =>
    `Upscaling ${q(f.file)} would make a ${f.width}×${f.height} image, more than SR Studio can hold in memory; use a smaller scale or crop the photo first.`,
  'viewer-too-large': (f) =>
    `${q(f.file)} is too large for the viewer: showing it needs ${formatBytes(f.need)} of cache files, more than the ${formatBytes(f.max)} one image may use; open a smaller or cropped image.`,
  'viewer-busy': (f) =>
    `The viewer's cache cannot take ${q(f.file)} now: the images being shown hold ${formatBytes(f.held)} of the ${formatBytes(f.max)} it may use; wait until they have loaded, then open this one again.`,
  'viewer-low-disk': (f) =>
    `There is not enough free disk space to show ${q(f.file)}: its cache files need ${formatBytes(f.need)} in ${q(f.folder)}, where ${formatBytes(f.free)} is free and ${formatBytes(f.keep)} is kept free; free some space there, then open the image again.`,
  'viewer-write-failed': (f) =>
    `The viewer could not write its cache for ${q(f.file)} to ${q(f.folder)} (${f.why}); free some space there, then open the image again.`,
  'name-too-long': (f) =>
    `Cannot write to ${q(f.file)} (its name is longer than the file system allows); give the input a shorter name and try again.`,
  'unreadable-file': (f) => `${q(f.file)} cannot be read (${f.why}); choose a readable ${f.what}.`,
  'would-overwrite-input': (f) =>
    `Writing the result to ${q(f.file)} would overwrite an input image; choose another output folder or format.`,
  'disk-full': (f) => `The disk is full while writing ${q(f.file)}; free some space and try again.`,
  'bad-weights': (f) =>
    `${q(f.file)} is not a valid SR Studio weights file (${f.why}); choose a .safetensors file saved by SR Studio.`,
  'bad-model': (f) =>
    `${q(f.file)} cannot be used as a super-resolution model (${f.why}); choose an ONNX model that takes one RGB image and gives one.`,
  'model-needs-memory': (f) =>
    `${q(f.file)} needs about ${formatMemory(f.need)} of memory for ${f.tile}, more than the ${formatMemory(f.budget)} one tile may use on this machine${f.share !== undefined && f.total !== undefined ? ` (${Math.round(f.share * 100)}% of its ${formatMemory(f.total)})` : ''}; run it on a machine with more memory, or choose a smaller model.`,
  'imported-not-trainable': (f) =>
    `${q(f.file)} is an imported ONNX model, which SR Studio can run but not train or fine-tune; start from a .safetensors model made by SR Studio.`,
  'weights-mismatch': (f) =>
    `${q(f.file)} does not fit this network: ${f.why}; use weights saved for the same preset, scale and activation.`,
  'init-mismatch': (f) => f.why,
  'broken-install': (f) => `SR Studio's generated file ${f.file} is missing; run "npm install" in SR Studio's folder.`,
  'run-busy': (f) => `The run in ${q(f.folder)} is being trained now (process ${f.pid}); wait for it or stop it first.`,
  'file-failed': (f) =>
    `${q(f.file)} could not be upscaled because of an unexpected error (${f.why}); try it again, and report it if it repeats.`,
  cancelled: (f) => `${f.what} was cancelled; nothing was written.`,
  'bad-argument': (f) => f.said,
} satisfies Partial<Wording>;

/** What a training whose loss kept diverging did and kept, alike in both front ends; each adds what to try. */
export const divergence = (f: Facts<'training-diverged'>) =>
  `Training stopped: ${f.steps} steps in a row had a non-finite or exploding loss even after lowering the learning rate; ${f.kept !== undefined ? `the last good checkpoint (iteration ${f.kept}) was kept as the model` : 'no checkpoint had been saved yet'}`;

export const wordForCli: Wording = {
  ...SHARED_WORDING,
  'unreadable-image': (f) =>
    'kind' in f
      ? `${q(f.file)} is not a regular file (it is a ${f.kind}); save the image to a file and name that file instead.`
      : `${q(f.file)} could not be read as an image (${f.why}); check that it is a complete ${IMAGE_KINDS} file.`,
  'unwritable-output': (f) =>
    `Cannot write to ${q(f.file)} (${f.why}); choose another output folder with -o or fix its permissions.`,
  'output-exists': (f) =>
    `${q(f.file)} already exists; pass --overwrite to replace it or choose another output folder with -o.`,
  'scale-mismatch': (f) =>
    `${q(f.file)} upscales x${f.modelScale}, not x${f.scale}; leave out --scale or choose a model of that scale.`,
  'overlap-too-large': (f) =>
    `${q(f.file)} takes a fixed ${f.width}×${f.height} input, which leaves no room for a margin of ${f.overlap}; use --overlap ${f.max} or less.`,
  'unknown-backend': (f) => `Unknown backend ${q(f.value)}; use one of ${f.known}.`,
  'backend-failed': (f) =>
    `The ${f.backend} backend could not start (${f.why}); choose another with --backend or run "sr-studio info".`,
  'objective-needs-onnx': (f) =>
    `The ${f.objective} objective trains on ONNX Runtime only, not on ${f.backend}; pass --backend onnx.`,
  'no-model': (f) => `No x${f.scale} model was found; pass one with --model FILE, or train one with "sr-studio train".`,
  'unknown-model': (f) =>
    `There is no model named ${q(f.value)} among the bundled and your own models, nor a file of that name; pass a model's name ("sr-studio info" lists them) or a .safetensors file.`,
  'run-exists': (f) =>
    `${q(f.folder)} already holds a training run; continue it with --resume ${q(f.folder)}, or choose another --out.`,
  'folder-not-empty': (f) =>
    `${q(f.folder)} already holds other files, which a training run would mix with its own; choose an empty or new folder with --out.`,
  'not-a-run': (f) =>
    f.notStarted
      ? `${q(f.folder)} holds no training yet (it was stopped before its settings were saved); start the run again with --out ${q(f.folder)} instead of --resume.`
      : `${q(f.folder)} is not a training run folder (${f.why}); name the folder a run was started in.`,
  'run-records-no-data': (f) =>
    `The run in ${q(f.run)} does not record its training folder; name it with --data DIR (and --val DIR if the run used one).`,
  'run-folder-gone': (f) =>
    `The ${f.what} folder ${q(f.folder)} that the run in ${q(f.run)} was trained on is not there any more; name where it is now with ${f.what === 'training' ? '--data' : '--val'} DIR.`,
  'no-training-folder': () => 'train needs a folder of training photos: --data DIR.',
  'init-per-activation': (f) =>
    `--init needs one model for each activation compared (${f.acts
      .split(',')
      .map((a) => `${a}=MODEL`)
      .join(',')}), so each starts from its own twin.`,
  'run-trained': (f) =>
    `The run in ${q(f.run)} has trained ${f.done} iterations already; to train it further, pass --iters with more than ${f.done}.`,
  'run-mismatch': (f) =>
    `The run in ${q(f.run)} was trained with ${f.what}; continue it as it was started, or start a new run.`,
  'training-diverged': (f) => `${divergence(f)}; try a lower --lr, or check the training images.`,
  internal: (f) => `SR Studio failed unexpectedly: ${f.why || 'unknown error'}.`.replace(/\.\.$/, '.'),
};
