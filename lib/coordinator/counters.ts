import type { JobRecord, TaskRecord } from './scheduler.js';

/** Where user counters live among a task's counters, and in the job's sums. */
export const USER_PREFIX = 'user.';

/**
 * A job's counters: the sum over each done task of what its winning attempt reported (the
 * scheduler keeps only that attempt's counters, so a lost or superseded attempt never counts).
 * Built-ins are named by phase (`map.inputRecords`, `reduce.outputBytes`); user counters keep
 * their `user.<name>` key, summed over both phases.
 */
export function jobCounters(job: Pick<JobRecord, 'maps' | 'reduces' | 'priorCounters'>): Record<string, number> {
  const sums: Record<string, number> = { ...job.priorCounters };
  const add = (tasks: TaskRecord[], phase: string) => {
    for (const t of tasks) {
      if (t.state !== 'done' || !t.counters) continue;
      for (const [k, v] of Object.entries(t.counters)) {
        const key = k.startsWith(USER_PREFIX) ? k : `${phase}.${k}`;
        sums[key] = (sums[key] ?? 0) + v;
      }
    }
  };
  add(job.maps, 'map');
  add(job.reduces, 'reduce');
  return sums;
}

/** Counters as lines for a terminal: the built-ins, then the user's, each `name value`. */
export function formatCounters(counters: Record<string, number>): string[] {
  const names = Object.keys(counters).sort((a, b) => Number(a.startsWith(USER_PREFIX)) - Number(b.startsWith(USER_PREFIX)) || (a < b ? -1 : a > b ? 1 : 0));
  const width = Math.max(0, ...names.map((n) => n.length));
  return names.map((n) => `${n.padEnd(width)}  ${counters[n]}`);
}
