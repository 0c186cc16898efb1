/**
 * What one browser-mode session may hold at once, so that no client (a runaway page, or anyone
 * with the token) can exhaust the machine: connections, the size of a message, messages a client
 * has not read, requests awaiting an answer, and jobs. Uploads have their own (uploads.ts).
 */
import { errors } from '../../ml/errors.ts';
import type { Handlers } from '../host/context.ts';
import type { JobBook } from '../host/job-book.ts';

/** Largest WebSocket message accepted (requests are small JSON; file bytes go over HTTP). */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** WebSocket connections at once (tabs or windows of the app). */
export const MAX_SOCKETS = 16;
/** Messages a client has not read yet, past which it is disconnected. */
export const MAX_UNREAD_BYTES = 64 * 1024 * 1024;
/** Requests on one connection still waiting for their answer. */
export const MAX_REQUESTS_PER_SOCKET = 64;
/** Jobs started and not yet done, over all connections. */
export const MAX_JOBS = 8;

const JOB_CHANNELS = ['job:upscale', 'job:train', 'job:compare', 'job:compare-models'] as const;

/**
 * The handlers with the job limit in front of the channels that start jobs. The host's JobBook
 * counts the jobs: each from its start until its job:done or job:error, which every job ends with.
 * A request holds its place from the moment it arrives (checked and taken in one step, before its
 * checks await the disk), so requests arriving together cannot all pass the count.
 */
export function limitJobs(handlers: Handlers, jobs: Pick<JobBook, 'size' | 'reserve'>, max = MAX_JOBS): Handlers {
  const limited: Record<string, (arg: unknown) => Promise<unknown>> = { ...handlers };
  for (const channel of JOB_CHANNELS) {
    const handler = handlers[channel] as (arg: unknown) => Promise<unknown>;
    limited[channel] = async (arg: unknown) => {
      if (jobs.size >= max)
        throw errors.badArgument(
          `${max} jobs are already running or waiting; wait for one to finish (or cancel one), then start this again.`,
        );
      const release = jobs.reserve();
      try {
        return await handler(arg);
      } finally {
        release();
      }
    };
  }
  return limited as unknown as Handlers;
}
