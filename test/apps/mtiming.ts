import { registerApp } from 'kubemr/app';
import { nparallel } from './timing.js';

registerApp(
  {
    map() {
      const ts = (Date.now() / 1000).toFixed(1);
      const n = nparallel('map');
      return [
        { key: `times-${process.pid}`, value: ts },
        { key: `parallel-${process.pid}`, value: String(n) },
      ];
    },
    reduce: (_key, values) => [...values].sort().join(' '),
  },
  { name: 'mtiming' },
);
