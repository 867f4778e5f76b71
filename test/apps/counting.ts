/**
 * Counters and parameters: words at least `params().min` letters long are counted; the map
 * counts lines and short words, the reduce counts keys. With KUBEMR_TEST_CRASH=1 a third of
 * the map calls exit the process after counting, so a lost attempt's counters would show; with
 * KUBEMR_TEST_CRASH_ONCE=DIR as well, each file's first map call always does (a marker in DIR).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { counter, params, registerApp, type KeyValue } from 'kubemr/app';

/** True the first time any process maps this file, when KUBEMR_TEST_CRASH_ONCE names a marker directory. */
function firstCall(file: string): boolean {
  const dir = process.env.KUBEMR_TEST_CRASH_ONCE;
  if (!dir) return false;
  try {
    fs.writeFileSync(path.join(dir, path.basename(file)), '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

registerApp(
  {
    map(_file, text) {
      const min = Number(params().min ?? '1');
      const out: KeyValue[] = [];
      for (const line of text.split('\n')) {
        if (line === '') continue;
        counter('lines');
        for (const [word] of line.matchAll(/\p{L}+/gu)) {
          if (word.length >= min) out.push({ key: word.toLowerCase(), value: '1' });
          else counter('short');
        }
      }
      if (process.env.KUBEMR_TEST_CRASH === '1' && (firstCall(_file) || crypto.randomInt(3) === 0)) process.exit(1);
      return out;
    },
    reduce(_key, values) {
      counter('keys');
      return String(values.length);
    },
  },
  { name: 'counting' },
);
