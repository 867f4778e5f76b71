import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ChecksumMismatchError,
  ConnectionFailedError,
  DatasetFetchError,
  FetchAbortedError,
  HttpStatusError,
  RemoteNotFoundError,
  SizeMismatchError,
  SourceNotFoundError,
  TruncatedDownloadError,
} from './errors.js';
import { backoffDelay, fetchDataset } from './fetch.js';
import type { FetchOptions, FetchProgressEvent } from './options.js';
import { planFetch } from './plan.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const ALPHA = 'alpha line one\nalpha line two\n';
const BETA = 'beta '.repeat(5000) + '\n';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1:0 with per-path handlers and a request count per path. */
class TestServer {
  readonly hits = new Map<string, number>();
  readonly routes = new Map<string, Handler>();
  private server = http.createServer((req, res) => {
    const p = req.url ?? '/';
    this.hits.set(p, (this.hits.get(p) ?? 0) + 1);
    const route = this.routes.get(p);
    if (route) route(req, res);
    else res.writeHead(404).end('no such file');
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }
  serve(p: string, body: string): void {
    this.routes.set(p, (_req, res) => res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body));
  }
  /** Declares the whole length, sends the first `sent` bytes, then kills the connection. */
  cut(p: string, body: string, sent: number): void {
    this.routes.set(p, (_req, res) => {
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.write(body.slice(0, sent), () => res.socket?.destroy());
    });
  }
  count(p: string): number {
    return this.hits.get(p) ?? 0;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: TestServer;
let tmp: string;
let data: string;
let delays: number[];
let events: FetchProgressEvent[];

beforeEach(async () => {
  server = new TestServer();
  await server.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kubemr-fetch-'));
  data = path.join(tmp, 'data');
  delays = [];
  events = [];
});

afterEach(async () => {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
});

const datasetDir = () => path.join(data, 'inputs', 'ds');

/** Options for a fast test: no real waiting, recorded delays and events, deterministic jitter. */
function opts(files: FetchOptions['files'], extra: Partial<FetchOptions> = {}): FetchOptions {
  return {
    data,
    dataset: 'ds',
    files,
    retries: 2,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0,
    onProgress: (e) => events.push(e),
    ...extra,
  };
}

async function listing(): Promise<string[]> {
  return (await readdir(datasetDir()).catch(() => [] as string[])).sort();
}

/** The failure left nothing behind: not the final name, and no temp file either. */
async function expectNoTrace(name: string): Promise<void> {
  const entries = await listing();
  expect(entries).not.toContain(name);
  expect(entries.filter((e) => e.startsWith('.tmp'))).toEqual([]);
}

async function failureOf(promise: Promise<unknown>): Promise<DatasetFetchError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetFetchError);
  return err as DatasetFetchError;
}

