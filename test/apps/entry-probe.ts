/**
 * A wordcount that also reports which script its worker process runs (process.argv[1]) and the
 * job's params(): each distinct value is one more output line, `~entry <script>` and
 * `~param <value>`, so a test sees where the app ran and that the job's params reached it.
 */
import { params, registerApp } from 'kubemr/app';

registerApp({
  map(_file, text) {
    const pairs = [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' }));
    pairs.push({ key: `~entry ${process.argv[1] ?? ''}`, value: '1' }, { key: `~param ${params().probe ?? ''}`, value: '1' });
    return pairs;
  },
  reduce: (key, values) => (key.startsWith('~') ? '' : String(values.length)),
});
