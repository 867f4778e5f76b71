import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { followFile } from '../storage/follow-file.js';
import { DataLayout } from '../storage/layout.js';
import { silentLogger, type Logger } from '../logger.js';
import { intOption } from '../options.js';
import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo } from './types.js';
import { JOB_DEFAULTS } from '../coordinator/jobspec.js';
import { withNodeOptions, workerNodeOptions, workerV8Flags } from './resources.js';

export interface LocalExecutorOptions {
  /**
   * The command that starts one worker; `worker <app> --coordinator ... --job ...` is appended.
   * @default node running this package's CLI
   */
  command?: string[];
  logger?: Logger;
  /** Extra environment for workers. */
  env?: Record<string, string>;
  /** Restarts of one worker slot before the slot is given up (>= 0). @default 20 */
  maxRestarts?: number;
  /** Delay before restarting a crashed worker, in milliseconds (>= 0). @default 100 */
  restartDelayMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, in milliseconds (>= 0). @default 2000 */
  killGraceMs?: number;
}

/** The local executor's limits and delays, checked once. */
export interface CompiledLocalExecutorOptions {
  maxRestarts: number;
  restartDelayMs: number;
  killGraceMs: number;
}

export function compileLocalExecutorOptions(o: LocalExecutorOptions): CompiledLocalExecutorOptions {
  return {
    maxRestarts: intOption('maxRestarts', o.maxRestarts, 20, 0),
    restartDelayMs: intOption('restartDelayMs', o.restartDelayMs, 100, 0),
    killGraceMs: intOption('killGraceMs', o.killGraceMs, 2000, 0),
  };
}

interface Slot {
  jobId: string;
  index: number;
  restarts: number;
  child: ChildProcess | undefined;
  info: WorkerInfo;
  /** The current incarnation's log. */
  logFile: string;
  stopped: boolean;
  /** Node flags of its own, decided at launch (see workerV8Flags). */
  v8Flags: string[];
}

/** How much older than main.js the worker bundle may be and still be the same build's. */
const STALE_BUNDLE_MS = 10_000;

/**
 * What a worker process runs: `kubemr worker` bundled into one file by the build
 * (scripts/bundle-worker.ts), which starts its first task sooner than the CLI loading its modules
 * one by one; the built main.js when there is no bundle, or one built well before main.js (a
 * `tsc` run after the build, without its bundling step: the bundle would run the older code);
 * the .ts source when running from sources. "Well before": a copy of dist (`cp -r`) gives its
 * files new times, a few milliseconds apart in no particular order.
 */
export function defaultWorkerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(here), '..', '..');
  if (here.endsWith('.ts')) return [process.execPath, '--import', 'tsx', path.join(root, 'cmd', 'kubemr', 'main.ts')];
  const main = path.join(root, 'cmd', 'kubemr', 'main.js');
  // The bundled code (.cjs) is what may be stale; the module that starts it (.js) is what runs
  // (see lib/worker/worker-bundle.ts).
  const bundle = path.join(root, 'lib', 'worker', 'worker-bundle');
  const bundleTime = fs.statSync(`${bundle}.cjs`, { throwIfNoEntry: false })?.mtimeMs;
  const mainTime = fs.statSync(main, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return [process.execPath, bundleTime !== undefined && bundleTime >= mainTime - STALE_BUNDLE_MS ? `${bundle}.js` : main];
}

/**
 * Workers as child processes of this one. Like a Kubernetes Job, it keeps N workers alive: a
 * worker that crashes is reported dead at once (so its task is reassigned without waiting for
 * the lease) and replaced; a worker that exits 0 has finished and is not replaced.
 */
