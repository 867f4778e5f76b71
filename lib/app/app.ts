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

export interface RegisterOptions {
  /** The name workers report; @default the module's file name */
  name?: string;
}

export interface RegisteredApp {
  app: App;
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
export function registerApp(app: App, options: RegisterOptions = {}): void {
  if (typeof app?.map !== 'function' || typeof app?.reduce !== 'function') {
    throw new TypeError('registerApp expects an object with map(filename, contents) and reduce(key, values) functions');
  }
  slot[SLOT] = { app, name: options.name };
}

/** The app registered so far in this process (undefined when none). */
export function registeredApp(): RegisteredApp | undefined {
  return slot[SLOT];
}

/** Forget the registered app; the loader uses it before importing a module. */
export function clearRegisteredApp(): void {
  slot[SLOT] = undefined;
}
