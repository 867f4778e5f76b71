// A wordcount with number values: combine and reduce get numbers back, not strings.
import { registerApp } from 'kubemr/app';

const sum = (_key: string, values: number[]): number => {
  for (const v of values) if (typeof v !== 'number') throw new TypeError(`expected a number, got ${JSON.stringify(v)}`);
  return values.reduce((a, b) => a + b, 0);
};

registerApp<number>({
  map: (_file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: 1 })),
  combine: sum,
  reduce: sum,
});
