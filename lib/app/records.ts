import type { Json, KeyValue } from './app.js';

const RECORDS = Symbol.for('kubemr.records');

/** What `records(...)` returns: several (or no) output records from one `reduce` call. */
export interface Records {
  readonly [RECORDS]: true;
  readonly records: ReadonlyArray<KeyValue<Json>>;
}

/**
 * Several output records from one `reduce` call, with any keys, written in the order given
 * (Hadoop's reducer emitting more than once): `return records([{ key, value: 'a' }, { key: k2, value: 2 }])`.
 */
export function records(list: ReadonlyArray<KeyValue<Json>>): Records {
  return { [RECORDS]: true, records: list };
}

export function isRecords(x: unknown): x is Records {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[RECORDS] === true;
}
