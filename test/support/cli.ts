/**
 * Helpers for end-to-end tests that drive the real CLI as separate OS processes. They use the
 * build in dist/ (`npm test` builds first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'bin', 'kubemr.js');
export { BOOKS, CORPUS_DIR as CORPUS } from './corpus.js';
import { BOOKS, CORPUS_DIR as CORPUS } from './corpus.js';
export const testApp = (name: string): string => path.join(ROOT, 'test', 'apps', name);

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cmd', 'kubemr', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  if (BOOKS.length !== 8) throw new Error(`expected the 8 books of the MIT lab in ${CORPUS}, found ${BOOKS.length}`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `kubemr-${prefix}-`));
}

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function kubemr(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; killSignal?: NodeJS.Signals }): Exited {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    // A process that ignores SIGTERM would keep spawnSync waiting past the timeout.
    killSignal: options.killSignal ?? 'SIGTERM',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface Proc {
  child: ChildProcess;
  exited: Promise<Exited>;
  stderr(): string;
}

/** Starts the CLI in the background. */
export function startKubemr(args: string[], options: { cwd: string; env?: Record<string, string> }): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<Exited>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited, stderr: () => stderr };
}

/** Starts `kubemr coordinator` on a free port and resolves with its address once it listens. */
export async function startCoordinator(
  cwd: string,
  inputs: string[],
  extra: string[] = [],
): Promise<{ proc: Proc; address: string }> {
  const proc = startKubemr(['coordinator', ...inputs, '--listen', '127.0.0.1:0', '--data', path.join(cwd, 'data'), '-q', ...extra], { cwd });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on (\S+)/.exec(proc.stderr());
    if (m) return { proc, address: m[1]! };
    if (proc.child.exitCode !== null) throw new Error(`coordinator exited early: ${proc.stderr()}`);
    if (Date.now() > deadline) throw new Error(`coordinator did not start: ${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function startWorker(cwd: string, app: string, address: string, env: Record<string, string> = {}): Proc {
  // The coordinator's token is in the data directory startCoordinator gave it.
  return startKubemr(['worker', app, '--coordinator', address, '--data', path.join(cwd, 'data'), '--give-up-ms', '3000'], { cwd, env });
}

/** Every line of every mr-out-* file in `dir`, sorted in byte order (the lab's `sort`). */
export function sortedOutput(dir: string): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('mr-out')) : [];
  const lines: Buffer[] = [];
  for (const f of files) {
    const data = fs.readFileSync(path.join(dir, f));
    let start = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, start)) {
      lines.push(data.subarray(start, i));
      start = i + 1;
    }
    if (start < data.length) lines.push(data.subarray(start));
  }
  lines.sort(Buffer.compare);
  return Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])).toString('utf8');
}

/** The oracle: `kubemr run --sequential`, sorted the same way. */
export function sequentialOutput(cwd: string, app: string, inputs: string[], env: Record<string, string> = {}): string {
  const out = path.join(cwd, `seq-${Math.random().toString(36).slice(2)}`);
  const r = kubemr(['run', '--sequential', '-q', app, ...inputs, '--out', out], { cwd, env });
  if (r.code !== 0) throw new Error(`sequential run failed: ${r.stderr}`);
  return sortedOutput(out);
}

/** Lists files whose names look like outputs but are not final (temp files must never match). */
export function outputFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('mr-out')).sort() : [];
}