describe('fetchDataset over HTTP', () => {
  it('downloads every file, verified, into inputs/<dataset>/', async () => {
    server.serve('/a.txt', ALPHA);
    server.serve('/b.txt', BETA);
    const result = await fetchDataset(
      opts(
        [
          { name: 'a.txt', url: server.url('/a.txt'), sha256: sha(ALPHA), size: Buffer.byteLength(ALPHA) },
          { name: 'b.txt', url: server.url('/b.txt'), sha256: sha(BETA) },
        ],
        { concurrency: 2 },
      ),
    );
    expect(result.dir).toBe(datasetDir());
    expect(result.files.map((f) => [f.name, f.outcome, f.bytes])).toEqual([
      ['a.txt', 'downloaded', Buffer.byteLength(ALPHA)],
      ['b.txt', 'downloaded', Buffer.byteLength(BETA)],
    ]);
    expect(result.files[1]!.sha256).toBe(sha(BETA));
    expect(await readFile(path.join(datasetDir(), 'a.txt'), 'utf8')).toBe(ALPHA);
    expect(await readFile(path.join(datasetDir(), 'b.txt'), 'utf8')).toBe(BETA);
    expect(await listing()).toEqual(['a.txt', 'b.txt']);
    expect(events.filter((e) => e.type === 'file-done')).toHaveLength(2);
    expect(events.some((e) => e.type === 'bytes' && e.file === 'b.txt' && e.received === e.total)).toBe(true);
  });

  it('follows redirects', async () => {
    server.serve('/real.txt', ALPHA);
    server.routes.set('/moved.txt', (_req, res) => res.writeHead(301, { location: '/real.txt' }).end());
    const result = await fetchDataset(opts([{ name: 'a.txt', url: server.url('/moved.txt'), sha256: sha(ALPHA) }]));
    expect(result.files[0]!.outcome).toBe('downloaded');
    expect(server.count('/real.txt')).toBe(1);
  });

  it('skips files already complete, and fetches again one whose checksum or size is off', async () => {
    server.serve('/a.txt', ALPHA);
    server.serve('/b.txt', BETA);
    server.serve('/c.txt', 'gamma\n');
    const files = [
      { name: 'a.txt', url: server.url('/a.txt'), sha256: sha(ALPHA) },
      { name: 'b.txt', url: server.url('/b.txt'), size: Buffer.byteLength(BETA) },
      { name: 'c.txt', url: server.url('/c.txt') },
    ];
    await fetchDataset(opts(files));
    const second = await fetchDataset(opts(files));
    expect(second.files.map((f) => f.outcome)).toEqual(['skipped', 'skipped', 'skipped']);
    expect([server.count('/a.txt'), server.count('/b.txt'), server.count('/c.txt')]).toEqual([1, 1, 1]);

    // Same size, different bytes: only the sha256 can tell.
    await writeFile(path.join(datasetDir(), 'a.txt'), ALPHA.replace('one', 'two'));
    await writeFile(path.join(datasetDir(), 'b.txt'), 'short');
    const third = await fetchDataset(opts(files));
    expect(third.files.map((f) => f.outcome)).toEqual(['downloaded', 'downloaded', 'skipped']);
    expect(await readFile(path.join(datasetDir(), 'a.txt'), 'utf8')).toBe(ALPHA);
    expect(await readFile(path.join(datasetDir(), 'b.txt'), 'utf8')).toBe(BETA);

    const forced = await fetchDataset(opts(files, { force: true }));
    expect(forced.files.map((f) => f.outcome)).toEqual(['downloaded', 'downloaded', 'downloaded']);
  });

  it('reports a 404 naming the file and URL, does not retry it, and still fetches the others', async () => {
    server.serve('/a.txt', ALPHA);
    const err = await failureOf(
      fetchDataset(
        opts([
          { name: 'gone.txt', url: server.url('/gone.txt') },
          { name: 'a.txt', url: server.url('/a.txt') },
        ]),
      ),
    );
    expect(err.failures).toHaveLength(1);
    const [failure] = err.failures;
    expect(failure).toBeInstanceOf(RemoteNotFoundError);
    expect(err.message).toContain('gone.txt');
    expect(err.message).toContain(server.url('/gone.txt'));
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('1 of 2 files');
    expect(server.count('/gone.txt')).toBe(1);
    expect(delays).toEqual([]);
    await expectNoTrace('gone.txt');
    expect(await listing()).toEqual(['a.txt']);
  });

  it('reports a refused connection after retrying with growing delays', async () => {
    const closed = new TestServer();
    await closed.start();
    const url = closed.url('/a.txt');
    await closed.stop();
    const err = await failureOf(fetchDataset(opts([{ name: 'a.txt', url }], { retries: 3, retryDelayMs: 100 })));
    expect(err.failures[0]).toBeInstanceOf(ConnectionFailedError);
    expect(err.message).toMatch(/a\.txt: cannot download http:\/\/127\.0\.0\.1:\d+\/a\.txt: connection refused/);
    // random() = 0 gives the lower half of each exponential step: 50, 100, 200.
    expect(delays).toEqual([50, 100, 200]);
    expect(events.filter((e) => e.type === 'file-start')).toHaveLength(4);
    await expectNoTrace('a.txt');
  });

  it('rejects a checksum mismatch without retrying and leaves no file', async () => {
    server.serve('/a.txt', ALPHA);
    const wrong = sha('something else');
    const err = await failureOf(fetchDataset(opts([{ name: 'a.txt', url: server.url('/a.txt'), sha256: wrong }])));
    const failure = err.failures[0] as ChecksumMismatchError;
    expect(failure).toBeInstanceOf(ChecksumMismatchError);
    expect(failure.actual).toBe(sha(ALPHA));
    expect(err.message).toContain(`expected ${wrong}`);
    expect(err.message).toContain(server.url('/a.txt'));
    expect(server.count('/a.txt')).toBe(1);
    await expectNoTrace('a.txt');
  });

  it('rejects a size mismatch', async () => {
    server.serve('/a.txt', ALPHA);
    const err = await failureOf(fetchDataset(opts([{ name: 'a.txt', url: server.url('/a.txt'), size: 3 }])));
    expect(err.failures[0]).toBeInstanceOf(SizeMismatchError);
    expect(err.message).toContain(`is ${Buffer.byteLength(ALPHA)} bytes, expected 3`);
    await expectNoTrace('a.txt');
  });

  it('accepts a mismatching file with verify: false', async () => {
    server.serve('/a.txt', ALPHA);
    const result = await fetchDataset(
      opts([{ name: 'a.txt', url: server.url('/a.txt'), sha256: sha('other'), size: 3 }], { verify: false }),
    );
    expect(result.files[0]!.outcome).toBe('downloaded');
    expect(result.files[0]!.sha256).toBe(sha(ALPHA));
  });

  it('reports a transfer cut halfway, retried, with no half file left', async () => {
    const body = 'x'.repeat(1000);
    server.cut('/a.txt', body, 400);
    const err = await failureOf(fetchDataset(opts([{ name: 'a.txt', url: server.url('/a.txt') }], { retries: 2 })));
    const failure = err.failures[0] as TruncatedDownloadError;
    expect(failure).toBeInstanceOf(TruncatedDownloadError);
    expect(failure.expected).toBe(1000);
    expect(failure.received).toBeLessThan(1000);
    expect(err.message).toMatch(/a\.txt: download of http:\/\/127\.0\.0\.1:\d+\/a\.txt was cut off after \d+ of 1000 bytes/);
    expect(server.count('/a.txt')).toBe(3);
    await expectNoTrace('a.txt');
  });

  it('retries a cut transfer and a 503, then succeeds', async () => {
    let n = 0;
    server.routes.set('/a.txt', (_req, res) => {
      n++;
      if (n === 1) {
        res.writeHead(200, { 'content-length': Buffer.byteLength(BETA) });
        res.write(BETA.slice(0, 100), () => res.socket?.destroy());
      } else if (n === 2) {
        res.writeHead(503).end('busy');
      } else {
        res.writeHead(200, { 'content-length': Buffer.byteLength(BETA) }).end(BETA);
      }
    });
    const result = await fetchDataset(
      opts([{ name: 'a.txt', url: server.url('/a.txt'), sha256: sha(BETA) }], { retries: 3, retryDelayMs: 1000 }),
    );
    expect(result.files[0]!.outcome).toBe('downloaded');
    expect(server.count('/a.txt')).toBe(3);
    expect(delays).toEqual([500, 1000]);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { error: Error }).error.constructor.name)).toEqual([
      'TruncatedDownloadError',
      'HttpStatusError',
    ]);
    expect(await readFile(path.join(datasetDir(), 'a.txt'), 'utf8')).toBe(BETA);
  });

  it('does not retry a 403, but retries a 429 honouring Retry-After', async () => {
    server.routes.set('/forbidden.txt', (_req, res) => res.writeHead(403).end());
    let n = 0;
    server.routes.set('/busy.txt', (_req, res) => {
      if (++n === 1) res.writeHead(429, { 'retry-after': '7' }).end();
      else res.writeHead(200).end(ALPHA);
    });
    const err = await failureOf(
      fetchDataset(
        opts(
          [
            { name: 'f.txt', url: server.url('/forbidden.txt') },
            { name: 'b.txt', url: server.url('/busy.txt') },
          ],
          { concurrency: 1 },
        ),
      ),
    );
    expect(err.failures.map((f) => f.constructor.name)).toEqual(['HttpStatusError']);
    expect((err.failures[0] as HttpStatusError).status).toBe(403);
    expect(err.message).toContain('HTTP 403');
    expect(server.count('/forbidden.txt')).toBe(1);
    expect(server.count('/busy.txt')).toBe(2);
    expect(delays).toEqual([7000]);
    await expectNoTrace('f.txt');
    expect(await listing()).toEqual(['b.txt']);
  });

  it('treats a stalled response as cut after timeoutMs', async () => {
    server.routes.set('/stall.txt', (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('only this');
    });
    const err = await failureOf(
      fetchDataset(opts([{ name: 's.txt', url: server.url('/stall.txt') }], { retries: 0, timeoutMs: 200 })),
    );
    expect(err.failures[0]).toBeInstanceOf(TruncatedDownloadError);
    expect(err.message).toContain('cut off after 9 of 100 bytes');
    await expectNoTrace('s.txt');
  });

  it('stops on abort and removes the temp file', async () => {
    server.routes.set('/stall.txt', (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial');
    });
    const controller = new AbortController();
    const run = fetchDataset(
      opts([{ name: 's.txt', url: server.url('/stall.txt') }], {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'bytes') controller.abort();
        },
      }),
    );
    await expect(run).rejects.toBeInstanceOf(FetchAbortedError);
    await expectNoTrace('s.txt');
  });

  it('removes temp files left by a killed run, but not fresh ones', async () => {
    server.serve('/a.txt', ALPHA);
    await mkdir(datasetDir(), { recursive: true });
    const stale = path.join(datasetDir(), '.tmp-fetch-0123abcd-a.txt');
    const fresh = path.join(datasetDir(), '.tmp-fetch-4567cdef-a.txt');
    await writeFile(stale, 'half');
    await writeFile(fresh, 'half');
    const old = new Date(Date.now() - 3600_000);
    await utimes(stale, old, old);
    await fetchDataset(opts([{ name: 'a.txt', url: server.url('/a.txt') }]));
    expect(await listing()).toEqual(['.tmp-fetch-4567cdef-a.txt', 'a.txt']);
  });
});

