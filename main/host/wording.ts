/**
 * The engine's errors in the app's words: one sentence for each code, naming the app's controls
 * ("Replace existing outputs", Settings, the Train view) where the command line names its flags
 * (ml/wording.ts; the sentences that name neither are shared, SHARED_WORDING), and each path
 * the user knows by another name (an uploaded file: by the name it was dropped with) by that name.
 */
import { word, type ErrorData, type Wording } from '../../ml/errors.ts';
import type { ErrorFields } from '../api.ts';
import { divergence, SHARED_WORDING } from '../../ml/wording.ts';

const q = (p: string) => JSON.stringify(p);
const IMAGE_KINDS = 'JPEG, PNG, WebP, TIFF, AVIF or GIF';

/** Shows a path as the user knows it (the default: as it is). */
export type DisplayName = (path: string) => string;

export const APP_WORDING: Wording = {
  ...SHARED_WORDING,
  'unreadable-image': (f) =>
    'kind' in f
      ? `${q(f.file)} is not a regular file (it is a ${f.kind}); save the image to a file and choose that file instead.`
      : `${q(f.file)} could not be read as an image (${f.why}); check that it is a complete ${IMAGE_KINDS} file.`,
  'unwritable-output': (f) => `Cannot write to ${q(f.file)} (${f.why}); choose another output folder.`,
  'output-exists': (f) =>
    `${q(f.file)} already exists; tick "Replace existing outputs" to replace it, or choose another output folder.`,
  'scale-mismatch': (f) => `${q(f.file)} upscales x${f.modelScale}, not x${f.scale}; choose a model of that scale.`,
  'overlap-too-large': (f) =>
    `${q(f.file)} takes a fixed ${f.width}×${f.height} input, which leaves no room for a margin of ${f.overlap}; set its margin to ${f.max} or less.`,
  'unknown-backend': (f) => `Unknown backend ${q(f.value)}; choose one of ${f.known} in Settings.`,
  'backend-failed': (f) => `The ${f.backend} backend could not start (${f.why}); choose another backend in Settings.`,
  'objective-needs-onnx': (f) =>
    `The ${f.objective} objective trains on ONNX Runtime only, not on ${f.backend}; choose ONNX Runtime as the training backend in Settings.`,
  'no-model': (f) => `No x${f.scale} model was found; train one in the Train view, or add one in the Models view.`,
  'unknown-model': (f) =>
    `There is no model named ${q(f.value)} among the bundled and your own models; pick a model from the list.`,
  'run-exists': (f) =>
    `${q(f.folder)} already holds a training run; continue it from the list of runs, or choose another folder.`,
  'folder-not-empty': (f) =>
    `${q(f.folder)} already holds other files, which a training run would mix with its own; choose an empty or new folder.`,
  'not-a-run': (f) =>
    f.notStarted
      ? `${q(f.folder)} holds no training yet (it was stopped before its settings were saved); start a new run in that folder instead.`
      : `${q(f.folder)} is not a training run folder (${f.why}); choose the folder a run was started in.`,
  'run-records-no-data': (f) =>
    `The run in ${q(f.run)} does not record its training folder; choose its training folder (and validation folder, if it used one).`,
  'run-folder-gone': (f) =>
    `The ${f.what} folder ${q(f.folder)} that the run in ${q(f.run)} was trained on is not there any more; choose where it is now as the ${f.what} folder.`,
  'no-training-folder': () => 'Training needs a folder of training photos; choose a training folder.',
  'init-per-activation': (f) =>
    `Starting a comparison from trained models needs one model for each activation compared (${f.acts.split(',').join(', ')}), so each starts from its own twin.`,
  'run-trained': (f) =>
    `The run in ${q(f.run)} has trained ${f.done} iterations already; to train it further, ask for more than ${f.done}.`,
  'run-mismatch': (f) =>
    `The run in ${q(f.run)} was trained with ${f.what}; continue it with the same settings and folders, or start a new run.`,
  'training-diverged': (f) =>
    `${divergence(f)}; check the photos in the training folder, or start the run from a trained model, which trains at a lower learning rate.`,
  internal: (f) => `The engine failed unexpectedly: ${f.why || 'unknown error'}.`.replace(/\.\.$/, '.'),
};

/** The facts that are paths, shown by the names the user knows. */
const PATH_FACTS = ['file', 'folder', 'run'] as const;

/** The error with each path fact shown as `name` says (an upload: by the name it was dropped with). */
export function shownAs(e: ErrorData, name: DisplayName): ErrorData {
  const facts: Record<string, unknown> = { ...e.facts };
  for (const k of PATH_FACTS) if (typeof facts[k] === 'string') facts[k] = name(facts[k] as string);
  return { code: e.code, facts } as ErrorData;
}

/** An error's sentence in the app, with each path shown as `name` says. */
export function wordForApp(e: ErrorData, name: DisplayName = (p) => p): string {
  return word(APP_WORDING, shownAs(e, name));
}

/**
 * An engine error as the page gets it: the app's sentence and, beside it, a user error's code and
 * facts, each path shown as `name` says. A bug (`internal`, what the engine says of an error that
 * is not a user's) and a check's own refusal that names no field are their sentence alone: their
 * facts say no more.
 */
export function forPage(e: ErrorData, name: DisplayName = (p) => p): { readonly message: string } & ErrorFields {
  const shown = shownAs(e, name);
  const message = word(APP_WORDING, shown);
  const bare = shown.code === 'internal' || (shown.code === 'bad-argument' && shown.facts.field === undefined);
  return bare ? { message } : { message, ...shown };
}
