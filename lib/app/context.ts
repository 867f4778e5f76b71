/**
 * What user code can ask of the task it runs in: job parameters and counters. The worker sets
 * the context before each task and collects it after; user code reaches it through
 * `params()` and `counter()` from `kubemr/app`, wherever the task runs (sequential, local,
 * Kubernetes).
 *
 * The context lives on globalThis, as the registry does: the app may reach kubemr through
 * another copy of this module than the worker's.
 */
const SLOT = Symbol.for('kubemr.taskContext');

interface TaskScope {
  params: Readonly<Record<string, string>>;
  counters: Map<string, number>;
}
type Slot = { [SLOT]?: TaskScope | undefined };
const slot = globalThis as Slot;

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** A counter name users may choose: what Hadoop and Spark users expect to read back as is. */
export const COUNTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/**
 * The job's parameters (`--param key=value`, the MapReduceJob's `params`), the same in every
 * map and reduce call of the job. Empty outside a task.
 */
export function params(): Readonly<Record<string, string>> {
  return slot[SLOT]?.params ?? NO_PARAMS;
}

/**
 * Adds `amount` (default 1) to the named counter of the running task. Counters of the attempt
 * that wins each task are summed into the job's counters; a lost or superseded attempt's never
 * count. Outside a task it does nothing.
 */
export function counter(name: string, amount = 1): void {
  const scope = slot[SLOT];
  if (!scope) return;
  if (!COUNTER_NAME.test(name)) {
    throw new TypeError(`counter name must match ${COUNTER_NAME}, got ${JSON.stringify(name)}`);
  }
  if (!Number.isSafeInteger(amount)) throw new TypeError(`counter ${name}: amount must be an integer, got ${String(amount)}`);
  scope.counters.set(name, (scope.counters.get(name) ?? 0) + amount);
}

/** Opens a task's context (the worker and the sequential oracle call it; user code does not). */
export function beginTaskScope(taskParams: Record<string, string>): void {
  slot[SLOT] = { params: Object.freeze({ ...taskParams }), counters: new Map() };
}

/** Closes the task's context and returns what its counters counted. */
export function endTaskScope(): Record<string, number> {
  const scope = slot[SLOT];
  slot[SLOT] = undefined;
  return scope ? Object.fromEntries(scope.counters) : {};
}
