import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_DATASETS } from './builtin.js';
import { InvalidFetchOptionsError, InvalidManifestError } from './errors.js';
import { fetchDataset } from './fetch.js';
import { parseManifest } from './manifest.js';
import { compileFetchOptions, type FetchOptions } from './options.js';
import { planFetch } from './plan.js';

const SUM = 'a'.repeat(64);
const base = (): FetchOptions => ({ data: '/tmp/d', dataset: 'ds', files: [{ name: 'a.txt', url: 'http://h/a.txt' }] });

describe('compileFetchOptions', () => {
  it('fills documented defaults', () => {
    const c = compileFetchOptions(base());
    expect(c).toMatchObject({
      dir: path.join('/tmp/d', 'inputs', 'ds'),
      concurrency: 4,
      retries: 4,
      retryDelayMs: 500,
      maxRetryDelayMs: 30_000,
      timeoutMs: 30_000,
      maxRedirects: 5,
      verify: true,
      force: false,
    });
    expect(c.files[0]!.url?.href).toBe('http://h/a.txt');
  });

  it('lowercases sha256 so comparisons with a digest hold', () => {
    const c = compileFetchOptions({ ...base(), files: [{ name: 'a', url: 'http://h/a', sha256: 'AB'.repeat(32) }] });
    expect(c.files[0]!.sha256).toBe('ab'.repeat(32));
  });

  it.each<[string, Partial<FetchOptions>, string]>([
    ['concurrency 0', { concurrency: 0 }, 'Expected `concurrency` to be an integer >= 1, got `0`'],
    ['concurrency 1.5', { concurrency: 1.5 }, 'Expected `concurrency` to be an integer >= 1, got `1.5`'],
    ['retries -1', { retries: -1 }, 'Expected `retries` to be an integer >= 0, got `-1`'],
    ['timeoutMs "x"', { timeoutMs: 'x' as unknown as number }, 'Expected `timeoutMs` to be an integer >= 1, got `x`'],
    [
      'maxRetryDelayMs below retryDelayMs',
      { retryDelayMs: 1000, maxRetryDelayMs: 10 },
      'Expected `maxRetryDelayMs` to be an integer >= retryDelayMs (1000), got `10`',
    ],
    ['empty data', { data: '' }, 'Expected `data` to be a directory path, got ``'],
    ['dataset with a slash', { dataset: '../etc' }, 'Expected `dataset` to be a name of letters, digits, `.`, `_` or `-`, got `../etc`'],
    ['hidden dataset', { dataset: '.tmp' }, 'got `.tmp`'],
    ['no files', { files: [] }, 'Expected `files` to be a non-empty list, got `[]`'],
    ['file name with a slash', { files: [{ name: 'a/b', url: 'http://h/a' }] }, 'Expected `files[0].name` to be a file name without `/` or a leading `.`, got `a/b`'],
    ['temp-like file name', { files: [{ name: '.tmp-x', url: 'http://h/a' }] }, 'got `.tmp-x`'],
    [
      'duplicate names',
      { files: [{ name: 'a', url: 'http://h/a' }, { name: 'a', url: 'http://h/b' }] },
      'Expected `files[1].name` to be unique, got `a`',
    ],
    ['ftp url', { files: [{ name: 'a', url: 'ftp://h/a' }] }, 'Expected `files[0].url` to be an http(s) URL, got `ftp://h/a`'],
    ['missing url', { files: [{ name: 'a' }] }, 'Expected `files[0].url` to be an http(s) URL, got `undefined`'],
    ['short sha256', { files: [{ name: 'a', url: 'http://h/a', sha256: 'abc' }] }, 'Expected `files[0].sha256` to be 64 hex digits, got `abc`'],
    ['negative size', { files: [{ name: 'a', url: 'http://h/a', size: -1 }] }, 'Expected `files[0].size` to be an integer >= 0, got `-1`'],
    ['verify "no"', { verify: 'no' as unknown as boolean }, 'Expected `verify` to be a boolean, got `no`'],
  ])('rejects %s', (_label, patch, message) => {
    const run = () => compileFetchOptions({ ...base(), ...patch });
    expect(run).toThrow(InvalidFetchOptionsError);
    expect(run).toThrow(message);
  });

  it('does not need URLs when copying from a directory', () => {
    const c = compileFetchOptions({ ...base(), files: [{ name: 'a.txt' }], from: 'src' });
    expect(c.files[0]!.url).toBeUndefined();
    expect(c.from).toBe(path.resolve('src'));
  });

  it('fetchDataset rejects bad options before touching the disk', async () => {
    await expect(fetchDataset({ ...base(), data: '/nonexistent-kubemr/x', concurrency: 0 })).rejects.toThrow(
      'Expected `concurrency` to be an integer >= 1, got `0`',
    );
  });
});

describe('built-in gutenberg', () => {
  it('lists the eight lab books with gutenberg.org URLs, sizes and checksums', () => {
    const files = BUILTIN_DATASETS.gutenberg!;
    expect(files.map((f) => f.name)).toEqual([
      'pg-being_ernest.txt',
      'pg-dorian_gray.txt',
      'pg-frankenstein.txt',
      'pg-grimm.txt',
      'pg-huckleberry_finn.txt',
      'pg-metamorphosis.txt',
      'pg-sherlock_holmes.txt',
      'pg-tom_sawyer.txt',
    ]);
    for (const f of files) {
      expect(f.url).toMatch(/^https:\/\/www\.gutenberg\.org\/cache\/epub\/(\d+)\/pg\1\.txt$/);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(f.size).toBeGreaterThan(100_000);
    }
    expect(() => compileFetchOptions({ data: 'd', dataset: 'gutenberg', files })).not.toThrow();
  });
});

