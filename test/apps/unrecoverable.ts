/** A map that refuses one input with UnrecoverableError: no retry can fix it. */
import { registerApp, UnrecoverableError } from 'kubemr/app';

registerApp({
  map(filename, contents) {
    if (filename.includes('bad')) throw new UnrecoverableError(`${filename} holds no records`);
    return [{ key: 'lines', value: String(contents.split('\n').length) }];
  },
  reduce: (_k, values) => String(values.length),
});
