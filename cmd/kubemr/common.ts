import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InvalidJobSpecError, InvalidOptionError, JobCancelledError, KubemrError, OutputClaimedError, OutputExistsError, TaskFailedError } from '../../lib/errors.js';
import { DatasetFetchError, FetchAbortedError } from '../../lib/fetch/errors.js';
import { makeDirs } from '../../lib/storage/dirs.js';
import type { JobRecord } from '../../lib/coordinator/scheduler.js';
import { taskName } from '../../lib/storage/layout.js';
import { createLogger, type Logger, type LogLevel } from '../../lib/logger.js';
import { isLoopbackHost } from '../../lib/protocol/loopback.js';

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

/** A TCP port, 0 (pick one) to 65535. */
export function portFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError(`Expected \`${flag}\` to be a port between 0 and 65535, got \`${value}\``);
    return n;
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3 };

/** Sizes like 64M, 256MiB, 1g, 1048576; at least `min` bytes. */
export function sizeFlag(flag: string, min = 1) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*?)(?:b)?$/i.exec(value.trim());
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined || Number(m[1]) <= 0) {
      throw new InvalidArgumentError(`Expected \`${flag}\` to be a size such as 64M or 1G, got \`${value}\``);
    }
    const bytes = Math.round(Number(m[1]) * unit);
    if (bytes < min) throw new InvalidArgumentError(`Expected \`${flag}\` to be at least ${formatSize(min)}, got \`${value}\``);
    return bytes;
  };
}

const formatSize = (n: number): string =>
  n % 1024 ** 3 === 0 ? `${n / 1024 ** 3}G` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2}M` : n % 1024 === 0 ? `${n / 1024}K` : `${n}`;

/** The flag that sets each job-spec field, for messages about a field's value. */
export const JOB_FLAGS: Record<string, string> = {
  reducers: '--reducers',
  workers: '--workers',
  leaseMs: '--lease-ms',
  maxAttempts: '--max-attempts',
  splitBytes: '--split-size',
  memoryBytes: '--memory',
  maxLineBytes: '--max-line',
  outputFormat: '--output-format',
  params: '--param',
  outputDir: '--out',
  app: '<app>',
  inputs: '<inputs...>',
};

/**
 * A job-spec error about a field a flag sets, told with the flag's name: `--memory`, not
 * `memoryBytes`. Other errors pass unchanged.
 */
export function withFlagNames(err: unknown, flagOf: Record<string, string> = JOB_FLAGS): unknown {
  if (!InvalidJobSpecError.is(err) || err.field === undefined || !(err.field in flagOf)) return err;
  const flag = flagOf[err.field]!;
  return new InvalidJobSpecError(err.message.replace(`\`${err.field}\``, `\`${flag}\``), { field: flag, cause: err });
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
  makeDirs(data, 'data directory');
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

/**
 * A token file is read only if it is a regular file of its own (not a symbolic link, which
 * could point anywhere) that nobody but its owner can read: a looser file has been seen by
 * others, and a token others know protects nothing.
 */
export function readToken(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(`token file ${file} is a symbolic link; refusing to use it. Replace the link with the file itself (chmod 600), or remove it to have a new token made`);
    }
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`token file ${file} is not a regular file; refusing to use it`);
    if ((st.mode & 0o077) !== 0) {
      throw new Error(`token file ${file} can be read by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it. Run chmod 600 ${file}, or remove it to have a new token made`);
    }
    const token = fs.readFileSync(fd, 'utf8').trim();
    if (!token) throw new Error(`token file ${file} is empty; remove it to have a new token made`);
    return token;
  } finally {
    fs.closeSync(fd);
  }
}