describe('parseManifest', () => {
  it('reads an object with dataset and files, defaulting names to the URL', () => {
    const m = parseManifest(
      JSON.stringify({
        dataset: 'books',
        files: [{ url: 'https://h/x/a%2Db.txt', sha256: SUM.toUpperCase(), size: 3 }, { name: 'c.txt', url: 'http://h/c' }],
      }),
      'm.json',
    );
    expect(m).toEqual({
      dataset: 'books',
      files: [
        { name: 'a-b.txt', url: 'https://h/x/a%2Db.txt', sha256: SUM, size: 3 },
        { name: 'c.txt', url: 'http://h/c' },
      ],
    });
  });

  it('reads a bare array', () => {
    expect(parseManifest('[{"url":"http://h/a.txt"}]', 'm.json')).toEqual({ files: [{ name: 'a.txt', url: 'http://h/a.txt' }] });
  });

  it.each([
    ['{', /^manifest m\.json is not valid JSON: /],
    ['{"files": []}', 'Expected `files` to be a non-empty array, got `[]` in manifest m.json'],
    ['{"files": [{"url": "http://h/a", "sha": "x"}]}', 'Expected `files[0].sha` to be absent (known keys: name, url, sha256, size), got `x`'],
    ['{"dataset": "x", "file": []}', 'Expected `file` to be absent (known keys: dataset, files), got `[]`'],
    ['{"files": [{"url": "file:///etc/passwd"}]}', 'Expected `files[0].url` to be an http(s) URL, got `file:///etc/passwd`'],
    ['{"files": [{"url": "http://h/"}]}', 'Expected `files[0].url` to be a URL ending in a file name (or give `name`), got `http://h/`'],
    ['{"files": [{"url": "http://h/a", "sha256": 5}]}', 'Expected `files[0].sha256` to be 64 hex digits, got `5`'],
    ['{"files": [{"url": "http://h/a"}, {"url": "http://g/a"}]}', 'Expected `files[1].name` to be unique, got `a`'],
    ['{"dataset": "a/b", "files": [{"url": "http://h/a"}]}', 'Expected `dataset` to be a name of letters'],
  ])('rejects %s', (text, message) => {
    const run = () => parseManifest(text, 'm.json');
    expect(run).toThrow(InvalidManifestError);
    expect(run).toThrow(message);
  });
});

describe('planFetch', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kubemr-plan-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('resolves a built-in dataset', async () => {
    const plan = await planFetch({ targets: ['gutenberg'] });
    expect(plan.dataset).toBe('gutenberg');
    expect(plan.files).toHaveLength(8);
  });

  it('resolves URLs under the given dataset', async () => {
    expect(await planFetch({ targets: ['http://h/a.txt', 'https://g/b.txt'], dataset: 'mine' })).toEqual({
      dataset: 'mine',
      files: [
        { name: 'a.txt', url: 'http://h/a.txt' },
        { name: 'b.txt', url: 'https://g/b.txt' },
      ],
    });
  });

  it('names the dataset after a manifest file that does not name one', async () => {
    const file = path.join(tmp, 'books.json');
    await writeFile(file, '[{"url":"http://h/a.txt"}]');
    expect((await planFetch({ manifest: file })).dataset).toBe('books');
    expect((await planFetch({ manifest: file, dataset: 'other' })).dataset).toBe('other');
  });

  it.each<[string, Parameters<typeof planFetch>[0], string]>([
    ['an unknown name', { targets: ['shakespeare'] }, 'Expected a built-in dataset (gutenberg) or an http(s) URL, got `shakespeare`'],
    ['URLs without a dataset', { targets: ['http://h/a.txt'] }, 'Expected `dataset` to be set when fetching URLs'],
    ['a dataset and URLs', { targets: ['gutenberg', 'http://h/a.txt'] }, 'Expected one source of files'],
    ['nothing', {}, 'Nothing to fetch'],
    ['a URL without a file name', { targets: ['http://h/'], dataset: 'x' }, 'Expected `url` to be a URL ending in a file name, got `http://h/`'],
    ['a bad dataset name', { targets: ['gutenberg'], dataset: 'a b' }, 'Expected `dataset` to be a name of letters, digits'],
  ])('rejects %s', async (_label, request, message) => {
    const run = planFetch(request);
    await expect(run).rejects.toBeInstanceOf(InvalidFetchOptionsError);
    await expect(planFetch(request)).rejects.toThrow(message);
  });

  it('reports a missing manifest file by path', async () => {
    const file = path.join(tmp, 'nope.json');
    await expect(planFetch({ manifest: file })).rejects.toThrow(`cannot read manifest ${file}: ENOENT`);
  });

  it('reports a missing from directory', async () => {
    const dir = path.join(tmp, 'nope');
    await expect(planFetch({ from: dir })).rejects.toThrow(`Expected \`from\` to be a readable directory, got \`${dir}\``);
  });
});
