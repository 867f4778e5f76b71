import fs from 'node:fs';
import { runMapTask } from './dist/lib/tasks.js';
const { wordcount } = await import('./dist/apps/wordcount/index.js');
const dir = fs.mkdtempSync('/tmp/bc/tt-');
fs.mkdirSync(dir + '/intermediate');
const SPLIT = 33011040;
const out = [];
const w = +process.argv[2];
for (let k = w; k < 8; k += 2) {
  const t0 = performance.now();
  await runMapTask(wordcount, { jobId: 'j', index: k, nReduce: 10, nMap: 8, memoryBytes: 256 * 1024 * 1024, jobDir: dir, workDir: '/tmp/bc', inputs: [{ path: 'big.txt', start: k * SPLIT, end: (k + 1) * SPLIT }] }, { abandoned: () => false, progress() {}, tag: 't' + k });
  out.push((performance.now() - t0).toFixed(0));
}
console.log(w, out.join(' '));
fs.rmSync(dir, { recursive: true });
