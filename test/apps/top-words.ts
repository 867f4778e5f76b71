/**
 * A two-step job, mrjob style: step 1 counts words, step 2 reads step 1's `word count` lines
 * and keeps the ten most frequent (ties broken by the word, in byte order).
 */
import { compareUtf8, registerApp } from 'kubemr/app';

const sum = (_key: string, values: string[]) => String(values.reduce((n, v) => n + Number(v), 0));

registerApp(
  {
    steps: [
      {
        map: (_file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0].toLowerCase(), value: '1' })),
        combine: sum,
        reduce: sum,
      },
      {
        map: (_file, text) =>
          text
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => ({ key: 'top', value: line })),
        reduce(_key, values) {
          const rows = values.map((v) => {
            const space = v.lastIndexOf(' ');
            return { word: v.slice(0, space), n: Number(v.slice(space + 1)) };
          });
          rows.sort((a, b) => b.n - a.n || compareUtf8(a.word, b.word));
          return rows
            .slice(0, 10)
            .map((r) => `${r.word}=${r.n}`)
            .join(',');
        },
      },
    ],
  },
  { name: 'top-words' },
);