export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private readonly slots: Slot[] = [];
  private readonly listeners: WorkerDeathListener[] = [];
  private readonly exhaustedListeners: Array<(jobId: string, reason: string) => void> = [];
  private readonly logger: Logger;
  private readonly command: string[];
  private closed = false;
  /** Distinguishes this executor's workers from those of an earlier coordinator on the same data. */
  private readonly incarnation = crypto.randomBytes(2).toString('hex');

  private readonly limits: CompiledLocalExecutorOptions;

  constructor(private readonly options: LocalExecutorOptions = {}) {
    this.limits = compileLocalExecutorOptions(options);
    this.logger = (options.logger ?? silentLogger).child({ component: 'local-executor' });
    this.command = options.command ?? defaultWorkerCommand();
  }

  onWorkerDeath(listener: WorkerDeathListener): void {
    this.listeners.push(listener);
  }

  onWorkersExhausted(listener: (jobId: string, reason: string) => void): void {
    this.exhaustedListeners.push(listener);
  }

  async launch(spec: LaunchSpec, n: number): Promise<void> {
    const have = this.slots.filter((s) => s.jobId === spec.jobId).length;
    const running = this.slots.filter((s) => !s.stopped).length + Math.max(0, n - have);
    const v8Flags = this.command[0] === process.execPath ? workerV8Flags(running, os.availableParallelism(), spec.memoryBytes ?? JOB_DEFAULTS.memoryBytes) : [];
    for (let i = have; i < n; i++) {
      const slot: Slot = {
        v8Flags,
        jobId: spec.jobId,
        index: i,
        restarts: 0,
        child: undefined,
        stopped: false,
        logFile: '',
        info: { id: '', jobId: spec.jobId, state: 'starting' },
      };
      this.slots.push(slot);
      this.spawn(slot, spec);
    }
  }

  private logFile(spec: LaunchSpec, workerId: string): string {
    const dir = new DataLayout(spec.dataDir).job(spec.jobId).logsDir;
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, `${workerId}.log`);
  }

  private spawn(slot: Slot, spec: LaunchSpec): void {
    if (this.closed || slot.stopped) return;
    const workerId = `local-${spec.jobId}-${this.incarnation}-w${slot.index}-${slot.restarts}`;
    const [cmd, ...pre] = this.command;
    const args = [...slot.v8Flags, ...pre, 'worker', ...(spec.app ? [spec.app] : ['--streaming']), '--coordinator', spec.coordinator, '--job', spec.jobId, '--worker-id', workerId];
    slot.logFile = this.logFile(spec, workerId);
    const log = fs.openSync(slot.logFile, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.options.env };
    // Only the job's worker credential (spec.token), never this process's own token.
    delete env.KUBEMR_TOKEN;
    if (spec.token) env.KUBEMR_TOKEN = spec.token;
    if (spec.tlsCa) env.KUBEMR_TLS_CA_PEM = spec.tlsCa;
    env.NODE_OPTIONS = withNodeOptions(workerNodeOptions(spec.memoryBytes ?? JOB_DEFAULTS.memoryBytes), env.NODE_OPTIONS);
    const child = spawn(cmd!, args, { stdio: ['ignore', log, log], env });
    fs.closeSync(log);
    slot.child = child;
    slot.info = { id: workerId, jobId: spec.jobId, state: 'running', startedAt: Date.now(), where: `pid ${child.pid}` };
    this.logger.debug('worker started', { job: spec.jobId, worker: workerId, pid: child.pid });
    let ended = false;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, startError?: Error) => {
      if (ended) return;
      ended = true;
      slot.child = undefined;
      slot.info = { ...slot.info, finishedAt: Date.now() };
      if (code === 0) {
        slot.info.state = 'succeeded';
        return;
      }
      const reason = startError ? `could not start: ${startError.message}` : signal ? `killed by ${signal}` : `exit code ${code}`;
      slot.info.state = 'failed';
      slot.info.reason = reason;
      if (slot.stopped || this.closed) return;
      for (const l of this.listeners) l(workerId, spec.jobId, reason);
      if (slot.restarts >= this.limits.maxRestarts) {
        slot.stopped = true;
        this.logger.error('worker keeps failing; not restarting it', { job: spec.jobId, worker: workerId, reason });
        const alive = this.slots.some((s) => s.jobId === spec.jobId && !s.stopped && s.info.state !== 'succeeded');
        if (!alive) {
          const why = `each worker failed ${slot.restarts + 1} times; the last: ${reason} (see ${slot.logFile})`;
          for (const l of this.exhaustedListeners) l(spec.jobId, why);
        }
        return;
      }
      slot.restarts++;
      setTimeout(() => this.spawn(slot, spec), this.limits.restartDelayMs).unref();
    };
    // A failed spawn emits 'error' and no 'exit'.
    child.on('error', (err) => onEnd(null, null, err));
    child.on('exit', (code, signal) => onEnd(code, signal));
  }

  async list(jobId?: string): Promise<WorkerInfo[]> {
    return this.slots.filter((s) => !jobId || s.jobId === jobId).map((s) => ({ ...s.info }));
  }

  async logs(workerId: string, options: { follow?: boolean } = {}): Promise<AsyncIterable<string>> {
    const slot = this.slots.find((s) => s.info.id === workerId);
    if (!slot) throw new Error(`no worker ${workerId}`);
    const running = () => slot.info.id === workerId && slot.child !== undefined;
    return followFile(slot.logFile, options.follow ? () => !running() : () => true, new AbortController().signal, 250);
  }

  async stop(jobId: string): Promise<void> {
    const mine = this.slots.filter((s) => s.jobId === jobId);
    await Promise.all(mine.map((s) => this.kill(s)));
  }

  private kill(slot: Slot): Promise<void> {
    slot.stopped = true;
    const child = slot.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), this.limits.killGraceMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => this.kill(s)));
  }
}
