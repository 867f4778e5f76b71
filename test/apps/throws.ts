/** A map that throws on one input, for the failure path. */
import { registerApp } from 'kubemr/app';

registerApp({
  map(filename, contents) {
    if (filename.includes('bad')) throw new Error(`cannot parse ${filename}`);
    return [{ key: 'lines', value: String(contents.split('\n').length) }];
  },
  reduce: (_k, values) => String(values.length),
});
