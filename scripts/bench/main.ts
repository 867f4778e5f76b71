/**
 * `npm run bench`: kubemr against the Unix pipeline and a Python Hadoop-streaming pipeline.
 *
 *   npm run bench -- [--size 256M] [--hc-size 256M] [--python-size SIZE] [--repeat N] [--dir DIR] [--skip-python] [--skip-hc]
 *
 * Builds its corpora (gutenberg books repeated to --size; a synthetic high-cardinality corpus),
 * runs every contender in this one process (the wordcount contenders best of --repeat, default 3;
 * the slow Python ones and the high-cardinality job once), checks every contender's output against the others
 * before its time counts, and prints MB/s (10^6 bytes), wall time and peak RSS, then a summary
 * of the targets with PASS/FAIL.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHighCardinalityCorpus, buildWordcountCorpus, checkHighCardinality } from './corpus.js';
import { measure, workerPeaks, type Measurement } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'bin', 'kubemr.js');
const BOOKS = path.resolve(ROOT, '..', 'shared', 'corpus', 'gutenberg');
const MIB = 1024 * 1024;

interface Flags {
  size: number;
  hcSize: number;
  pythonSize: number;
  repeat: number;
  dir: string | undefined;
  skipPython: boolean;
  skipHc: boolean;
}

function parseSize(flag: string, v: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(v ?? '');
  if (!m) throw new Error(`Expected \`${flag}\` to be a size such as 64M, got \`${v}\``);
  return Math.round(Number(m[1]) * ({ '': 1, k: 1024, m: MIB, g: 1024 * MIB } as Record<string, number>)[m[2]!.toLowerCase()]!);
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = { size: 256 * MIB, hcSize: -1, pythonSize: -1, repeat: 3, dir: undefined, skipPython: false, skipHc: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => argv[++i];
    if (a === '--size') f.size = parseSize(a, val());
    else if (a === '--hc-size') f.hcSize = parseSize(a, val());
    else if (a === '--python-size') f.pythonSize = parseSize(a, val());
    else if (a === '--repeat') f.repeat = Math.max(1, Number(val()));
    else if (a === '--dir') f.dir = val();
    else if (a === '--skip-python') f.skipPython = true;
    else if (a === '--skip-hc') f.skipHc = true;
    else throw new Error(`unknown flag ${a}`);
  }
  if (f.hcSize < 0) f.hcSize = f.size;
  if (f.pythonSize < 0) f.pythonSize = f.size;
  return f;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const secs = (ms: number) => (ms / 1000).toFixed(2);
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Output as sorted `word count` lines, whatever the contender's separator and file layout. */
function normalize(files: string[]): string {
  const lines: string[] = [];
  for (const f of files) {
    for (const l of fs.readFileSync(f, 'latin1').split('\n')) {
      if (l === '') continue;
      const t = l.replace('\t', ' ');
      // tr turns leading non-letters into an empty line, which awk counts as the key "": not a word.
      if (t.startsWith(' ')) continue;
      lines.push(t);
    }
  }
  lines.sort();
  return lines.join('\n') + '\n';
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const outFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('mr-out-')).map((f) => path.join(dir, f));

interface Result {
  name: string;
  bytes: number;
  m: Measurement | undefined;
  /** undefined: matches the reference */
  wrong: string | undefined;
  workerPeaks: number[];
}

class Bench {
  readonly results: Result[] = [];
  constructor(
    readonly work: string,
    readonly repeat: number,
  ) {}

