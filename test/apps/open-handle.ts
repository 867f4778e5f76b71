/**
 * An app whose module leaves a timer running when it loads, as one that opens a connection pool
 * at import does: a run must still end once its job has. Its map prints more than a pipe holds
 * (200,000 bytes and a newline), all of which must reach a reader that is slow to read.
 */
import { registerApp } from 'kubemr/app';

setInterval(() => undefined, 1000);

registerApp(
  {
    map: (_file, text) => {
      process.stdout.write(`${'x'.repeat(200_000)}\n`);
      return text.split(/\s+/).filter(Boolean).map((w) => ({ key: w, value: '1' }));
    },
    reduce: (_key, values) => String(values.length),
  },
  { name: 'open-handle' },
);
