// A minimal user app: counts words longer than five letters. Build the image with
// examples/docker/Dockerfile.ts-app and name this file in a MapReduceJob's `app`.
import { registerApp, type KeyValue } from 'kubemr/app';

registerApp(
  {
    *map(_filename: string, contents: string): Iterable<KeyValue> {
      for (const word of contents.split(/[^A-Za-z]+/)) if (word.length > 5) yield { key: word.toLowerCase(), value: '1' };
    },
    reduce(_key: string, values: string[]): string {
      return String(values.length);
    },
  },
  { name: 'long-words' },
);