  /**
   * Runs a contender `repeat` times (best wall time kept; peak memory is the largest seen), then
   * checks its output against `reference` (the normalized digest) before the time counts.
   */
  async run(
    name: string,
    bytes: number,
    argv: (out: string) => string[],
    collect: (out: string) => string[],
    reference: string | undefined,
    repeat = this.repeat,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<Result> {
    let best: Measurement | undefined;
    let peaks: number[] = [];
    let wrong: string | undefined;
    let tree = 0;
    for (let i = 0; i < repeat; i++) {
      const out = path.join(this.work, `out-${name.replace(/[^a-z0-9]+/gi, '-')}-${i}`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out, { recursive: true });
      const m = await measure(argv(out), { cwd: this.work, env });
      log(`${name}: ${secs(m.wallMs)} s${m.exitCode === 0 ? '' : ` (exit ${m.exitCode}: ${m.stderr.trim().slice(-300)})`}`);
      if (m.exitCode !== 0) wrong = `exit code ${m.exitCode}`;
      else if (reference !== undefined) {
        const d = digest(normalize(collect(out)));
        if (d !== reference) wrong = 'output differs from the reference';
      }
      tree = Math.max(tree, m.treePeakBytes);
      const wp = workerPeaks(m);
      if (wp.length > 0) peaks = peaks.length === 0 ? wp : wp.map((p, j) => Math.max(p, peaks[j] ?? 0));
      if (!best || m.wallMs < best.wallMs) best = m;
      fs.rmSync(path.join(this.work, 'data'), { recursive: true, force: true });
      if (i < repeat - 1) fs.rmSync(out, { recursive: true, force: true });
    }
    best!.treePeakBytes = tree;
    const r: Result = { name, bytes, m: best, wrong, workerPeaks: peaks };
    this.results.push(r);
    return r;
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(w[c]!) : cell.padStart(w[c]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (!fs.existsSync(BOOKS)) throw new Error(`gutenberg books not found at ${BOOKS}`);
  const work = flags.dir ? path.resolve(flags.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-bench-'));
  fs.mkdirSync(work, { recursive: true });
  const kubemr = (args: string[]) => [process.execPath, CLI, 'run', ...args, '--data', path.join(work, 'data'), '-q'];
  // The interpreter itself, not a version-manager shim that costs ~0.1 s per start: kubemr
  // starts one Python per task, the pipe one per stage. Both contenders use the same path.
  const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const mapper = `${python} ${path.join(ROOT, 'examples', 'streaming', 'mapper.py')}`;
  const reducer = `${python} ${path.join(ROOT, 'examples', 'streaming', 'reducer.py')}`;
  // PYTHONUNBUFFERED (set in some environments, this one included) turns every output line into
  // a write(2): both Python contenders run without it, as a streaming deployment would.
  const pyEnv = { ...process.env };
  delete pyEnv.PYTHONUNBUFFERED;
  const sortByKey = `LC_ALL=C sort -t "$(printf '\\t')" -k1,1 -s`;
  const awkPipe = (input: string, out: string) => ['sh', '-c', `LC_ALL=C tr -cs 'A-Za-z' '\\n' < '${input}' | /usr/bin/mawk '{c[$1]++} END {for (k in c) print k, c[k]}' | LC_ALL=C sort > '${out}/out'`];

  // Other work on the machine skews every figure, the 2-worker run (which needs both cores) most.
  const loadBefore = os.loadavg()[0]!;
  log(`work dir ${work}; building corpora`);
  const wc = buildWordcountCorpus(BOOKS, path.join(work, 'wordcount.txt'), flags.size);
  // Eight map tasks at the default size: the 2-worker run is balanced, and smaller sizes still split.
  const split = Math.max(4 * MIB, Math.min(64 * MIB, Math.ceil(wc.bytes / 8)));
  const wcArgs = (workers: number, out: string) => kubemr(['wordcount', wc.file, '--workers', String(workers), '--split-size', String(split), '--out', out]);
  const bench = new Bench(work, flags.repeat);

  // The reference: the Unix pipeline's output, checked in turn against kubemr sequential.
  const awk = await bench.run('tr | mawk | sort', wc.bytes, (out) => awkPipe(wc.file, out), (out) => [path.join(out, 'out')], undefined);
  const reference = digest(normalize([path.join(work, `out-tr-mawk-sort-${flags.repeat - 1}`, 'out')]));
  const k2 = await bench.run('kubemr wordcount, 2 workers', wc.bytes, (out) => wcArgs(2, out), outFiles, reference);
  const k1 = await bench.run('kubemr wordcount, 1 worker', wc.bytes, (out) => wcArgs(1, out), outFiles, reference);
  await bench.run('kubemr --sequential', wc.bytes, (out) => kubemr(['wordcount', wc.file, '--sequential', '--out', out]), outFiles, reference);

  let py: Result | undefined;
  let kstream: Result | undefined;
  if (!flags.skipPython) {
    let pyCorpus = wc;
    let pyReference = reference;
    if (flags.pythonSize < wc.bytes) {
      pyCorpus = buildWordcountCorpus(BOOKS, path.join(work, 'wordcount-python.txt'), flags.pythonSize);
      const refOut = path.join(work, 'python-reference');
      fs.mkdirSync(refOut, { recursive: true });
      execFileSync(awkPipe(pyCorpus.file, refOut)[0]!, awkPipe(pyCorpus.file, refOut).slice(1));
      pyReference = digest(normalize([path.join(refOut, 'out')]));
    }
    py = await bench.run('Python streaming pipe', pyCorpus.bytes, (out) => ['sh', '-c', `cat '${pyCorpus.file}' | ${mapper} | ${sortByKey} | ${reducer} > '${out}/out'`], (out) => [path.join(out, 'out')], pyReference, 1, pyEnv);
    kstream = await bench.run('kubemr streaming (same .py), 2 workers', pyCorpus.bytes, (out) => kubemr(['--mapper', mapper, '--reducer', reducer, pyCorpus.file, '--workers', '2', '--split-size', String(Math.max(4 * MIB, Math.ceil(pyCorpus.bytes / 8))), '--out', out]), outFiles, pyReference, 1, pyEnv);
  }

  let hcRun: Result | undefined;
  let hcInfo = '';
  const budget = 256 * MIB;
  const bound = 2 * budget + 150e6;
  if (!flags.skipHc) {
    const hc = buildHighCardinalityCorpus(path.join(work, 'high-cardinality.txt'), flags.hcSize);
    hcInfo = `${hc.tokens} words, ${hc.distinct} distinct`;
    log(`high-cardinality corpus: ${mb(hc.bytes)} MB, ${hcInfo}`);
    hcRun = await bench.run('kubemr high-cardinality --memory 256M, 2 workers', hc.bytes, (out) => kubemr(['wordcount', hc.file, '--workers', '2', '--memory', '256M', '--out', out]), () => [], undefined, 1);
    if (!hcRun.wrong) {
      const out = path.join(work, 'out-kubemr-high-cardinality-memory-256M-2-workers-0');
      hcRun.wrong = checkHighCardinality(out, hc);
      log(`high-cardinality output ${hcRun.wrong ?? 'correct'}`);
    }
  }

  // The MIT lab's corpus as it is (the books, not the ASCII copy), end to end.
  const mitFiles = fs.readdirSync(BOOKS).filter((f) => f.endsWith('.txt')).sort().map((f) => path.join(BOOKS, f));
  const mitBytes = mitFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  const mitSeqOut = path.join(work, 'mit-seq');
  fs.mkdirSync(mitSeqOut, { recursive: true });
  execFileSync(process.execPath, [CLI, 'run', 'wordcount', ...mitFiles, '--sequential', '--out', mitSeqOut, '-q'], { cwd: work });
  const mitRef = digest(normalize(outFiles(mitSeqOut)));
  const mit = await bench.run('MIT corpus wordcount, 2 workers', mitBytes, (out) => kubemr(['wordcount', ...mitFiles, '--workers', '2', '--out', out]), outFiles, mitRef, Math.max(3, flags.repeat));

  // Report.
  const wall = (r: Result | undefined) => (r?.m && !r.wrong ? r.m.wallMs : NaN);
  const rate = (r: Result | undefined) => (r ? r.bytes / 1e6 / (wall(r) / 1000) : NaN);
  const rows = [['contender', 'input MB', 'wall s', 'CPU s', 'MB/s', 'peak RSS tree MB', 'per worker peak MB', 'vs tr|mawk|sort', 'vs Python pipe', 'output']];
  for (const r of bench.results) {
    rows.push([
      r.name,
      mb(r.bytes),
      r.m ? secs(r.m.wallMs) : '-',
      r.m && Number.isFinite(r.m.cpuMs) ? secs(r.m.cpuMs) : '-',
      Number.isFinite(rate(r)) ? rate(r).toFixed(1) : '-',
      r.m ? mb(r.m.treePeakBytes) : '-',
      r.workerPeaks.length > 0 ? r.workerPeaks.map(mb).join(' / ') : '-',
      Number.isFinite(rate(r) / rate(awk)) ? `${(rate(r) / rate(awk)).toFixed(2)}x` : '-',
      Number.isFinite(rate(r) / rate(py)) ? `${(rate(r) / rate(py)).toFixed(1)}x` : '-',
      r.wrong ? `WRONG: ${r.wrong}` : r.name.startsWith('tr |') ? 'reference' : 'ok',
    ]);
  }
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL');
  const hcPeak = hcRun ? Math.max(...hcRun.workerPeaks) : NaN;
  const targets = [
    ['target', 'measured', 'result'],
    ['2 workers >= 1.0x tr|mawk|sort (aim 2x)', `${(rate(k2) / rate(awk)).toFixed(2)}x`, verdict(rate(k2) / rate(awk) >= 1.0)],
    ['2 workers >= 10x Python streaming pipe', py ? `${(rate(k2) / rate(py)).toFixed(1)}x` : '-', verdict(py ? rate(k2) / rate(py) >= 10 : undefined)],
    ['1 -> 2 workers >= 1.8x', `${(rate(k2) / rate(k1)).toFixed(2)}x`, verdict(rate(k2) / rate(k1) >= 1.8)],
    [
      `high-cardinality worker peak RSS <= 2x256M + 150 MB (${mb(bound)} MB), output correct`,
      hcRun ? `${hcRun.workerPeaks.map(mb).join(' / ')} MB${hcRun.wrong ? ` (${hcRun.wrong})` : ''}` : '-',
      verdict(hcRun ? !hcRun.wrong && hcPeak <= bound : undefined),
    ],
    ['MIT corpus, kubemr run 2 workers < 1.5 s', `${secs(wall(mit))} s`, verdict(wall(mit) < 1500)],
  ];
  // What the 1 -> 2 ratio can be here at most: two workers cannot finish before their CPU time,
  // spread over every core, has run; one worker already keeps more than one core busy (the
  // coordinator, V8's compiler and collector threads run beside its map).
  const cores = os.cpus().length;
  const ceilingNote =
    k1.m && k2.m && !k1.wrong && !k2.wrong && Number.isFinite(k1.m.cpuMs) && Number.isFinite(k2.m.cpuMs)
      ? `1 -> 2 workers: 1 worker used ${secs(k1.m.cpuMs)} CPU s in ${secs(k1.m.wallMs)} s (${(k1.m.cpuMs / k1.m.wallMs).toFixed(2)} cores); ` +
        `2 workers used ${secs(k2.m.cpuMs)} CPU s, at least ${secs(k2.m.cpuMs / cores)} s on ${cores} cores, ` +
        `so this machine allows at most ${(k1.m.wallMs / (k2.m.cpuMs / cores)).toFixed(2)}x (measured ${(wall(k1) / wall(k2)).toFixed(2)}x)`
      : '';
  const streamingNote = kstream ? `kubemr streaming vs Python pipe: ${(rate(kstream) / rate(py)).toFixed(2)}x` : '';
  process.stdout.write(
    `\nkubemr bench — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0]!.toFixed(2)} after\n` +
      `wordcount corpus: ${mb(wc.bytes)} MB (gutenberg books repeated, ASCII only: ${wc.replaced} non-ASCII bytes replaced), split ${mb(split)} MB, 10 reducers; ` +
      `Python contenders on ${py ? mb(py.bytes) : '-'} MB (${python}, PYTHONUNBUFFERED unset); high-cardinality: ${hcInfo || 'skipped'}; best of ${flags.repeat} for the timed wordcount runs\n\n` +
      table(rows) +
      '\n\n' +
      table(targets) +
      '\n' +
      (ceilingNote ? `\n${ceilingNote}\n` : '') +
      (streamingNote ? `\n${streamingNote}\n` : ''),
  );
  if (!flags.dir) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
