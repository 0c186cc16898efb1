/**
 * One catalogue of the errors a user can cause. Each message is one sentence that names the
 * file (or setting) and says what to do. Anything that is not a UserError is a bug.
 */
export type UserErrorCode =
  | 'missing-path'
  | 'no-images'
  | 'empty-file'
  | 'unreadable-image'
  | 'image-too-small'
  | 'image-too-large'
  | 'unwritable-output'
  | 'unreadable-file'
  | 'output-exists'
  | 'would-overwrite-input'
  | 'disk-full'
  | 'bad-weights'
  | 'bad-model'
  | 'weights-mismatch'
  | 'unknown-backend'
  | 'backend-failed'
  | 'bad-argument'
  | 'no-model'
  | 'broken-install'
  | 'run-exists'
  | 'folder-not-empty'
  | 'not-a-run'
  | 'file-failed'
  | 'run-mismatch'
  | 'run-trained'
  | 'cancelled';

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: UserErrorCode,
    message: string,
    readonly file?: string,
    /** The facts behind the message (backend, reason, …), for front ends that word it their own way. */
    readonly facts?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** Thrown when an AbortSignal stops a job; carries no stack worth showing. */
export class AbortError extends UserError {
  constructor(what = 'The job') {
    super('cancelled', `${what} was cancelled; nothing was written.`);
  }
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError;

/** The first line of what an unexpected error says (at most 200 characters), to quote in a sentence. */
export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200);
}

const q = (p: string) => JSON.stringify(p);

