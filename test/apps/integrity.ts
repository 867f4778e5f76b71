/**
 * wordcount with switches for the integrity tests, set through the environment of the worker:
 *   KUBEMR_TEST_HOLD_MS     map also emits the key `~hold`, whose reduce call blocks this long
 *                           (one partition's reduce is slow, the others are not)
 *   KUBEMR_TEST_MARK_DIR    the `~hold` reduce call first drops `reduce-<pid>` here
 *   KUBEMR_TEST_NONDET      each count is followed by the worker's pid: attempts differ
 *   KUBEMR_TEST_THROW_KEY   reduce throws for this key: its partition always fails
 *   KUBEMR_TEST_GATE        map also emits `~later` (partition 1 of 2; `~hold` is in 0), whose
 *                           reduce call waits until this file exists: the job stays running
 * With none set, it is plain wordcount (the sequential oracle runs it so).
 */
import fs from 'node:fs';
import path from 'node:path';
import { registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

const holdMs = Number(process.env.KUBEMR_TEST_HOLD_MS ?? 0);
const markDir = process.env.KUBEMR_TEST_MARK_DIR;
const nondet = process.env.KUBEMR_TEST_NONDET === '1';
const throwKey = process.env.KUBEMR_TEST_THROW_KEY;
const gate = process.env.KUBEMR_TEST_GATE;

registerApp(
  {
    map(_file, contents) {
      const counts = new Map<string, number>();
      for (const m of contents.matchAll(/\p{L}+/gu)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
      const out = [...counts].map(([key, n]) => ({ key, value: String(n) }));
      if (holdMs) out.push({ key: '~hold', value: '1' });
      if (gate) out.push({ key: '~later', value: '1' });
      return out;
    },
    reduce(key, values) {
      if (key === throwKey) throw new Error(`reduce refuses the key ${key}`);
      if (key === '~hold') {
        if (markDir) fs.writeFileSync(path.join(markDir, `reduce-${process.pid}`), '');
        sleepSync(holdMs);
      }
      if (key === '~later' && gate) while (!fs.existsSync(gate)) sleepSync(20);
      const n = String(values.reduce((a, v) => a + Number(v), 0));
      return nondet ? `${n} ${process.pid}` : n;
    },
  },
  { name: 'integrity' },
);
