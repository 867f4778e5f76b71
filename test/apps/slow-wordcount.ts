/**
 * wordcount, slowed down by KUBEMR_TEST_DELAY_MS per map and reduce call (blocking the
 * thread, like CPU-bound code), so a chaos driver has time to kill things mid-task. The job
 * parameter `mapDelayMs` slows the map calls only (scripts/e2e-cluster.sh sets it in a
 * MapReduceJob, whose env may not name KUBEMR_* variables).
 */
import { params, registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

const delay = Number(process.env.KUBEMR_TEST_DELAY_MS ?? 0);

registerApp(
  {
    map(_file, contents) {
      const mapDelay = Number(params().mapDelayMs ?? delay);
      if (mapDelay) sleepSync(mapDelay);
      const counts = new Map<string, number>();
      for (const m of contents.matchAll(/\p{L}+/gu)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
      return [...counts].map(([key, n]) => ({ key, value: String(n) }));
    },
    reduce(_key, values) {
      return String(values.reduce((a, v) => a + Number(v), 0));
    },
  },
  { name: 'slow-wordcount' },
);
