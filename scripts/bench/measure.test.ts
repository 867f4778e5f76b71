import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { childrenOf, measure, noteProcess, workerPeaks, type Measurement } from './measure.js';

// A child process that spins until it has used `ms` of CPU, so the time can only come from a descendant.
const spinInChild = (ms: number, exitCode: number) => [
  process.execPath,
  '-e',
  `const { execFileSync } = require('node:child_process');
   execFileSync(process.execPath, ['-e', 'const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (cpu() < ${ms}) {}']);
   process.stderr.write('own stderr line\\n');
   process.exit(${exitCode});`,
];

describe('bench measure()', () => {
  it("counts the CPU time of the command's descendants, keeps its exit code and leaves its stderr as it wrote it", async () => {
    const m = await measure(spinInChild(400, 3), { cwd: process.cwd(), pollMs: 50 });
    expect(m.exitCode).toBe(3);
    expect(m.cpuMs).toBeGreaterThanOrEqual(400);
    expect(m.cpuMs).toBeLessThan(m.wallMs * 2 + 200);
    expect(m.stderr).toBe('own stderr line\n');
  });

  it('counts as workers only processes whose parent is not a worker', () => {
    const processes = new Map([
      [10, { cmd: 'node kubemr.js run wordcount in.txt --workers 2', hwmBytes: 50, parent: 1 }],
      [11, { cmd: 'node main.js worker wordcount --coordinator unix:/x', hwmBytes: 300, parent: 10 }],
      [12, { cmd: 'node main.js worker wordcount --coordinator unix:/x', hwmBytes: 310, parent: 10 }],
      // Forked by worker 11, not yet exec'd into its mapper: the worker's command line and memory.
      [13, { cmd: 'node main.js worker wordcount --coordinator unix:/x', hwmBytes: 290, parent: 11 }],
    ]);
    expect(workerPeaks({ wallMs: 1, exitCode: 0, stderr: '', treePeakBytes: 0, cpuMs: 0, processes })).toEqual([300, 310]);
  });

  it('keeps a process\'s peak when a poll finds it exited but not yet reaped, and starts again at its exec', () => {
    const processes: Measurement['processes'] = new Map();
    const parent = () => 10;
    // Forked by the CLI, not yet exec'd: the CLI's command line and memory.
    noteProcess(processes, 11, 'node kubemr.js run wordcount in.txt', 80, parent);
    noteProcess(processes, 11, 'node main.js worker wordcount', 40, parent);
    noteProcess(processes, 11, 'node main.js worker wordcount', 590, parent);
    noteProcess(processes, 11, 'node main.js worker wordcount', 420, parent);
    // A zombie: no command line, no VmHWM.
    noteProcess(processes, 11, '', 0, parent);
    expect(processes.get(11)).toEqual({ cmd: 'node main.js worker wordcount', hwmBytes: 590, parent: 10 });
  });

  it("finds a grandchild in the command's process tree and records its peak memory", async () => {
    // The grandchild touches 150 MB, holds it a while and exits; its parent waits for it.
    const grandchild = "const b = Buffer.alloc(150 * 1024 * 1024, 1); setTimeout(() => b.length, 600); // grandchild-marker";
    const m = await measure([process.execPath, '-e', `require('node:child_process').execFileSync(process.execPath, ['-e', ${JSON.stringify(grandchild)}])`], { cwd: process.cwd(), pollMs: 50 });
    expect(m.exitCode).toBe(0);
    const found = [...m.processes.values()].filter((p) => p.cmd.includes('grandchild-marker') && !p.cmd.includes('execFileSync'));
    expect(found).toHaveLength(1);
    expect(found[0]!.hwmBytes).toBeGreaterThan(150 * 1024 * 1024);
    expect(m.processes.get(found[0]!.parent)?.cmd).toMatch(/execFileSync/);
  });

  it('lists a process\'s children from the kernel, and none for a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
    try {
      expect(childrenOf(process.pid)).toContain(child.pid);
      expect(childrenOf(child.pid!)).toEqual([]);
    } finally {
      child.kill();
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(childrenOf(process.pid)).not.toContain(child.pid);
    expect(childrenOf(2 ** 22 + 1)).toEqual([]);
  });
});