export const errors = {
  missingPath: (p: string) =>
    new UserError('missing-path', `${q(p)} does not exist; check the path and try again.`, p),
  noImages: (dir: string) =>
    new UserError(
      'no-images',
      `${q(dir)} contains no images (JPEG, PNG, WebP, TIFF, AVIF or GIF); choose a folder with photos in it.`,
      dir,
    ),
  emptyFile: (p: string) =>
    new UserError('empty-file', `${q(p)} is empty (0 bytes); re-export or re-download the image.`, p),
  unreadableImage: (p: string, why: string) =>
    new UserError(
      'unreadable-image',
      `${q(p)} could not be read as an image (${why}); check that it is a complete JPEG, PNG, WebP, TIFF, AVIF or GIF file.`,
      p,
    ),
  imageTooSmall: (p: string, w: number, h: number, min: number) =>
    new UserError(
      'image-too-small',
      `${q(p)} is only ${w}×${h} pixels; use an image at least ${min}×${min} pixels.`,
      p,
    ),
  outputTooLarge: (p: string, w: number, h: number) =>
    new UserError(
      'image-too-large',
      `Upscaling ${q(p)} would make a ${w}×${h} image, more than SR Studio can hold in memory; use a smaller scale or crop the photo first.`,
      p,
    ),
  unwritableOutput: (p: string, why: string) =>
    new UserError(
      'unwritable-output',
      `Cannot write to ${q(p)} (${why}); choose another output folder with -o or fix its permissions.`,
      p,
      { why },
    ),
  outputExists: (p: string) =>
    new UserError(
      'output-exists',
      `${q(p)} already exists; pass --overwrite to replace it or choose another output folder with -o.`,
      p,
    ),
  /** A path that should be a file to read but cannot be read as one. */
  unreadableFile: (p: string, why: string, what = 'file') =>
    new UserError('unreadable-file', `${q(p)} cannot be read (${why}); choose a readable ${what}.`, p, { why, what }),
  wouldOverwriteInput: (p: string) =>
    new UserError(
      'would-overwrite-input',
      `Writing the result to ${q(p)} would overwrite an input image; choose another output folder or format.`,
      p,
    ),
  diskFull: (p: string) =>
    new UserError('disk-full', `The disk is full while writing ${q(p)}; free some space and try again.`, p),
  badWeights: (p: string, why: string) =>
    new UserError(
      'bad-weights',
      `${q(p)} is not a valid SR Studio weights file (${why}); choose a .safetensors file saved by SR Studio.`,
      p,
    ),
  /** An ONNX file that cannot be run as a super-resolution model; `why` names what is wrong. */
  badOnnxModel: (p: string, why: string) =>
    new UserError(
      'bad-model',
      `${q(p)} cannot be used as a super-resolution model (${why}); choose an ONNX model that takes one RGB image and gives one.`,
      p,
      { why },
    ),
  /** Imported models run as they are: training would need their network in SR Studio's own form. */
  importedNotTrainable: (p: string) =>
    new UserError(
      'bad-model',
      `${q(p)} is an imported ONNX model, which SR Studio can run but not train or fine-tune; start from a .safetensors model made by SR Studio.`,
      p,
      { why: 'imported models cannot be trained' },
    ),
  weightsMismatch: (p: string, why: string) =>
    new UserError(
      'weights-mismatch',
      `${q(p)} does not fit this network: ${why}; use weights saved for the same preset, scale and activation.`,
      p,
    ),
  unknownBackend: (name: string, known: readonly string[]) =>
    new UserError('unknown-backend', `Unknown backend ${q(name)}; use one of ${known.join(', ')}.`),
  backendFailed: (name: string, why: string) =>
    new UserError(
      'backend-failed',
      `The ${name} backend could not start (${why}); choose another with --backend or run "sr-studio info".`,
      undefined,
      { backend: name, why },
    ),
  badArgument: (message: string) => new UserError('bad-argument', message),
  noModel: (scale: number) =>
    new UserError(
      'no-model',
      `No x${scale} model was found; pass one with --model FILE, or train one with "sr-studio train".`,
      undefined,
      { scale: String(scale) },
    ),
  /** A model named by name that is neither a file nor among the installed models. */
  unknownModel: (name: string) =>
    new UserError(
      'no-model',
      `There is no model named ${q(name)} among the bundled and your own models, nor a file of that name; pass a model's name ("sr-studio info" lists them) or a .safetensors file.`,
      name,
    ),
  /** A model to start a run from (train --init) whose network differs from the run's; `why` is the whole sentence. */
  initMismatch: (model: string, why: string) => new UserError('weights-mismatch', why, model),
  /** A new run asked to go where a run already is. */
  runExists: (dir: string) =>
    new UserError('run-exists', `${q(dir)} already holds a training run; continue it with --resume ${q(dir)}, or choose another --out.`, dir),
  /** A new run asked to go into a folder that holds other files. */
  folderNotEmpty: (dir: string) =>
    new UserError('folder-not-empty', `${q(dir)} already holds other files, which a training run would mix with its own; choose an empty or new folder with --out.`, dir),
  notARun: (dir: string, why: string) =>
    new UserError('not-a-run', `${q(dir)} is not a training run folder (${why}); name the folder a run was started in.`, dir, { why }),
  /** A folder whose training was stopped before it saved its settings: there is nothing to continue. */
  runNotStarted: (dir: string) =>
    new UserError('not-a-run', `${q(dir)} holds no training yet (it was stopped before its settings were saved); start the run again with --out ${q(dir)} instead of --resume.`, dir, { why: 'it was stopped before its settings were saved' }),
  /** A run that a live process is training. */
  runBusy: (dir: string, pid: number) =>
    new UserError('bad-argument', `The run in ${q(dir)} is being trained now (process ${pid}); wait for it or stop it first.`, dir, { pid: String(pid) }),
  /** A file name longer than the file system takes (most take 255 bytes). */
  nameTooLong: (p: string) =>
    new UserError(
      'unwritable-output',
      `Cannot write to ${q(p)} (its name is longer than the file system allows); give the input a shorter name and try again.`,
      p,
      { why: 'its name is longer than the file system allows' },
    ),
  /** A path to read that is a pipe, a device or a socket: reading it could block or never end. */
  notARegularFile: (p: string, kind: string) =>
    new UserError('unreadable-image', `${q(p)} is not a regular file (it is a ${kind}); save the image to a file and name that file instead.`, p, { why: `it is a ${kind}` }),
  /** One file of a batch failed in a way SR Studio did not foresee; the others go on. */
  fileFailed: (p: string, why: string) =>
    new UserError('file-failed', `${q(p)} could not be upscaled because of an unexpected error (${why}); try it again, and report it if it repeats.`, p, { why }),
  /** A continued run whose recorded training or validation folder is not there any more. */
  runFolderGone: (dir: string, what: 'training' | 'validation', folder: string) =>
    new UserError(
      'missing-path',
      `The ${what} folder ${q(folder)} that the run in ${q(dir)} was trained on is not there any more; name where it is now with ${what === 'training' ? '--data' : '--val'} DIR.`,
      folder,
      { what, run: dir },
    ),
  /** Continuing a run to no more iterations than it has trained. */
  runTrained: (dir: string, done: number) =>
    new UserError('run-trained', `The run in ${q(dir)} has trained ${done} iterations already; to train it further, pass --iters with more than ${done}.`, dir, { done: String(done) }),
  /** Continuing a run with other settings or data than it was started with. */
  runMismatch: (dir: string, what: string) =>
    new UserError('run-mismatch', `The run in ${q(dir)} was trained with ${what}; continue it as it was started, or start a new run.`, dir, { what }),
  /** Every readable image in a training folder is smaller than one high-resolution patch. */
  allImagesTooSmall: (dir: string, min: number, largest: { width: number; height: number }) =>
    new UserError(
      'image-too-small',
      `Every image in ${q(dir)} is smaller than the ${min}×${min} pixels training needs (the largest is ` +
        `${largest.width}×${largest.height}); add larger photos, or choose a smaller patch size or scale.`,
      dir,
    ),
};

/**
 * Turns any filesystem error on `p` into a user error where the cause is the user's. `reading`:
 * the error came from reading `p` (a model, a run's files), so it is never called an output.
 */
export function fsError(e: unknown, p: string, reading?: { what: string }): Error {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (reading) {
    switch (code) {
      case 'ENOENT':
        return errors.missingPath(p);
      case 'EISDIR':
        return errors.unreadableFile(p, 'it is a folder', reading.what);
      case 'ENOTDIR':
        return errors.unreadableFile(p, 'a part of the path is a file, not a folder', reading.what);
      case 'EACCES':
      case 'EPERM':
        return errors.unreadableFile(p, 'permission denied', reading.what);
      case 'EIO':
        return errors.unreadableFile(p, 'the disk reported an input/output error', reading.what);
    }
    return e instanceof Error ? e : new Error(String(e));
  }
  switch (code) {
    case 'ENOENT':
      return errors.missingPath(p);
    case 'ENOSPC':
    case 'EDQUOT':
      return errors.diskFull(p);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return errors.unwritableOutput(p, 'permission denied');
    case 'ENOTDIR':
    case 'EEXIST':
      return errors.unwritableOutput(p, 'a part of the path is a file, not a folder');
    case 'EISDIR':
      return errors.unwritableOutput(p, 'it is a folder');
    case 'ENAMETOOLONG':
      return errors.nameTooLong(p);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}
