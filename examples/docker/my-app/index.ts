// A user app with an npm dependency of its own: counts word stems ("runs", "running" -> "run")
// with the `stemmer` package. Build the image with examples/docker/Dockerfile.ts-app and name
// this file in a MapReduceJob's `app`.
import { registerApp, type KeyValue } from 'kubemr/app';
import { stemmer } from 'stemmer';

registerApp(
  {
    *map(_filename: string, contents: string): Iterable<KeyValue> {
      for (const m of contents.matchAll(/\p{L}+/gu)) yield { key: stemmer(m[0].toLowerCase()), value: '1' };
    },
    reduce(_key: string, values: string[]): string {
      return String(values.length);
    },
  },
  { name: 'stems' },
);
