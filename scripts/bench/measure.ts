import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** What one run of a command cost. */
export interface Measurement {
  wallMs: number;
  exitCode: number | null;
  stderr: string;
  /** Largest sum of VmRSS over the whole process tree at one poll. */
  treePeakBytes: number;
  /** Peak RSS (VmHWM) of each process seen in the tree, keyed by pid, with its command line. */
  processes: Map<number, { cmd: string; hwmBytes: number; parent: number }>;
  /** User plus system CPU time of the command and every process it waited for (NaN if unknown). */
  cpuMs: number;
}

/** bash's `time` reports the CPU of the command and all its reaped descendants; the tag finds it in stderr. */
const CPU_TAG = 'kubemr-bench-cpu';
const timed = (argv: string[]) => ['bash', '-c', `TIMEFORMAT='${CPU_TAG} %3U %3S'; time "$@"`, 'bash', ...argv];

function readStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined; // exited between listing and reading
  }
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * The children of `pid`, from the kernel's own lists (one per thread: a child is listed under
 * the thread that started it); undefined where the kernel keeps none (CONFIG_PROC_CHILDREN
 * unset). A process gone meanwhile has none.
 */
export function childrenOf(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    } catch (err) {
      // The thread ended since the listing, or the kernel has no such file at all.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(`/proc/${pid}/task/${tid}`)) return undefined;
      continue;
    }
    if (text !== '') out.push(...text.split(' ').map(Number));
  }
  return out;
}

/**
 * The pid and all its descendants now alive. Read down from the root through the kernel's
 * children lists: a poll reads a few files per process of the tree, not one per process on the
 * machine. Scanning all of /proc took a few milliseconds of a core every poll, which a
 * single-process contender leaves to the idle core and a 2-worker run on 2 cores pays for.
 * Where the kernel lists no children, every process's parent is read instead.
 */
function tree(root: number): number[] {
  return walk(root, childrenOf) ?? walk(root, childrenByScan())!;
}

/** root and what `kids` leads to from it, depth first; undefined as soon as `kids` is. */
function walk(root: number, kids: (pid: number) => number[] | undefined): number[] | undefined {
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    const k = kids(p);
    if (k === undefined) return undefined;
    stack.push(...k);
  }
  return out;
}

/** Every process's children, from each one's parent in /proc. */
function childrenByScan(): (pid: number) => number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const ppid = parentOf(pid);
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  return (pid) => children.get(pid) ?? [];
}

/**
 * Records one poll's reading of a process. A process seen between fork and exec shows its
 * parent's command line and memory; after the exec both are its own (the kernel starts a new
 * high-water mark with the new image), so a new command line replaces the entry. A process that
 * has exited and is not yet reaped shows neither (no command line, no VmHWM): its entry keeps
 * the peak it reached. A zombie read that way had erased a worker's 590 MB peak.
 */
export function noteProcess(processes: Measurement['processes'], pid: number, cmd: string, hwmBytes: number, parentOf: (pid: number) => number): void {
  if (cmd === '' || hwmBytes === 0) return;
  const seen = processes.get(pid);
  if (seen && seen.cmd === cmd) seen.hwmBytes = Math.max(seen.hwmBytes, hwmBytes);
  else processes.set(pid, { cmd, hwmBytes, parent: parentOf(pid) });
}

/**
 * Runs `argv` and polls /proc for its process tree: peak RSS of every descendant (VmHWM, the
 * kernel's own high-water mark, so a peak between polls still counts) and the largest sum of
 * current RSS at one instant, and the CPU time of the whole tree. A poll reads a few files per
 * process of the tree (see tree).
 */
export async function measure(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; pollMs?: number }): Promise<Measurement> {
  const started = performance.now();
  const [cmd, ...args] = timed(argv);
  const child = spawn(cmd!, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const processes = new Map<number, { cmd: string; hwmBytes: number; parent: number }>();
  let treePeakBytes = 0;
  const poll = () => {
    if (child.pid === undefined) return;
    let sum = 0;
    for (const pid of tree(child.pid)) {
      // The bash that times the command is ours, not the contender's.
      if (pid === child.pid) continue;
      const st = readStatus(pid);
      if (!st) continue;
      sum += st.rss;
      noteProcess(processes, pid, cmdline(pid), st.hwm, parentOf);
    }
    treePeakBytes = Math.max(treePeakBytes, sum);
  };
  const timer = setInterval(poll, opts.pollMs ?? 200);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const wallMs = performance.now() - started;
  clearInterval(timer);
  // bash writes the locale's decimal separator.
  const cpu = new RegExp(`${CPU_TAG} (\\d+[.,]\\d+) (\\d+[.,]\\d+)\\n?`).exec(stderr);
  const seconds = (s: string) => Number(s.replace(',', '.'));
  const cpuMs = cpu ? (seconds(cpu[1]!) + seconds(cpu[2]!)) * 1000 : NaN;
  if (cpu) stderr = stderr.replace(cpu[0], '');
  return { wallMs, exitCode, stderr, treePeakBytes, processes, cpuMs };
}

/**
 * Peak RSS of each kubemr worker process (its command line has ` worker `). A child a worker has
 * forked but not yet exec'd (a streaming mapper, say) shows the worker's command line and memory
 * for a moment: a process whose parent is a worker is not one.
 */
export function workerPeaks(m: Measurement): number[] {
  const isWorker = (p: { cmd: string } | undefined) => p !== undefined && / worker /.test(p.cmd) && /kubemr|main\.js/.test(p.cmd);
  return [...m.processes.values()].filter((p) => isWorker(p) && !isWorker(m.processes.get(p.parent))).map((p) => p.hwmBytes);
}
