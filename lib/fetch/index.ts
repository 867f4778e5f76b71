/**
 * Dataset fetching: downloads (or copies with `from`) a dataset's files into
 * `<data>/inputs/<dataset>/`, verified, retried, and never half-written.
 *
 *   const plan = await planFetch({ targets: ['gutenberg'] });
 *   const result = await fetchDataset({ data: '/data', ...plan, logger });
 */
export { fetchDataset, backoffDelay, type FetchResult, type FetchedFile } from './fetch.js';
export { planFetch, type FetchRequest, type FetchPlan } from './plan.js';
export { parseManifest, readManifest, type Manifest } from './manifest.js';
export { BUILTIN_DATASETS, builtinDataset } from './builtin.js';
export { ProgressRenderer, formatBytes, type ProgressRendererOptions } from './progress.js';
export {
  compileFetchOptions,
  type CompiledFetchOptions,
  type FetchFileSpec,
  type FetchOptions,
  type FetchOutcome,
  type FetchProgressEvent,
} from './options.js';
export {
  ChecksumMismatchError,
  ConnectionFailedError,
  DatasetFetchError,
  FetchAbortedError,
  FileFetchError,
  HttpStatusError,
  InvalidFetchOptionsError,
  InvalidManifestError,
  LocalIoError,
  RemoteNotFoundError,
  SizeMismatchError,
  SourceNotFoundError,
  TruncatedDownloadError,
} from './errors.js';
