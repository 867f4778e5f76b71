import { registerApp } from 'kubemr/app';
import { nparallel } from './timing.js';

registerApp(
  {
    map: () => 'abcdefghij'.split('').map((key) => ({ key, value: '1' })),
    reduce: () => String(nparallel('reduce')),
  },
  { name: 'rtiming' },
);
