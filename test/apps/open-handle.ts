/**
 * An app whose module leaves a timer running when it loads, as one that opens a connection pool
 * at import does: a run must still end once its job has.
 */
import { registerApp } from 'kubemr/app';

setInterval(() => undefined, 1000);

registerApp(
  {
    map: (_file, text) => text.split(/\s+/).filter(Boolean).map((w) => ({ key: w, value: '1' })),
    reduce: (_key, values) => String(values.length),
  },
  { name: 'open-handle' },
);
