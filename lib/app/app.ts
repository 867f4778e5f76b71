import type { Records } from './records.js';

/** Any JSON-serializable value: what `map` may emit as a value besides a string. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One pair emitted by `map` (or a record emitted by `reduce`). */
export interface KeyValue<V = string> {
  key: string;
  value: V;
}

/**
 * What `reduce` may return for a key:
 * - a string, or any other JSON value: one record, the key and that value;
 * - `undefined`/`null` (or nothing): no record for the key;
 * - `records([...])` (from `kubemr/app`), or a generator of `{ key, value }`: those records, any keys.
 */
export type ReduceResult = Json | Records | Iterable<KeyValue<Json>> | undefined | void;

/**
 * A MapReduce application. `map` is required; without `reduce` the job is map-only (each map
 * task's pairs are its output, in emit order). `combine` and `partition` are optional. The same
 * App runs sequentially, in local mode and on Kubernetes.
 *
 * Values are strings by default (`App`); an `App<number>` (or any JSON type) emits and reduces
 * those values: they cross the shuffle as JSON and reach `combine`/`reduce` parsed.
 */
export interface App<V extends Json = string> {
  /** Called once per input file (or per split of a large file, cut at line boundaries). */
  map(filename: string, contents: string): Iterable<KeyValue<V>> | Promise<Iterable<KeyValue<V>>>;
  /** Called once per distinct key, keys in byte order, values in emit order within a map task. */
  reduce?(key: string, values: V[]): ReduceResult | Promise<ReduceResult>;
  /** Map-side combiner: folds some of a key's values into one. Must be associative. */
  combine?(key: string, values: V[]): V;
  /** Which reduce partition a key goes to. @default FNV-1a 32 & 0x7fffffff % nReduce */
  partition?(key: string, nReduce: number): number;
}

/**
 * An app of several steps (mrjob's `steps()`): step k's output (its `key value` lines, in
 * `mr-out-*` files) is step k+1's input, and the last step's output is the job's. Each step is
 * an App of its own, with its own `map`, `reduce` and optional `combine`/`partition`.
 */
export interface MultiStepApp {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each step has its own value type
  steps: Array<App<any>>;
}

export interface RegisterOptions {
  /** The name workers report; @default the module's file name */
  name?: string;
}

export interface RegisteredApp {
  /** The app, or the first step of a multi-step app. */
  app: App<Json>;
  /** Every step, first to last: `[app]` for a single-step app. */
  steps: Array<App<Json>>;
  name: string | undefined;
}

// The registry lives on globalThis: an app module may reach kubemr through another copy of
// this file (the package by name, a relative path, a TypeScript loader's namespace), and every
// copy must see the same registration.
const SLOT = Symbol.for('kubemr.registeredApp');
type Slot = { [SLOT]?: RegisteredApp | undefined };
const slot = globalThis as Slot;

/**
 * Registers the App of this module. Call it once, at top level, in the app's entry module. It
 * only registers: whoever imported the module (`kubemr run`, `kubemr worker`, or your own
 * entry calling `startWorkerFromEnv` from `kubemr/worker`) picks the App up from here.
 */
export function registerApp<V extends Json = string>(app: App<V> | MultiStepApp, options: RegisterOptions = {}): void {
  const steps = ('steps' in (app ?? {}) ? (app as MultiStepApp).steps : [app]) as Array<App<Json>>;
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20) {
    throw new TypeError('registerApp expects `steps` to list 1 to 20 apps');
  }
  steps.forEach((s, i) => {
    const which = steps.length > 1 ? ` (step ${i + 1})` : '';
    if (typeof s?.map !== 'function') throw new TypeError(`registerApp expects an object with a map(filename, contents) function${which}`);
    if (steps.length > 1 && typeof s.reduce !== 'function') {
      throw new TypeError(`registerApp expects every step of a multi-step app to have reduce(key, values)${which}; only a single-step app can be map-only`);
    }
    for (const f of ['reduce', 'combine', 'partition'] as const) {
      if (s[f] !== undefined && typeof s[f] !== 'function') throw new TypeError(`registerApp expects \`${f}\` to be a function when given${which}`);
    }
  });
  slot[SLOT] = { app: steps[0]!, steps, name: options.name };
}

/** The app registered so far in this process (undefined when none). */
export function registeredApp(): RegisteredApp | undefined {
  return slot[SLOT];
}

/** Forget the registered app; the loader uses it before importing a module. */
export function clearRegisteredApp(): void {
  slot[SLOT] = undefined;
}
