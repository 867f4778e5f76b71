/**
 * `kubemr/app`: what an app module needs and nothing else — the App types, `registerApp` and
 * the default partitioner, and `UnrecoverableError` to fail a task without retries. It loads no gRPC, coordinator or executor code, so a worker that
 * imports your app starts as fast as ours.
 *
 * ```ts
 * import { registerApp } from 'kubemr/app';
 *
 * registerApp({
 *   map: (file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' })),
 *   reduce: (_key, values) => String(values.length),
 * });
 * ```
 */
export { registerApp, registeredApp, type App, type Json, type KeyValue, type MultiStepApp, type ReduceResult, type RegisterOptions, type RegisteredApp } from './app.js';
export { counter, params } from './context.js';
export { records, type Records } from './records.js';
export { defaultPartition, fnv1a32 } from './partition.js';
export { compareUtf8 } from '../shuffle/byte-order.js';
export { UnrecoverableError } from './unrecoverable.js';
