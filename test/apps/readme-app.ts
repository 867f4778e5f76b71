/** The README's example app, as a user writes it: every word a pair, no combiner. */
import { registerApp } from 'kubemr';

registerApp({
  map: (file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' })),
  reduce: (_key, values) => String(values.length),
});
