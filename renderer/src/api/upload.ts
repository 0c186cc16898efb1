import type { FileEntry, StudioApi, UploadReply } from './types.ts';

const lost = (name: string) =>
  new Error(
    `Could not send ${name} to SR Studio; check that it is still running and that the file is still there, then add it again.`,
  );

function isReply(v: unknown): v is UploadReply {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o['ok'] === true
    ? typeof o['file'] === 'object' && o['file'] !== null
    : o['ok'] === false && typeof o['error'] === 'string';
}

/**
 * Uploads a dropped file to the browser-mode server (uploads are only used there): first its name
 * and size, which the server checks against its limits before any byte is sent (a file that is
 * too large is refused in one sentence), then its bytes, streamed as the body of one PUT.
 */
export async function uploadFile(api: StudioApi, file: File): Promise<FileEntry> {
  const { url } = await api.request('files:upload', { name: file.name, bytes: file.size });
  let reply: unknown;
  try {
    const res = await fetch(url, {
      method: 'PUT',
      body: file,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    reply = await res.json();
  } catch {
    throw lost(file.name);
  }
  if (!isReply(reply)) throw lost(file.name);
  if (!reply.ok) throw new Error(reply.error);
  return reply.file;
}
