/** Some reduces take 3 s, so a process that exits early would leave outputs still changing. */
import { registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

registerApp(
  {
    map: (filename) => [{ key: filename, value: '1' }],
    reduce(key, values) {
      if (key.includes('sherlock') || key.includes('tom')) sleepSync(3000);
      return String(values.length);
    },
  },
  { name: 'early-exit' },
);
