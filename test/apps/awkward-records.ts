/**
 * Output records that the `key value` text format cannot carry back: keys with newlines, tabs,
 * spaces, backslashes, a lone surrogate, the empty key; JSON values; and a reduce that writes
 * several records, one, or none per key.
 */
import { records, registerApp, type Json } from 'kubemr/app';

const AWKWARD = ['two\nlines', 'tab\there', 'with space', 'back\\slash', 'lone\ud800surrogate', '', 'plain', 'ünïcødé', 'emoji 😀', '\\n not a newline'];

registerApp<Json>({
  map(file, text) {
    const n = text.split('\n').filter(Boolean).length;
    return AWKWARD.map((key, i) => ({ key, value: i % 3 === 0 ? { file: file.split('/').pop()!, lines: n } : i % 3 === 1 ? n : `v\t${i}\n${n}` }));
  },
  reduce(key, values) {
    if (key === 'plain') return undefined; // no record
    if (key === 'with space') return records(values.map((v, i) => ({ key: `${key}#${i}`, value: v })));
    if (key === 'tab\there') {
      return (function* () {
        yield { key, value: values.length };
        yield { key: `${key}/sum`, value: values.reduce((a: number, b) => a + (b as number), 0) };
      })();
    }
    return values.map((v) => JSON.stringify(v)).sort().join('|');
  },
});
