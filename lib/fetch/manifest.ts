import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { InvalidManifestError } from './errors.js';
import { SEGMENT, SHA256, httpUrl, show, type FetchFileSpec } from './options.js';

/**
 * A manifest file names a dataset's files:
 *
 *   { "dataset": "books",                       // optional; else the manifest's base name
 *     "files": [ { "name": "a.txt",             // optional; else the URL's last segment
 *                  "url": "https://host/a.txt",
 *                  "sha256": "…64 hex…",        // optional
 *                  "size": 1234 } ] }           // optional
 *
 * A bare array of file entries is accepted too. Unknown keys are rejected, because a
 * misspelt `sha256` would otherwise silently turn verification off.
 */
export interface Manifest {
  dataset?: string;
  files: FetchFileSpec[];
}

const FILE_KEYS = new Set(['name', 'url', 'sha256', 'size']);
const TOP_KEYS = new Set(['dataset', 'files']);

/** The file name a URL implies: its last path segment, percent-decoded. */
export function nameFromUrl(url: URL): string | undefined {
  const last = url.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    return undefined;
  }
  return SEGMENT.test(name) ? name : undefined;
}

export function parseManifest(text: string, origin: string): Manifest {
  const fail = (field: string, what: string, value: unknown) =>
    new InvalidManifestError(`Expected \`${field}\` to be ${what}, got \`${show(value)}\` in manifest ${origin}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidManifestError(`manifest ${origin} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  let entries: unknown;
  let dataset: string | undefined;
  if (Array.isArray(doc)) {
    entries = doc;
  } else if (typeof doc === 'object' && doc !== null) {
    const obj = doc as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!TOP_KEYS.has(key)) throw fail(key, 'absent (known keys: dataset, files)', obj[key]);
    }
    if (obj.dataset !== undefined) {
      if (typeof obj.dataset !== 'string' || !SEGMENT.test(obj.dataset)) {
        throw fail('dataset', 'a name of letters, digits, `.`, `_` or `-`', obj.dataset);
      }
      dataset = obj.dataset;
    }
    entries = obj.files;
  } else {
    throw fail('manifest', 'an object with `files` or an array of files', doc);
  }
  if (!Array.isArray(entries) || entries.length === 0) throw fail('files', 'a non-empty array', entries);

  const files = entries.map((entry: unknown, i): FetchFileSpec => {
    const at = `files[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(at, 'an object', entry);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!FILE_KEYS.has(key)) throw fail(`${at}.${key}`, 'absent (known keys: name, url, sha256, size)', e[key]);
    }
    const url = httpUrl(e.url, (what) => fail(`${at}.url`, what, e.url));
    const name = e.name === undefined ? nameFromUrl(url) : e.name;
    if (typeof name !== 'string' || !SEGMENT.test(name)) {
      const value = e.name === undefined ? `${show(e.url)}` : e.name;
      const field = e.name === undefined ? `${at}.url` : `${at}.name`;
      throw fail(field, e.name === undefined ? 'a URL ending in a file name (or give `name`)' : 'a file name without `/` or a leading `.`', value);
    }
    if (e.sha256 !== undefined && (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256))) {
      throw fail(`${at}.sha256`, '64 hex digits', e.sha256);
    }
    if (e.size !== undefined && (typeof e.size !== 'number' || !Number.isInteger(e.size) || e.size < 0)) {
      throw fail(`${at}.size`, 'an integer >= 0', e.size);
    }
    return {
      name,
      url: url.href,
      ...(e.sha256 !== undefined ? { sha256: (e.sha256 as string).toLowerCase() } : {}),
      ...(e.size !== undefined ? { size: e.size as number } : {}),
    };
  });
  const seen = new Set<string>();
  files.forEach((f, i) => {
    if (seen.has(f.name)) throw fail(`files[${i}].name`, 'unique', f.name);
    seen.add(f.name);
  });
  return { ...(dataset !== undefined ? { dataset } : {}), files };
}

export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidManifestError(`cannot read manifest ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return parseManifest(text, file);
}

/** The dataset name a manifest file implies when it does not name one: `books.json` → `books`. */
export function datasetFromManifestPath(file: string): string {
  return path.basename(file).replace(/\.json$/i, '');
}
