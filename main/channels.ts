/**
 * The one runtime registry of channel names, derived from the type maps in api.ts: the preload's
 * allow-list, the IPC registration in main and the browser-mode router all read these arrays.
 * Adding a channel to `Requests` or `Events` without listing it here is a compile error.
 */
import type { EventChannel, RequestChannel } from './api.ts';

export const REQUEST_CHANNELS = [
  'app:status',
  'backends:probe',
  'settings:set',
  'dialog:open-images',
  'dialog:open-folder',
  'files:expand',
  'image:thumbnail',
  'image:check',
  'image:load',
  'image:info',
  'image:tile',
  'models:list',
  'models:probe',
  'models:import',
  'models:adjust',
  'models:export',
  'models:download',
  'activations:curves',
  'features:maps',
  'runs:list',
  'runs:metrics',
  'results:list',
  'results:clear',
  'jobs:list',
  'job:upscale',
  'job:train',
  'job:compare',
  'job:compare-models',
  'job:pause',
  'job:resume',
  'job:cancel',
  'shell:reveal',
  'files:upload',
] as const satisfies readonly RequestChannel[];

export const EVENT_CHANNELS = [
  'job:progress',
  'job:state',
  'job:preview',
  'job:metrics',
  'job:file-done',
  'job:file-error',
  'job:done',
  'job:error',
  'app:open',
  'app:view',
] as const satisfies readonly EventChannel[];

/** The app's views in menu and navigation order (Ctrl/Cmd+1…6), with their labels; `ViewName` is derived from it. */
export const VIEWS = [
  { id: 'upscale', label: 'Upscale' },
  { id: 'train', label: 'Train' },
  { id: 'compare', label: 'Compare' },
  { id: 'activations', label: 'Activations' },
  { id: 'models', label: 'Models' },
  { id: 'settings', label: 'Settings' },
] as const satisfies ReadonlyArray<{ readonly id: string; readonly label: string }>;

// Exhaustiveness: each line fails to compile (naming the channel) if a channel is missing above.
type MissingRequest = Exclude<RequestChannel, (typeof REQUEST_CHANNELS)[number]>;
type MissingEvent = Exclude<EventChannel, (typeof EVENT_CHANNELS)[number]>;
export const CHANNELS_COMPLETE: [MissingRequest, MissingEvent] extends [never, never] ? true : never = true;

const requestSet: ReadonlySet<string> = new Set(REQUEST_CHANNELS);
const eventSet: ReadonlySet<string> = new Set(EVENT_CHANNELS);

export const isRequestChannel = (c: unknown): c is RequestChannel => typeof c === 'string' && requestSet.has(c);
export const isEventChannel = (c: unknown): c is EventChannel => typeof c === 'string' && eventSet.has(c);
