/**
 * Parallelism probes (the MIT lab's mtiming and rtiming): each call drops a marker file named
 * after its process, counts the markers of processes still alive, holds for a second and
 * removes its marker. If two workers run tasks of a phase at once, some call counts 2.
 */
import fs from 'node:fs';

export function nparallel(phase: string): number {
  const mine = `mr-worker-${phase}-${process.pid}`;
  fs.writeFileSync(mine, 'x');
  let alive = 0;
  for (const name of fs.readdirSync('.')) {
    const m = new RegExp(`^mr-worker-${phase}-(\\d+)$`).exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
      alive++;
    } catch {
      // that worker is gone
    }
  }
  sleepSync(1000);
  fs.rmSync(mine, { force: true });
  return alive;
}

/** Blocks the thread, as CPU-bound user code would; the worker's heartbeat must survive it. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
