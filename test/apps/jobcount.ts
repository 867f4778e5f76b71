/** Counts map calls with marker files: the output must equal the number of map tasks. */
import fs from 'node:fs';
import { registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

let count = 0;

registerApp(
  {
    map() {
      fs.writeFileSync(`mr-worker-jobcount-${process.pid}-${count++}`, 'x');
      sleepSync(200 + Math.floor(Math.random() * 300));
      return [{ key: 'a', value: 'x' }];
    },
    reduce: () => String(fs.readdirSync('.').filter((n) => n.startsWith('mr-worker-jobcount')).length),
  },
  { name: 'jobcount' },
);