/** The token a client presents: --token, $KUBEMR_TOKEN, or the local token file. */
export function clientToken(flag: string | undefined, data: string | undefined): string | undefined {
  if (flag) return flag;
  if (process.env.KUBEMR_TOKEN) return process.env.KUBEMR_TOKEN;
  const file = path.join(dataDir(data), 'token');
  return fs.existsSync(file) || isSymlink(file) ? readToken(file) : undefined;
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The refusal of a client that has no credential for the coordinator. */
export function noCredential(what: string, data: string | undefined): InvalidOptionError {
  const file = data ? `, or a token file at ${path.join(data, 'token')}` : '';
  return new InvalidOptionError(`${what} has no credential for the coordinator: give --token or $KUBEMR_TOKEN${file}; --insecure only for a coordinator started with --insecure`, { option: '--token' });
}

/** A file a flag names, read whole; the error names the flag and the path. */
function flagFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new InvalidOptionError(`Expected \`${flag}\` to name a readable file, got \`${file}\` (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { option: flag });
  }
}

/** The certificate and key a server presents: --tls-cert/--tls-key, else $KUBEMR_TLS_CERT/$KUBEMR_TLS_KEY. */
export function serverTls(flags: { tlsCert?: string | undefined; tlsKey?: string | undefined }): { cert: Buffer; key: Buffer } | undefined {
  const cert = flags.tlsCert ?? (process.env.KUBEMR_TLS_CERT || undefined);
  const key = flags.tlsKey ?? (process.env.KUBEMR_TLS_KEY || undefined);
  if (!cert && !key) return undefined;
  if (!cert) throw new InvalidOptionError('Expected `--tls-cert` (or $KUBEMR_TLS_CERT) with `--tls-key`, got only the key', { option: '--tls-cert' });
  if (!key) throw new InvalidOptionError('Expected `--tls-key` (or $KUBEMR_TLS_KEY) with `--tls-cert`, got only the certificate', { option: '--tls-key' });
  return { cert: flagFile('--tls-cert', cert), key: flagFile('--tls-key', key) };
}

/**
 * TLS for a client: `--tls-ca <file>`, else $KUBEMR_TLS_CA (a file) or $KUBEMR_TLS_CA_PEM (the
 * PEM itself, as executors hand it to workers); `--tls` alone trusts the system's roots.
 */
export function clientTls(flags: { tlsCa?: string | undefined; tls?: boolean | undefined }): { ca?: Buffer } | undefined {
  const file = flags.tlsCa ?? (process.env.KUBEMR_TLS_CA || undefined);
  if (file) return { ca: flagFile(flags.tlsCa ? '--tls-ca' : '$KUBEMR_TLS_CA', file) };
  if (process.env.KUBEMR_TLS_CA_PEM) return { ca: Buffer.from(process.env.KUBEMR_TLS_CA_PEM) };
  return flags.tls ? {} : undefined;
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopback(address: string): boolean {
  if (address.startsWith('unix:')) return true;
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return isLoopbackHost(host);
}

/**
 * The rules for serving the coordinator: a token never crosses a network in clear (beyond
 * loopback, TLS or an explicit `--allow-plaintext`), and running open is said out loud.
 */
export function checkServing(o: { listen: string; token: string | undefined; tls: boolean; allowPlaintext: boolean | undefined; insecure: boolean | undefined }): void {
  if (o.insecure) {
    process.stderr.write(
      `kubemr: WARNING: --insecure: serving ${o.listen} with NO authentication. Anyone who can reach it can submit jobs that\n` +
        'kubemr: WARNING: read and write any file this process can, run code as this user, and cancel every job.\n',
    );
    return;
  }
  if (o.token && !o.tls && !isLoopback(o.listen)) {
    if (!o.allowPlaintext) {
      throw new InvalidOptionError(
        `refusing to serve ${o.listen} in plaintext: the token would cross the network in clear. Give --tls-cert and --tls-key (or $KUBEMR_TLS_CERT/$KUBEMR_TLS_KEY), listen on loopback, or pass --allow-plaintext on a network you trust`,
        { option: '--listen' },
      );
    }
    process.stderr.write(`kubemr: WARNING: --allow-plaintext: credentials to ${o.listen} travel unencrypted\n`);
  }
}

export const defaultWorkers = (): number => Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

/**
 * Exit codes, the same for every subcommand (README, `kubemr --help`): 0 done; 1 the job (or the
 * operation: a download, a call to the coordinator) failed; 2 a usage error, found before any
 * work started: a bad flag or value, a path that cannot be read or written, an app that cannot
 * load; 130 interrupted (Ctrl-C, SIGTERM).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export const EXIT_CODES_HELP = `
Exit codes (every subcommand):
  0    done
  1    the job failed (a task failed, a download failed, the coordinator is unreachable)
  2    usage error, found before any work started: a bad flag or value, an input or
       output path that cannot be read or written, an app that does not load
  130  interrupted (Ctrl-C or SIGTERM); the job was cancelled`;

/** The exit code an error ends a command with. */
export function exitCodeOf(err: unknown): number {
  if (FetchAbortedError.is(err)) return EXIT.interrupted;
  if (!KubemrError.is(err)) return EXIT.failed;
  if (err.code === 'INVALID_ARGUMENT' || err.code === 'NOT_FOUND' || err.code === 'ALREADY_EXISTS') return EXIT.usage;
  // The output directory given already holds results or is another job's: fixed by the user.
  if (OutputExistsError.is(err) || OutputClaimedError.is(err)) return EXIT.usage;
  return EXIT.failed;
}

/** An error as one line for the terminal (a failed download of many files as its first failure and a count). */
function messageOf(err: unknown): string {
  if (DatasetFetchError.is(err)) {
    const first = err.failures[0];
    const hosts = new Set(err.failures.map((f) => hostOf(f.source)));
    const more = err.failures.length > 1 ? ` (${err.failures.length} of ${err.total} files failed${hosts.size === 1 ? `, all from ${[...hosts][0]}` : ''})` : '';
    return `fetch of \`${err.dataset}\` failed: ${first ? first.message : 'no file fetched'}${more}`;
  }
  return KubemrError.is(err) || err instanceof Error ? err.message : String(err);
}

