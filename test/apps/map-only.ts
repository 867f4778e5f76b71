// A map-only app (no reduce): lines longer than 40 characters, keyed by file and line number.
import { registerApp } from 'kubemr/app';

registerApp({
  map: (file, text) =>
    text
      .split('\n')
      .map((line, i) => ({ key: `${file}:${i + 1}`, value: line }))
      .filter((kv) => kv.value.length > 40),
});
