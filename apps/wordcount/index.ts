/**
 * wordcount: how often each word occurs. A word is a maximal run of Unicode letters, case
 * kept; the output line is `word count` — the MIT 6.5840 lab's wc, byte for byte.
 *
 *   kubemr run wordcount books/*.txt
 */
import { registerApp, type App, type KeyValue } from '../../lib/index.js';

const WORD = /\p{L}+/gu;

function sum(values: string[]): string {
  let n = 0;
  for (const v of values) n += Number(v);
  return String(n);
}

export const wordcount: App = {
  // Counts inside map (an in-mapper combiner): one pair per distinct word of the split instead
  // of one per occurrence. The result is the same; the shuffle is far smaller.
  map(_filename: string, contents: string): KeyValue[] {
    const counts = new Map<string, number>();
    for (const m of contents.matchAll(WORD)) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    const out: KeyValue[] = [];
    for (const [key, n] of counts) out.push({ key, value: String(n) });
    return out;
  },
  combine: (_key, values) => sum(values),
  reduce: (_key, values) => sum(values),
};

registerApp(wordcount, { name: 'wordcount' });
