/** One intermediate pair emitted by `map`. */
export interface KeyValue {
  key: string;
  value: string;
}

/**
 * A MapReduce application. `map` and `reduce` are required; `combine` and `partition` are
 * optional. The same App runs sequentially, in local mode and on Kubernetes.
 */
export interface App {
  /** Called once per input file (or per split of a large file, cut at line boundaries). */
  map(filename: string, contents: string): Iterable<KeyValue> | Promise<Iterable<KeyValue>>;
  /** Called once per distinct key, keys in byte order; the result is written as `key value`. */
  reduce(key: string, values: string[]): string | Promise<string>;
  /** Map-side combiner: folds some of a key's values into one. Must be associative. */
  combine?(key: string, values: string[]): string;
  /** Which reduce partition a key goes to. @default FNV-1a 32 & 0x7fffffff % nReduce */
  partition?(key: string, nReduce: number): number;
}

/**
 * An app of several steps (mrjob's `steps()`): step k's output (its `key value` lines, in
 * `mr-out-*` files) is step k+1's input, and the last step's output is the job's. Each step is
 * an App of its own, with its own `map`, `reduce` and optional `combine`/`partition`.
 */
export interface MultiStepApp {
  steps: App[];
}

export interface RegisterOptions {
  /** The name workers report; @default the module's file name */
  name?: string;
}

export interface RegisteredApp {
  /** The app, or the first step of a multi-step app. */
  app: App;
  /** Every step, first to last: `[app]` for a single-step app. */
  steps: App[];
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
export function registerApp(app: App | MultiStepApp, options: RegisterOptions = {}): void {
  const steps = 'steps' in (app ?? {}) ? (app as MultiStepApp).steps : [app as App];
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20) {
    throw new TypeError('registerApp expects `steps` to list 1 to 20 apps');
  }
  steps.forEach((s, i) => {
    if (typeof s?.map !== 'function' || typeof s?.reduce !== 'function') {
      const which = steps.length > 1 ? ` (step ${i + 1})` : '';
      throw new TypeError(`registerApp expects an object with map(filename, contents) and reduce(key, values) functions${which}`);
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
