import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { JobCancelledError, KubemrError, TaskFailedError } from '../../lib/errors.js';
import type { JobRecord } from '../../lib/coordinator/scheduler.js';
import { taskName } from '../../lib/storage/layout.js';
import { createLogger, type Logger, type LogLevel } from '../../lib/logger.js';

/** Flag parsers that name the flag and the bad value. */
export function intFlag(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`Expected \`${flag}\` to be an integer >= ${min}, got \`${value}\``);
    }
    return n;
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3 };

/** Sizes like 64M, 256MiB, 1g, 1048576. */
export function sizeFlag(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*?)(?:b)?$/i.exec(value.trim());
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined || Number(m[1]) <= 0) {
      throw new InvalidArgumentError(`Expected \`${flag}\` to be a size such as 64M or 1G, got \`${value}\``);
    }
    return Math.round(Number(m[1]) * unit);
  };
}

/** `--param key=value`, repeatable: collected into one object; a later key wins. */
export function paramFlag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`Expected \`--param\` as key=value, got \`${value}\``);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function cliLogger(verbose: boolean | undefined): Logger {
  const level: LogLevel = verbose ? 'debug' : ((process.env.KUBEMR_LOG_LEVEL as LogLevel | undefined) ?? 'warn');
  return createLogger({ level, json: process.env.KUBEMR_LOG_FORMAT === 'json' });
}

/** The data directory: --data, else $KUBEMR_DATA, else ./.kubemr. */
export function dataDir(flag: string | undefined): string {
  return path.resolve(flag ?? process.env.KUBEMR_DATA ?? '.kubemr');
}

/**
 * The local-mode token: a random secret in a 0600 file under the data directory, shared by
 * every local client of the coordinator that uses that directory.
 */
export function localToken(data: string): string {
  const file = path.join(data, 'token');
  if (fs.existsSync(file)) return readToken(file);
  fs.mkdirSync(data, { recursive: true });
  // Written whole under a temp name, then linked into place: two first runs racing both end up
  // with the one token that won, never with an empty or half-written file.
  const tmp = path.join(data, `.token-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(tmp, crypto.randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return readToken(file);
}

function readToken(file: string): string {
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`token file ${file} is empty; remove it to have a new token made`);
  return token;
}

/** The token a client presents: --token, $KUBEMR_TOKEN, or the local token file. */
export function clientToken(flag: string | undefined, data: string | undefined): string | undefined {
  if (flag) return flag;
  if (process.env.KUBEMR_TOKEN) return process.env.KUBEMR_TOKEN;
  const file = path.join(dataDir(data), 'token');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

export const defaultWorkers = (): number => Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

/** The one place a CLI error becomes a message and an exit code. */
export function exitWithError(err: unknown): never {
  const message = KubemrError.is(err) || err instanceof Error ? err.message : String(err);
  process.stderr.write(`kubemr: ${message}\n`);
  if (!KubemrError.is(err) && err instanceof Error && process.env.KUBEMR_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(KubemrError.is(err) && err.code === 'INVALID_ARGUMENT' ? 2 : 1);
}

/** The error a job that did not succeed ends `kubemr run` with: cancelled, or failed naming the task. */
export function jobEndError(done: JobRecord): JobCancelledError | TaskFailedError {
  if (done.phase === 'cancelled') return new JobCancelledError(`job ${done.id} was cancelled`, { jobId: done.id });
  const failed = [...done.maps, ...done.reduces].find((t) => t.state === 'failed');
  return new TaskFailedError(`job ${done.id} failed: ${done.message}`, { jobId: done.id, task: failed && taskName(failed.kind, failed.index), attempt: failed?.history.length });
}
