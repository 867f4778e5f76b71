import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../errors.js';
import {
  ConnectionFailedError,
  FetchAbortedError,
  HttpStatusError,
  LocalIoError,
  RemoteNotFoundError,
  TruncatedDownloadError,
} from './errors.js';

export interface DownloadRequest {
  /** The dataset file name, for error messages. */
  file: string;
  url: URL;
  /** Where the bytes go; the caller renames or removes it. */
  dest: string;
  timeoutMs: number;
  maxRedirects: number;
  signal?: AbortSignal;
  onBytes?: (received: number, total: number | undefined) => void;
}

export interface Transferred {
  bytes: number;
  sha256: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A pass-through stream that counts and hashes what flows through it, so every transfer,
 * download or copy, reports progress and ends with its size and sha256.
 */
export function byteMeter(onBytes: (received: number) => void): Transform & { received: number; result(): Transferred } {
  const hash = createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      meter.received += chunk.length;
      hash.update(chunk);
      onBytes(meter.received);
      done(null, chunk);
    },
  }) as Transform & { received: number; result(): Transferred };
  meter.received = 0;
  meter.result = () => ({ bytes: meter.received, sha256: hash.digest('hex') });
  return meter;
}

/**
 * Streams one URL into `dest`, hashing as it goes. Uses node:http rather than fetch so that
 * `Accept-Encoding: identity` holds (Content-Length then counts the bytes written, which is
 * how a cut transfer is told from a complete one) and so a stall is bounded per socket read.
 */
export async function download(req: DownloadRequest): Promise<Transferred> {
  const res = await open(req, req.url, req.maxRedirects);
  const header = res.headers['content-length'];
  const total = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  const meter = byteMeter((received) => req.onBytes?.(received, total));
  const out = createWriteStream(req.dest);
  // pipeline destroys every stream with the first error, so only the first tells which side broke.
  let broke: 'read' | 'write' | undefined;
  res.on('error', () => (broke ??= 'read'));
  out.on('error', () => (broke ??= 'write'));
  try {
    await pipeline(res, meter, out, req.signal ? { signal: req.signal } : {});
  } catch (err) {
    if (req.signal?.aborted) throw new FetchAbortedError(`fetch aborted while downloading ${req.file}`, { cause: err });
    if (broke === 'write') {
      throw new LocalIoError(req.file, req.dest, `cannot write ${req.dest}: ${errorMessage(err)}`, { cause: err });
    }
    throw new TruncatedDownloadError(req.file, req.url.href, meter.received, total, { cause: err });
  }
  // The parser normally errors on a short body; this catches a server that lies about it.
  if (total !== undefined && meter.received !== total) throw new TruncatedDownloadError(req.file, req.url.href, meter.received, total);
  return meter.result();
}

/** Sends the GET, following redirects, and resolves with a 2xx response whose body is unread. */
function open(req: DownloadRequest, url: URL, redirectsLeft: number): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, {
      headers: { 'accept-encoding': 'identity', 'user-agent': 'kubemr-fetch' },
      timeout: req.timeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    request.on('timeout', () => {
      request.destroy(new Error(`no data for ${req.timeoutMs} ms`));
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      if (req.signal?.aborted) {
        reject(new FetchAbortedError(`fetch aborted while downloading ${req.file}`, { cause: err }));
        return;
      }
      reject(new ConnectionFailedError(req.file, url.href, describeSocketError(err), { cause: err }));
    });
    request.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(res);
        return;
      }
      res.resume();
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location) {
        if (redirectsLeft === 0) {
          reject(new HttpStatusError(req.file, url.href, status, `(more than ${req.maxRedirects} redirects)`));
          return;
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          reject(new HttpStatusError(req.file, url.href, status, `(bad Location \`${location}\`)`));
          return;
        }
        open(req, next, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status === 404 || status === 410) {
        reject(new RemoteNotFoundError(req.file, url.href, status));
        return;
      }
      reject(new HttpStatusError(req.file, url.href, status, res.statusMessage ?? '', retryAfter(res.headers['retry-after'])));
    });
  });
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset before a response';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${err.code})`;
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

/** Retry-After as seconds; HTTP dates are turned into a delay from now. */
function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}
