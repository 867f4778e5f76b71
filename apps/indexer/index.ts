/**
 * indexer: an inverted index. For each word (a maximal run of Unicode letters), the number of
 * documents it occurs in and their names, distinct and in byte order: `word N doc1,doc2`.
 * The MIT 6.5840 lab's indexer, byte for byte.
 *
 *   kubemr run indexer books/*.txt
 */
// Bundled apps import the App API directly rather than the whole package entry, so a worker
// process starts without loading the coordinator side.
import { compareUtf8, registerApp, type App, type KeyValue } from '../../lib/app/index.js';

const WORD = /\p{L}+/gu;

export const indexer: App = {
  map(document: string, contents: string): KeyValue[] {
    const seen = new Set<string>();
    for (const m of contents.matchAll(WORD)) seen.add(m[0]);
    return [...seen].map((key) => ({ key, value: document }));
  },
  // A large document is split into several map tasks, each of which names it once.
  reduce(_key: string, values: string[]): string {
    const docs = [...new Set(values)].sort(compareUtf8);
    return `${docs.length} ${docs.join(',')}`;
  },
};

registerApp(indexer, { name: 'indexer' });
