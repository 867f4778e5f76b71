/**
 * The MIT lab's crash and nocrash apps. With KUBEMR_TEST_CRASH=1, a third of the calls exit
 * the process and another third block for up to 10 s; without it, the same app never fails
 * and serves as the sequential oracle.
 */
import crypto from 'node:crypto';
import { registerApp } from 'kubemr/app';
import { sleepSync } from './timing.js';

function maybeCrash(): void {
  if (process.env.KUBEMR_TEST_CRASH !== '1') return;
  const r = crypto.randomInt(1000);
  if (r < 330) process.exit(1);
  if (r < 660) sleepSync(crypto.randomInt(10_000));
}

registerApp(
  {
    map(filename, contents) {
      maybeCrash();
      return [
        { key: 'a', value: filename },
        { key: 'b', value: String(filename.length) },
        { key: 'c', value: String(Buffer.byteLength(contents)) },
        { key: 'd', value: 'xyzzy' },
      ];
    },
    reduce(_key, values) {
      maybeCrash();
      return [...values].sort().join(' ');
    },
  },
  { name: 'crash' },
);
