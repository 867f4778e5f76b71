/**
 * A wordcount whose maps take a fixed time: KUBEMR_TEST_MAP_MS per call, ten times that on a
 * worker started with KUBEMR_TEST_STRAGGLER=1 (a slow disk, a busy node).
 */
import { registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

const perCall = Number(process.env.KUBEMR_TEST_MAP_MS ?? '100') * (process.env.KUBEMR_TEST_STRAGGLER === '1' ? 10 : 1);

registerApp(
  {
    map(_file, text) {
      sleepSync(perCall);
      return [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' }));
    },
    combine: (_key, values) => String(values.reduce((n, v) => n + Number(v), 0)),
    reduce: (_key, values) => String(values.reduce((n, v) => n + Number(v), 0)),
  },
  { name: 'straggler' },
);
