/**
 * The errors a user can cause, as data: a code and the facts behind it (the file or folder, the
 * field and the value, the reason). Nothing here is worded: each front end words each code once
 * (the command line in ml/wording.ts, naming its flags; the app in main/host/wording.ts,
 * naming its controls). A UserError's `message` is the command line's sentence, so the library
 * reads the same when its errors are printed or logged. Anything that is not a UserError is a bug.
 */
import { wordForCli } from './wording.ts';

type Path = string;

/** Each code and its facts. Paths are as the engine was given them; numbers are numbers. */
export interface FactsOf {
  /** A path that is not there. */
  'missing-path': { file: Path };
  /** A folder to read photos from that has none. */
  'no-images': { folder: Path };
  'empty-file': { file: Path };
  /** An image that cannot be decoded (`why`), or a path that is not a regular file (`kind`: pipe, socket, device). */
  'unreadable-image': { file: Path; why: string } | { file: Path; kind: string };
  /** One image smaller than `min`, or (`folder`) every image of a training folder, the largest being width×height. */
  'image-too-small':
    | { file: Path; width: number; height: number; min: number }
    | { folder: Path; width: number; height: number; min: number };
  /** Upscaling `file` would make a width×height image, more than fits in memory. */
  'image-too-large': { file: Path; width: number; height: number };
  /** An image too large for the viewer's cache (`need` bytes, more than `max`). */
  'viewer-too-large': { file: Path; need: number; max: number };
  /** The viewer's cache holds `held` of the `max` bytes it may use. */
  'viewer-busy': { file: Path; held: number; max: number };
  /** Too little free disk for the viewer's cache files in `folder`. */
  'viewer-low-disk': { file: Path; folder: Path; need: number; free: number; keep: number };
  /** The viewer's cache files for `file` could not be written to `folder`. */
  'viewer-write-failed': { file: Path; folder: Path; why: string };
  'unwritable-output': { file: Path; why: string };
  /** A file name longer than the file system takes. */
  'name-too-long': { file: Path };
  /** A file to read (`what`: a file, a model, …) that cannot be read. */
  'unreadable-file': { file: Path; why: string; what: string };
  'output-exists': { file: Path };
  'would-overwrite-input': { file: Path };
  'disk-full': { file: Path };
  'bad-weights': { file: Path; why: string };
  /** An ONNX file that cannot be run as a super-resolution model. */
  'bad-model': { file: Path; why: string };
  /**
   * An imported model none of whose tiles (`tile`: "its fixed 64×64 input", "even its smallest
   * tile (…)") fits in the `budget` bytes one tile may use; `share` of the machine's `total` when
   * that is where the budget comes from.
   */
  'model-needs-memory': { file: Path; tile: string; need: number; budget: number; share?: number; total?: number };
  /** An imported ONNX model asked to be trained. */
  'imported-not-trainable': { file: Path };
  'weights-mismatch': { file: Path; why: string };
  /** A model to start a run from whose network differs from the run's; `why` is the shared sentence of ml/train/init-mismatch.ts. */
  'init-mismatch': { file: Path; why: string };
  /** A model that upscales by `modelScale` asked to upscale by `scale`. */
  'scale-mismatch': { file: Path; modelScale: number; scale: number };
  /** An imported model with a fixed width×height input and an overlap that leaves no room; `max` fits. */
  'overlap-too-large': { file: Path; width: number; height: number; overlap: number; max: number };
  'unknown-backend': { value: string; known: string };
  'backend-failed': { backend: string; why: string };
  /** A training objective (`perceptual`) that only the ONNX Runtime backend trains, asked of `backend`. */
  'objective-needs-onnx': { objective: string; backend: string };
  /** No model of the scale is installed. */
  'no-model': { scale: number };
  /** A model named by a name that is neither a file nor an installed model. */
  'unknown-model': { value: string };
  /** A file SR Studio ships is missing. */
  'broken-install': { file: Path };
  'run-exists': { folder: Path };
  'folder-not-empty': { folder: Path };
  /** Not a run folder (`why`), or (`notStarted`) a run stopped before it saved its settings. */
  'not-a-run': { folder: Path; why: string; notStarted?: boolean };
  /** A run that a live process (`pid`) is training. */
  'run-busy': { folder: Path; pid: number };
  /** A continued run whose recorded training folder is not recorded. */
  'run-records-no-data': { run: Path };
  /** A continued run whose recorded training or validation folder is not there any more. */
  'run-folder-gone': { folder: Path; run: Path; what: 'training' | 'validation' };
  /** A new run without a folder of training photos. */
  'no-training-folder': Record<never, never>;
  /** A comparison started from trained models needs one per activation (`acts`, comma-separated). */
  'init-per-activation': { acts: string };
  'run-trained': { run: Path; done: number };
  /** Continuing a run with other settings or data (`what`) than it was started with. */
  'run-mismatch': { run: Path; what: string };
  /** One file of a batch failed in a way SR Studio did not foresee. */
  'file-failed': { file: Path; why: string };
  /**
   * A training stopped because `steps` steps in a row had a non-finite or exploding loss even at a
   * lower learning rate; `kept`: the iteration of the last good checkpoint, kept as the model.
   */
  'training-diverged': { steps: number; kept?: number };
  /** A bug: the engine failed in a way nothing foresaw (`why`: the first line of what it said). */
  internal: { why: string };
  cancelled: { what: string };
  /**
   * A request or setting refused by a check of the front end or the library that made it, which
   * words it where the check is (`said`); `field` names the setting or control when there is one.
   */
  'bad-argument': { said: string; field?: string };
}

