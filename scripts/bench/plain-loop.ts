/**
 * The no-framework contender: the same App run by the loop a user writes without kubemr. Read
 * each file whole, call map on it, group values in a Map, sort the keys, reduce, write one
 * `key value` file. No combiner, no partitions, no spills: one process, all pairs in memory.
 *
 *   node dist/scripts/bench/plain-loop.js <app module> <out dir> <file...>
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { registeredApp, type Json } from '../../lib/app/app.js';

async function main(): Promise<void> {
  const [appModule, outDir, ...files] = process.argv.slice(2);
  if (!appModule || !outDir || files.length === 0) throw new Error('usage: plain-loop <app module> <out dir> <file...>');
  await import(pathToFileURL(path.resolve(appModule)).href);
  const app = registeredApp()?.app;
  if (!app) throw new Error(`${appModule} registered no app`);
  const reduce = app.reduce;
  if (!reduce) throw new Error(`${appModule} has no reduce`);
  const groups = new Map<string, Json[]>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const { key, value } of await app.map(file, text)) {
      const values = groups.get(key);
      if (values) values.push(value);
      else groups.set(key, [value]);
    }
  }
  // UTF-16 order is byte order for the bench's ASCII corpus.
  const keys = [...groups.keys()].sort();
  const lines: string[] = [];
  // The bench's apps reduce to a string, written as `key value`.
  for (const key of keys) lines.push(`${key} ${String(await reduce.call(app, key, groups.get(key)!))}\n`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'mr-out-0'), lines.join(''));
}

main().catch((err: unknown) => {
  process.stderr.write(`plain-loop: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
