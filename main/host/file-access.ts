/**
 * Browser mode's file access policy. Whoever holds the session token may only reach the folders
 * the user chose: the upload inbox, the models folders, the runs folder, and the folders typed in
 * the UI as the output folder or as training, validation or run folders (each becomes a folder the
 * session may use once the request that named it succeeds, and for a job only while it does not
 * fail). Which fields of a channel's argument are paths, and how each is used, is listed per
 * channel against the argument's own type (RULES), so renaming a field there is a type error here.
 *
 * Each path is checked before its handler runs (folder-grants.ts); the handler then opens it once
 * and checks what it opened (opened.ts, through the RequestAccess it is handed), so a name swapped
 * for a symlink in between leads nowhere.
 *
 * The desktop app does not use this: there the user picks files with the system's own dialogs.
 */
import path from 'node:path';
import { errors } from '../../ml/errors.ts';
import type { RequestArg, RequestChannel, RequestResult } from '../api.ts';
import type { Access, Handlers, RequestAccess } from './context.ts';
import { FolderAccess, inside } from './folder-grants.ts';
import { realPath } from './opened.ts';
import { isObj } from './validate.ts';

export { FolderAccess };
export type { Access };

type Arg<C extends RequestChannel> = Exclude<RequestArg<C>, void | undefined>;

/** The fields of an object that can hold paths: text, or a list of text (or null). */
type TextField<A> = {
  [K in keyof A]-?: Exclude<A[K], null | undefined> extends string | readonly string[] ? K : never;
}[keyof A] &
  string;
/** The fields of an object that hold objects (each kind of a union on its own). */
type ObjectField<A> = {
  [K in keyof A & string]-?: Exclude<A[K], null | undefined> extends infer O
    ? O extends string | readonly unknown[]
      ? never
      : O extends object
        ? `${K}.${TextField<O>}`
        : never
    : never;
}[keyof A & string];
/** The fields of an argument that can hold paths: its own, or one level down as `field.inner` (`run.dir`). */
type PathField<A> = TextField<A> | ObjectField<A>;

/** What a channel's argument may touch. */
export interface Rule<A> {
  /** Files or folders the request reads. */
  readonly read?: readonly PathField<A>[];
  /** Files the request writes (or folders it writes into). */
  readonly write?: readonly PathField<A>[];
  /** Folders typed in the UI: refused when no one may choose them, granted once the request succeeds. */
  readonly choose?: { readonly [K in PathField<A>]?: Access };
  /** Results go next to `files` when `unless` is null, so then their folders must be writable. */
  readonly beside?: { readonly files: PathField<A>; readonly unless: PathField<A> };
}

/** Each channel's rule, its fields checked against the channel's argument type. */
export type ChannelRules = { readonly [C in RequestChannel]?: Rule<Arg<C>> };

const RULES = {
  'files:expand': { read: ['paths'] },
  'image:thumbnail': { read: ['path'] },
  'image:check': { read: ['path'] },
  'image:load': { read: ['path'] },
  'image:info': { read: ['path'] },
  'image:tile': { read: ['path'] },
  'shell:reveal': { read: ['path'] },
  'models:probe': { read: ['path'] },
  'models:import': { read: ['path'] },
  'models:export': { write: ['to'] },
  'features:maps': { read: ['image'] },
  'job:compare-models': { read: ['image'] },
  'job:upscale': { read: ['files'], choose: { outputDir: 'write' }, beside: { files: 'files', unless: 'outputDir' } },
  'job:train': { write: ['run.dir'], choose: { data: 'read', val: 'read', 'run.parent': 'write' } },
  'job:compare': { choose: { data: 'read', val: 'read' } },
  'settings:set': { choose: { outputDir: 'write' } },
} as const satisfies ChannelRules;

/**
 * Answers the policy trims: a run is listed only when it really lies in the folder it is listed in
 * (not reached through a symlink leading out), and its model only when it lies in the run.
 */
const ANSWERS: {
  readonly [C in RequestChannel]?: (result: RequestResult<C>, access: FolderAccess) => Promise<RequestResult<C>>;
} = {
  async 'runs:list'(runs, access) {
    const kept = await Promise.all(
      runs.map(async (r) => {
        const [dir, parent] = await Promise.all([realPath(r.dir), realPath(path.dirname(r.dir))]);
        if (dir === null || parent === null || dir === parent || !inside(dir, parent) || !access.admits(dir, 'read'))
          return null;
        const model = r.modelPath === null ? null : await realPath(r.modelPath);
        return { ...r, modelPath: model !== null && inside(model, dir) ? r.modelPath : null };
      }),
    );
    return kept.filter((r) => r !== null);
  },
};