describe('fetchDataset from a manifest file', () => {
  it('fetches the files a manifest names, into the dataset it names, verifying its sums', async () => {
    server.serve('/x/a.txt', ALPHA);
    server.serve('/x/b.txt', BETA);
    const manifest = path.join(tmp, 'books.json');
    await writeFile(
      manifest,
      JSON.stringify({
        dataset: 'ds',
        files: [
          { url: server.url('/x/a.txt'), sha256: sha(ALPHA) },
          { name: 'beta.txt', url: server.url('/x/b.txt'), sha256: sha(BETA), size: Buffer.byteLength(BETA) },
        ],
      }),
    );
    const plan = await planFetch({ manifest });
    const result = await fetchDataset(opts(plan.files, { dataset: plan.dataset }));
    expect(result.files.map((f) => [f.name, f.outcome])).toEqual([
      ['a.txt', 'downloaded'],
      ['beta.txt', 'downloaded'],
    ]);
    expect(await readFile(path.join(datasetDir(), 'beta.txt'), 'utf8')).toBe(BETA);
  });

  it('fails on a manifest sum that does not match the server', async () => {
    server.serve('/x/a.txt', ALPHA);
    const manifest = path.join(tmp, 'ds.json');
    await writeFile(manifest, JSON.stringify([{ url: server.url('/x/a.txt'), sha256: sha(BETA) }]));
    const plan = await planFetch({ manifest });
    const err = await failureOf(fetchDataset(opts(plan.files, { dataset: plan.dataset })));
    expect(err.failures[0]).toBeInstanceOf(ChecksumMismatchError);
    await expectNoTrace('a.txt');
  });
});