export type ErrorCode = keyof FactsOf;
export type Facts<C extends ErrorCode = ErrorCode> = Readonly<FactsOf[C]>;
/** An error as it travels between processes: its code and facts, no sentence. */
export type ErrorData<C extends ErrorCode = ErrorCode> = {
  readonly [K in C]: { readonly code: K; readonly facts: Facts<K> };
}[C];

/** Every code, to check that each front end words each. */
export const ERROR_CODES = Object.keys({
  'missing-path': 1,
  'no-images': 1,
  'empty-file': 1,
  'unreadable-image': 1,
  'image-too-small': 1,
  'image-too-large': 1,
  'viewer-too-large': 1,
  'viewer-busy': 1,
  'viewer-low-disk': 1,
  'viewer-write-failed': 1,
  'unwritable-output': 1,
  'name-too-long': 1,
  'unreadable-file': 1,
  'output-exists': 1,
  'would-overwrite-input': 1,
  'disk-full': 1,
  'bad-weights': 1,
  'bad-model': 1,
  'model-needs-memory': 1,
  'imported-not-trainable': 1,
  'weights-mismatch': 1,
  'init-mismatch': 1,
  'scale-mismatch': 1,
  'overlap-too-large': 1,
  'unknown-backend': 1,
  'backend-failed': 1,
  'objective-needs-onnx': 1,
  'no-model': 1,
  'unknown-model': 1,
  'broken-install': 1,
  'run-exists': 1,
  'folder-not-empty': 1,
  'not-a-run': 1,
  'run-busy': 1,
  'run-records-no-data': 1,
  'run-folder-gone': 1,
  'no-training-folder': 1,
  'init-per-activation': 1,
  'run-trained': 1,
  'run-mismatch': 1,
  'file-failed': 1,
  'training-diverged': 1,
  internal: 1,
  cancelled: 1,
  'bad-argument': 1,
} satisfies Record<ErrorCode, 1>) as ErrorCode[];

/** A table of sentences, one for each code: what a front end says for each error. */
export type Wording = { readonly [C in ErrorCode]: (facts: Facts<C>) => string };

/** The sentence `wording` gives an error's code and facts. */
export function word(wording: Wording, e: ErrorData): string {
  return (wording[e.code] as (f: Facts) => string)(e.facts);
}

