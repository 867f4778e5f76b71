/** A wordcount whose map and reduce print, for the attempt logs. */
import { registerApp } from 'kubemr/app';

registerApp({
  map(filename, contents) {
    console.log(`map read ${filename}`);
    console.error(`map warns about ${filename}`);
    process.stdout.write(`no newline after ${filename}`);
    return contents.split(/\s+/).filter(Boolean).map((w) => ({ key: w, value: '1' }));
  },
  reduce(key, values) {
    if (key === 'fox') console.log(`reduce counted ${values.length} fox`);
    return String(values.length);
  },
});