describe('fetchDataset with from', () => {
  let src: string;
  beforeEach(async () => {
    src = path.join(tmp, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'a.txt'), ALPHA);
    await writeFile(path.join(src, 'b.txt'), BETA);
  });

  it('copies local files instead of downloading, verified, and skips them the second time', async () => {
    const files = [
      { name: 'a.txt', url: server.url('/a.txt'), sha256: sha(ALPHA) },
      { name: 'b.txt', sha256: sha(BETA) },
    ];
    const result = await fetchDataset(opts(files, { from: src }));
    expect(result.files.map((f) => f.outcome)).toEqual(['copied', 'copied']);
    expect(server.count('/a.txt')).toBe(0);
    expect(await readFile(path.join(datasetDir(), 'b.txt'), 'utf8')).toBe(BETA);
    const again = await fetchDataset(opts(files, { from: src }));
    expect(again.files.map((f) => f.outcome)).toEqual(['skipped', 'skipped']);
  });

  it('copies a whole directory when planned from it alone', async () => {
    await writeFile(path.join(src, '.hidden'), 'no');
    const plan = await planFetch({ from: src });
    expect(plan).toEqual({ dataset: 'src', files: [{ name: 'a.txt' }, { name: 'b.txt' }] });
    const result = await fetchDataset({ ...opts(plan.files, { from: src }), dataset: plan.dataset });
    expect(result.dir).toBe(path.join(data, 'inputs', 'src'));
    expect((await readdir(result.dir)).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('reports a missing source file and a corrupt one, leaving neither behind', async () => {
    const err = await failureOf(
      fetchDataset(
        opts(
          [
            { name: 'missing.txt' },
            { name: 'a.txt', sha256: sha('not alpha') },
            { name: 'b.txt', sha256: sha(BETA) },
          ],
          { from: src },
        ),
      ),
    );
    expect(err.failures.map((f) => f.constructor.name)).toEqual(['SourceNotFoundError', 'ChecksumMismatchError']);
    expect(err.failures[0]).toBeInstanceOf(SourceNotFoundError);
    expect(err.message).toContain(`missing.txt: ${path.join(src, 'missing.txt')} does not exist`);
    expect(err.message).toContain(`sha256 of ${path.join(src, 'a.txt')} is ${sha(ALPHA)}`);
    await expectNoTrace('missing.txt');
    await expectNoTrace('a.txt');
    expect(await listing()).toEqual(['b.txt']);
  });

  it('refuses a from that is not a directory', async () => {
    await expect(fetchDataset(opts([{ name: 'a.txt' }], { from: path.join(src, 'a.txt') }))).rejects.toThrow(
      `Expected \`from\` to be a directory, got \`${path.join(src, 'a.txt')}\``,
    );
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt, caps at maxRetryDelayMs, and jitters within the upper half', () => {
    const base = { retryDelayMs: 100, maxRetryDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay({ ...base, random: () => 0 }, n))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect(backoffDelay({ ...base, random: () => 0.999999 }, 3)).toBe(400);
  });
});