/** How the app's controls name each path field: messages meant for people never show a field's code name. */
const LABELS: Readonly<Record<string, string>> = {
  outputDir: 'Output folder',
  data: 'Training folder',
  val: 'Validation folder',
  'run.parent': 'Run folder',
  'run.dir': 'Run folder',
  files: 'Image',
  paths: 'Image',
  path: 'File',
  image: 'Image',
  to: 'Export file',
};
const label = (key: string) => LABELS[key] ?? key;

/** Strings that look like absolute paths; anything else is left for the handler to refuse. */
const paths = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v]).filter(
    (p): p is string => typeof p === 'string' && path.isAbsolute(p) && !p.includes('\0'),
  );
/** The value of a field, `outer.inner` one level down. */
const field = (arg: unknown, key: string): unknown =>
  key.split('.').reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), arg);
const q = (p: string) => JSON.stringify(p);

/** Checks the paths a request names against its channel's rule; returns the folders it chooses. */
async function checkPaths(
  rule: Rule<Record<string, unknown>>,
  arg: unknown,
  access: FolderAccess,
): Promise<Array<{ p: string; a: Access }>> {
  for (const key of rule.read ?? []) for (const p of paths(field(arg, key))) await access.check(p, 'read', label(key));
  for (const key of rule.write ?? [])
    for (const p of paths(field(arg, key))) await access.check(p, 'write', label(key));
  const chosen = Object.entries(rule.choose ?? {}).flatMap(([key, a]) =>
    paths(field(arg, key)).map((p) => ({ key, p, a: a as Access })),
  );
  for (const c of chosen) await access.checkChoice(c.p, label(c.key), c.a);
  // The request's own field decides: the handler passes null on to the engine as it is.
  if (rule.beside && field(arg, rule.beside.unless) === null) {
    for (const dir of new Set(paths(field(arg, rule.beside.files)).map((p) => path.dirname(p)))) {
      await access.check(dir, 'write', rule.beside.files).catch(() => {
        throw errors.badArgument(
          `Results go next to each input when no output folder is set, and SR Studio may not write to ${q(dir)} in browser mode; choose an output folder in Settings.`,
        );
      });
    }
  }
  return chosen;
}

/**
 * The handlers with the policy in front: each path a request names is checked before its handler
 * runs, the handler gets the session's access to open what it uses, and the folders the request
 * chose are granted once it succeeds (a job's only until it fails).
 */
export function guardFileAccess(handlers: Handlers, access: FolderAccess): Handlers {
  const guarded: Record<string, (arg: unknown) => Promise<unknown>> = {};
  for (const channel of Object.keys(handlers) as RequestChannel[]) {
    const handler = handlers[channel] as (arg: unknown, access?: RequestAccess) => Promise<unknown>;
    const rule =
      (RULES as unknown as { readonly [C in RequestChannel]?: Rule<Record<string, unknown>> })[channel] ?? {};
    const answer = ANSWERS[channel] as ((r: unknown, a: FolderAccess) => Promise<unknown>) | undefined;
    guarded[channel] = async (arg: unknown) => {
      const chosen = await checkPaths(rule, arg, access);
      let failed: Promise<boolean> | undefined;
      const opened = new Map<string, string>();
      const request: RequestAccess = {
        admits: (real, a) => access.admits(real, a),
        refusal: (p, a, f) => access.refusal(p, a, f),
        until: (f) => void (failed = f),
        choosable: (real, a) => access.choosable(real, a),
        chose: (given, real) => void opened.set(path.resolve(given), real),
      };
      const result = await handler(arg, request);
      const owner = failed ? {} : undefined;
      // A chosen folder the handler opened is granted as it found it, not as its name leads now.
      for (const c of chosen) await access.allow(c.p, c.a, owner, opened.get(path.resolve(c.p)));
      if (owner) void failed!.then((f) => f && access.revoke(owner));
      return answer ? answer(result, access) : result;
    };
  }
  return guarded as unknown as Handlers;
}
