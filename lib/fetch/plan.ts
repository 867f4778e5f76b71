import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { BUILTIN_DATASETS, builtinDataset } from './builtin.js';
import { InvalidFetchOptionsError } from './errors.js';
import { datasetFromManifestPath, nameFromUrl, readManifest } from './manifest.js';
import { SEGMENT, expected, httpUrl, type FetchFileSpec } from './options.js';

/** What a user asked for on the command line, before it becomes a list of files. */
export interface FetchRequest {
  /** Built-in dataset names (`gutenberg`) or http(s) URLs. @default [] */
  targets?: readonly string[];
  /** A manifest file (see manifest.ts). @default undefined */
  manifest?: string;
  /**
   * A local directory to copy from. With a dataset or manifest, their files are looked up in
   * it by name (and verified); alone, every regular file in it is copied. @default undefined
   */
  from?: string;
  /** The name under `inputs/`. @default the built-in name, the manifest's, or the `from` directory's */
  dataset?: string;
}

export interface FetchPlan {
  dataset: string;
  files: FetchFileSpec[];
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Resolves a request into a dataset name and its files. Throws InvalidFetchOptionsError / InvalidManifestError. */
export async function planFetch(request: FetchRequest): Promise<FetchPlan> {
  const targets = request.targets ?? [];
  const builtins: string[] = [];
  const urls: string[] = [];
  for (const t of targets) {
    if (isUrl(t)) urls.push(t);
    else if (builtinDataset(t)) builtins.push(t);
    else {
      const known = Object.keys(BUILTIN_DATASETS).join(', ');
      throw new InvalidFetchOptionsError(
        `Expected a built-in dataset (${known}) or an http(s) URL, got \`${t}\``,
      );
    }
  }
  const sources = [builtins.length > 0, urls.length > 0, request.manifest !== undefined].filter(Boolean).length;
  if (builtins.length > 1 || sources > 1) {
    throw new InvalidFetchOptionsError(
      `Expected one source of files (a built-in dataset, URLs, or --manifest), got \`${[...targets, ...(request.manifest ? [`--manifest ${request.manifest}`] : [])].join(' ')}\``,
    );
  }

  let files: FetchFileSpec[];
  let implied: string | undefined;
  const [builtin] = builtins;
  if (builtin !== undefined) {
    files = [...builtinDataset(builtin)!];
    implied = builtin;
  } else if (request.manifest !== undefined) {
    const manifest = await readManifest(request.manifest);
    files = manifest.files;
    implied = manifest.dataset ?? datasetFromManifestPath(request.manifest);
  } else if (urls.length > 0) {
    files = urls.map((u) => {
      const url = httpUrl(u, (what) => expected('url', what, u));
      const name = nameFromUrl(url);
      if (name === undefined) throw expected('url', 'a URL ending in a file name', u);
      return { name, url: url.href };
    });
    if (request.dataset === undefined) {
      throw new InvalidFetchOptionsError('Expected `dataset` to be set when fetching URLs (--dataset NAME), got `undefined`');
    }
  } else if (request.from !== undefined) {
    files = await listDirectory(request.from);
    implied = path.basename(path.resolve(request.from));
  } else {
    const known = Object.keys(BUILTIN_DATASETS).join(', ');
    throw new InvalidFetchOptionsError(
      `Nothing to fetch: name a built-in dataset (${known}), URLs, --manifest FILE or --from DIR`,
    );
  }
  const dataset = request.dataset ?? implied;
  if (dataset === undefined || !SEGMENT.test(dataset)) {
    throw expected('dataset', 'a name of letters, digits, `.`, `_` or `-`', dataset);
  }
  return { dataset, files };
}

/** Every regular, non-hidden file directly in `dir`, in name order so runs are reproducible. */
async function listDirectory(dir: string): Promise<FetchFileSpec[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new InvalidFetchOptionsError(`Expected \`from\` to be a readable directory, got \`${dir}\`: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const files = entries
    .filter((e) => e.isFile() && SEGMENT.test(e.name))
    .map((e) => ({ name: e.name }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (files.length === 0) throw expected('from', 'a directory with at least one file', dir);
  return files;
}