function hostOf(source: string): string {
  try {
    return new URL(source).host || source;
  } catch {
    return source;
  }
}

/** The one place a CLI error becomes a message and an exit code. */
export function exitWithError(err: unknown): never {
  process.stderr.write(`kubemr: ${messageOf(err)}\n`);
  if (!KubemrError.is(err) && err instanceof Error && process.env.KUBEMR_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeOf(err));
}

/**
 * Exits with `code` once what this process wrote to stdout and stderr is out (a pipe takes
 * writes asynchronously, and process.exit drops what is still queued), even when something
 * else, an app module's timer or socket, would keep the process alive.
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let left = 2;
  const one = () => {
    if (--left === 0) process.exit(code);
  };
  // A write's callback runs once every write before it is out, or with the error (EPIPE) that ended the stream.
  for (const s of [process.stdout, process.stderr]) s.write('', one);
}

/** Where a finished job's logs are, and the command that prints them. */
export function logsLine(jobId: string, logsDir: string, dataFlag: string | undefined): string {
  return `logs: ${logsDir} (kubemr logs ${jobId}${dataFlag !== undefined ? ` --data ${dataFlag}` : ''})`;
}

/** The error a job that did not succeed ends `kubemr run` with: cancelled, or failed naming the task. */
export function jobEndError(done: JobRecord): JobCancelledError | TaskFailedError {
  if (done.phase === 'cancelled') return new JobCancelledError(`job ${done.id} was cancelled`, { jobId: done.id });
  const failed = [...done.maps, ...done.reduces].find((t) => t.state === 'failed');
  return new TaskFailedError(`job ${done.id} failed: ${done.message}`, { jobId: done.id, task: failed && taskName(failed.kind, failed.index), attempt: failed?.history.length });
}

/** Collects the values of a repeatable flag. */
export const listFlag = (value: string, previous: string[]): string[] => [...previous, value];

/** `--tls-ca` and `--tls`, for a command that dials the coordinator (`whom` names it in the help). */
export function withTlsDialFlags(c: Command, whom = ''): Command {
  const dial = whom ? `dial ${whom}` : 'dial';
  return c.option('--tls-ca <file>', `${dial} with TLS, trusting this CA (PEM; default $KUBEMR_TLS_CA)`).option('--tls', `${dial} with TLS, trusting the system's CAs`);
}

/** What both dashboards take on how they reach the coordinator and who may read them. */
export function withDashboardAccessFlags(c: Command): Command {
  return withTlsDialFlags(c.option('--insecure', 'run without a credential, against a coordinator started with --insecure'), 'the coordinator')
    .option('--public-reads', 'serve pages and GETs without the token even beyond loopback (on loopback they always are)')
    .option('--allowed-host <name>', 'a host name requests may carry besides the loopback names (repeatable; DNS-rebinding defence)', listFlag, [] as string[]);
}
