import { isImageName } from './choices.ts';

/** What was dropped: folder/file entries where the browser gives them, else plain files. */
export interface Dropped {
  readonly entries: FileSystemEntry[];
  readonly files: File[];
}

/** Must be called inside the drop event, while the DataTransfer is readable. */
export function droppedItems(dt: DataTransfer): Dropped {
  const entries: FileSystemEntry[] = [];
  const files: File[] = [];
  for (const item of dt.items) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) files.push(file);
    }
  }
  if (entries.length === 0 && files.length === 0) files.push(...dt.files);
  return { entries, files };
}

function readBatch(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

const isDir = (e: FileSystemEntry): e is FileSystemDirectoryEntry => e.isDirectory;
const isFile = (e: FileSystemEntry): e is FileSystemFileEntry => e.isFile;

/**
 * The image files among dropped files and folders (folders are walked recursively), and the names
 * of the files left out because they are not images.
 */
export async function imagesFrom(dropped: Dropped): Promise<{ files: File[]; skipped: string[] }> {
  const files: File[] = [];
  const skipped: string[] = [];
  const take = (file: File) => (isImageName(file.name) ? files.push(file) : skipped.push(file.name));
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (isFile(entry)) take(await fileOf(entry));
    else if (isDir(entry)) {
      const reader = entry.createReader();
      for (let batch = await readBatch(reader); batch.length; batch = await readBatch(reader)) {
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const e of dropped.entries) await walk(e);
  dropped.files.forEach(take);
  return { files, skipped };
}
