/**
 * The engine's errors in the app's words. The engine's messages are written for the command line
 * (they name flags such as --overwrite and -o); here each code whose advice differs is worded for
 * the app's controls instead, and every path the user knows by another name (an uploaded file: by
 * the name it was dropped with) is shown by that name.
 */
import type { JobError } from '../engine/protocol.ts';

const q = (p: string) => JSON.stringify(p);

/** Shows a path as the user knows it (the default: as it is). */
export type DisplayName = (path: string) => string;

export function wordForApp(e: JobError, name: DisplayName = (p) => p): string {
  const f = e.facts ?? {};
  const file = e.file !== undefined ? name(e.file) : '';
  switch (e.code) {
    case 'output-exists':
      return `${q(file)} already exists; tick "Replace existing outputs" to replace it, or choose another output folder.`;
    case 'unwritable-output':
      return `Cannot write to ${q(file)} (${f.why}); choose another output folder.`;
    case 'backend-failed':
      return `The ${f.backend} backend could not start (${f.why}); choose another backend in Settings.`;
    case 'no-model':
      return `No x${f.scale} model was found; train one in the Train view, or add one in the Models view.`;
    case 'run-exists':
      return `${q(file)} already holds a training run; continue it from the list of runs, or choose another folder.`;
    case 'folder-not-empty':
      return `${q(file)} already holds other files, which a training run would mix with its own; choose an empty or new folder.`;
    case 'run-trained':
      return `The run in ${q(file)} has trained ${f.done} iterations already; to train it further, ask for more than ${f.done}.`;
    case 'run-mismatch':
      return `The run in ${q(file)} was trained with ${f.what}; continue it with the same settings and folders, or start a new run.`;
    default:
      // The same sentence, with each path the user gave another name shown by that name.
      return e.file !== undefined && file !== e.file ? e.message.split(q(e.file)).join(q(file)) : e.message;
  }
}