export class UserError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: C,
    readonly facts: Facts<C>,
  ) {
    super(word(wordForCli, { code, facts } as ErrorData));
  }

  /** The file or folder the error is about, if any. */
  get file(): string | undefined {
    const f = this.facts as { file?: string; folder?: string; run?: string };
    return f.file ?? f.folder ?? f.run;
  }

  /** The code and facts alone, to send to another process. */
  get data(): ErrorData {
    return { code: this.code, facts: this.facts } as ErrorData;
  }
}

/** Thrown when an AbortSignal stops a job; carries no stack worth showing. */
export class AbortError extends UserError<'cancelled'> {
  constructor(what = 'The job') {
    super('cancelled', { what });
  }
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError;

/** `e` with each path in its facts mapped by `f` (to show a path by the name the user gave it). */
export function withPaths(e: UserError, f: (p: string) => string): UserError {
  const facts = Object.fromEntries(Object.entries(e.facts).map(([k, v]) => [k, typeof v === 'string' ? f(v) : v]));
  return new UserError(e.code, facts as Facts);
}

/**
 * The first line of what an unexpected error says (its first non-blank line, trimmed, at most 200
 * characters; '' when it says nothing), to quote in a sentence. The one place an error's text is cut.
 */
export function firstLine(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  return (text.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 200);
}

const make = <C extends ErrorCode>(code: C, facts: Facts<C>) => new UserError(code, facts);

export const errors = {
  missingPath: (p: string) => make('missing-path', { file: p }),
  noImages: (dir: string) => make('no-images', { folder: dir }),
  emptyFile: (p: string) => make('empty-file', { file: p }),
  unreadableImage: (p: string, why: string) => make('unreadable-image', { file: p, why }),
  imageTooSmall: (p: string, w: number, h: number, min: number) =>
    make('image-too-small', { file: p, width: w, height: h, min }),
  outputTooLarge: (p: string, w: number, h: number) => make('image-too-large', { file: p, width: w, height: h }),
  unwritableOutput: (p: string, why: string) => make('unwritable-output', { file: p, why }),
  outputExists: (p: string) => make('output-exists', { file: p }),
  /** A path that should be a file to read but cannot be read as one. */
  unreadableFile: (p: string, why: string, what = 'file') => make('unreadable-file', { file: p, why, what }),
  wouldOverwriteInput: (p: string) => make('would-overwrite-input', { file: p }),
  diskFull: (p: string) => make('disk-full', { file: p }),
  badWeights: (p: string, why: string) => make('bad-weights', { file: p, why }),
  /** An ONNX file that cannot be run as a super-resolution model; `why` names what is wrong. */
  badOnnxModel: (p: string, why: string) => make('bad-model', { file: p, why }),
  /** An imported model whose tiles need more memory than one tile may use (`machine`: where the budget comes from). */
  modelNeedsMemory: (
    p: string,
    tile: string,
    need: number,
    budget: number,
    machine?: { share: number; total: number },
  ) =>
    make(
      'model-needs-memory',
      machine
        ? { file: p, tile, need, budget, share: machine.share, total: machine.total }
        : { file: p, tile, need, budget },
    ),
  /** Imported models run as they are: training would need their network in SR Studio's own form. */
  importedNotTrainable: (p: string) => make('imported-not-trainable', { file: p }),
  weightsMismatch: (p: string, why: string) => make('weights-mismatch', { file: p, why }),
  unknownBackend: (name: string, known: readonly string[]) =>
    make('unknown-backend', { value: name, known: known.join(', ') }),
  backendFailed: (name: string, why: string) => make('backend-failed', { backend: name, why }),
  /** A perceptual run asked of a backend other than ONNX Runtime, whose graphs alone hold the discriminator. */
  objectiveNeedsOnnx: (objective: string, backend: string) => make('objective-needs-onnx', { objective, backend }),
  /** A request or setting refused by a check that words it itself; `field`: the setting it is about. */
  badArgument: (said: string, field?: string) => make('bad-argument', field === undefined ? { said } : { said, field }),
  noModel: (scale: number) => make('no-model', { scale }),
  /** A model named by name that is neither a file nor among the installed models. */
  unknownModel: (name: string) => make('unknown-model', { value: name }),
  brokenInstall: (file: string) => make('broken-install', { file }),
  /** A model to start a run from (train --init) whose network differs from the run's; `why` is the whole sentence. */
  initMismatch: (model: string, why: string) => make('init-mismatch', { file: model, why }),
  /** A model asked to upscale by another factor than its own. */
  scaleMismatch: (model: string, modelScale: number, scale: number) =>
    make('scale-mismatch', { file: model, modelScale, scale }),
  /** An imported model whose fixed input leaves no room for the overlap asked for. */
  overlapTooLarge: (model: string, width: number, height: number, overlap: number, max: number) =>
    make('overlap-too-large', { file: model, width, height, overlap, max }),
  /** A new run asked to go where a run already is. */
  runExists: (dir: string) => make('run-exists', { folder: dir }),
  /** A new run asked to go into a folder that holds other files. */
  folderNotEmpty: (dir: string) => make('folder-not-empty', { folder: dir }),
  notARun: (dir: string, why: string) => make('not-a-run', { folder: dir, why }),
  /** A folder whose training was stopped before it saved its settings: there is nothing to continue. */
  runNotStarted: (dir: string) =>
    make('not-a-run', { folder: dir, why: 'it was stopped before its settings were saved', notStarted: true }),
  /** A run that a live process is training. */
  runBusy: (dir: string, pid: number) => make('run-busy', { folder: dir, pid }),
  /** A file name longer than the file system takes (most take 255 bytes). */
  nameTooLong: (p: string) => make('name-too-long', { file: p }),
  /** A path to read that is a pipe, a device or a socket: reading it could block or never end. */
  notARegularFile: (p: string, kind: string) => make('unreadable-image', { file: p, kind }),
  /** A training whose loss kept diverging; `kept`: the checkpoint kept as the model, if one was saved. */
  trainingDiverged: (steps: number, kept?: number) =>
    make('training-diverged', kept === undefined ? { steps } : { steps, kept }),
  /** One file of a batch failed in a way SR Studio did not foresee; the others go on. */
  fileFailed: (p: string, why: string) => make('file-failed', { file: p, why }),
  /** A continued run that does not record its training folder. */
  runRecordsNoData: (dir: string) => make('run-records-no-data', { run: dir }),
  /** A continued run whose recorded training or validation folder is not there any more. */
  runFolderGone: (dir: string, what: 'training' | 'validation', folder: string) =>
    make('run-folder-gone', { folder, run: dir, what }),
  /** A new run without a folder of training photos. */
  noTrainingFolder: () => make('no-training-folder', {}),
  /** A comparison that starts from trained models, given fewer than one per activation. */
  initPerActivation: (acts: readonly string[]) => make('init-per-activation', { acts: acts.join(',') }),
  /** Continuing a run to no more iterations than it has trained. */
  runTrained: (dir: string, done: number) => make('run-trained', { run: dir, done }),
  /** Continuing a run with other settings or data than it was started with. */
  runMismatch: (dir: string, what: string) => make('run-mismatch', { run: dir, what }),
  /** Every readable image in a training folder is smaller than one high-resolution patch. */
  allImagesTooSmall: (dir: string, min: number, largest: { width: number; height: number }) =>
    make('image-too-small', { folder: dir, min, width: largest.width, height: largest.height }),
  /** The viewer's refusals: an image too large for its cache, a full cache, too little disk, a failed write. */
  viewerTooLarge: (file: string, need: number, max: number) => make('viewer-too-large', { file, need, max }),
  viewerBusy: (file: string, held: number, max: number) => make('viewer-busy', { file, held, max }),
  viewerLowDisk: (file: string, folder: string, need: number, free: number, keep: number) =>
    make('viewer-low-disk', { file, folder, need, free, keep }),
  viewerWriteFailed: (file: string, folder: string, why: string) => make('viewer-write-failed', { file, folder, why }),
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
