/**
 * wordcount: how often each word occurs. A word is a maximal run of Unicode letters, case
 * kept; the output line is `word count` — the MIT 6.5840 lab's wc, byte for byte.
 *
 *   kubemr run wordcount books/*.txt
 */
// Bundled apps import the App API directly rather than the whole package entry, so a worker
// process starts without loading the coordinator side.
import { registerApp, type App, type KeyValue } from '../../lib/app/index.js';

const WORD = /\p{L}+/gu;

function sum(values: string[]): string {
  let n = 0;
  for (const v of values) n += Number(v);
  return String(n);
}

export const wordcount: App = {
  map: (_filename: string, contents: string): KeyValue[] => (contents.match(WORD) ?? []).map((word) => ({ key: word, value: '1' })),
  // Counts add up in any grouping, so the framework may sum a word's counts early, on the map side.
  combine: (_key, values) => sum(values),
  reduce: (_key, values) => sum(values),
};

registerApp(wordcount, { name: 'wordcount' });
