import { describe, expect, it } from 'vitest';
import { measure, workerPeaks } from './measure.js';

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
});
