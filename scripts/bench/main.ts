/**
 * `npm run bench`: what users get from kubemr, against what they would get without it.
 *
 *   npm run bench -- [--size 256M] [--hc-size 256M] [--python-size SIZE] [--repeat N] [--dir DIR]
 *                    [--small-files N] [--small-size SIZE] [--only GROUPS] [--skip-python] [--skip-hc]
 *
 * GROUPS (comma-separated; default all): awk (the `tr | mawk | sort` reference, always run when
 * a wordcount-like group is), wordcount (the bundled app: 2 workers, 1 worker, --sequential, the
 * no-framework loop), tuned (the hand-tuned wordcount, a bench-only contender), readme (the
 * README's app: 2 workers, 1 worker, the loop), indexer (the same three), python, hc, mit,
 * small (wordcount at default flags on --small-files files, 5000, of --small-size bytes in all,
 * 20M, given as their directory, against the same bytes as one file).
 *
 * The apps run with default flags on the wordcount corpus cut into 8 files (the loop reads each
 * whole; one 256 MiB file would not fit its heap), the pipelines on the same text as one file.
 * Each group's contenders run interleaved, --repeat times (default 3), and the medians count;
 * every output is checked against the reference before its time counts. It prints wall, CPU,
 * MB/s, peak RSS (the whole tree, each worker, the largest process) and ratios, then the
 * targets with PASS/FAIL.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHighCardinalityCorpus, buildWordcountCorpus, checkHighCardinality, splitIntoFiles } from './corpus.js';
import { measure, workerPeaks, type Measurement } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'bin', 'kubemr.js');
const LOOP = path.join(ROOT, 'dist', 'scripts', 'bench', 'plain-loop.js');
const TUNED = path.join(ROOT, 'dist', 'scripts', 'bench', 'apps', 'tuned-wordcount.js');
const BUNDLED = (app: string) => path.join(ROOT, 'dist', 'apps', app, 'index.js');
const BOOKS = path.resolve(ROOT, '..', 'shared', 'corpus', 'gutenberg');
const MIB = 1024 * 1024;
const GROUPS = ['awk', 'wordcount', 'tuned', 'readme', 'indexer', 'python', 'hc', 'mit', 'small'] as const;
type Group = (typeof GROUPS)[number];

interface Flags {
  size: number;
  hcSize: number;
  pythonSize: number;
  repeat: number;
  smallFiles: number;
  smallSize: number;
  dir: string | undefined;
  only: Set<Group>;
}

function parseSize(flag: string, v: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(v ?? '');
  if (!m) throw new Error(`Expected \`${flag}\` to be a size such as 64M, got \`${v}\``);
  return Math.round(Number(m[1]) * ({ '': 1, k: 1024, m: MIB, g: 1024 * MIB } as Record<string, number>)[m[2]!.toLowerCase()]!);
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = { size: 256 * MIB, hcSize: -1, pythonSize: -1, repeat: 3, smallFiles: 5000, smallSize: 20 * MIB, dir: undefined, only: new Set(GROUPS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => argv[++i];
    if (a === '--size') f.size = parseSize(a, val());
    else if (a === '--hc-size') f.hcSize = parseSize(a, val());
    else if (a === '--python-size') f.pythonSize = parseSize(a, val());
    else if (a === '--repeat') {
      const v = val();
      f.repeat = Number(v);
      if (!Number.isInteger(f.repeat) || f.repeat < 1) throw new Error(`Expected \`--repeat\` to be an integer >= 1, got \`${v}\``);
    } else if (a === '--small-files') {
      const v = val();
      f.smallFiles = Number(v);
      if (!Number.isInteger(f.smallFiles) || f.smallFiles < 1) throw new Error(`Expected \`--small-files\` to be an integer >= 1, got \`${v}\``);
    } else if (a === '--small-size') f.smallSize = parseSize(a, val());
    else if (a === '--dir') f.dir = val();
    else if (a === '--only') {
      const v = val() ?? '';
      const names = v.split(',').filter(Boolean);
      const bad = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
      if (names.length === 0 || bad.length > 0) throw new Error(`Expected \`--only\` to list groups among ${GROUPS.join(',')}, got \`${v}\``);
      f.only = new Set(names as Group[]);
    } else if (a === '--skip-python') f.only.delete('python');
    else if (a === '--skip-hc') f.only.delete('hc');
    else throw new Error(`unknown flag ${a}`);
  }
  if (f.hcSize < 0) f.hcSize = f.size;
  if (f.pythonSize < 0) f.pythonSize = f.size;
  return f;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const secs = (ms: number) => (ms / 1000).toFixed(2);
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Output as sorted `key value` lines, whatever the contender's separator and file layout. */
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

/** `work/name`, emptied: a reference run's output directory, from scratch in a reused --dir. */
function freshOut(work: string, name: string): string {
  const dir = path.join(work, name);
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const outFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('mr-out-')).map((f) => path.join(dir, f));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Contender {
  name: string;
  bytes: number;
  argv: (out: string) => string[];
  collect: (out: string) => string[];
  /** The normalized digest the output must have; undefined: not checked here. */
  reference?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

interface Result {
  name: string;
  bytes: number;
  /** Medians over the runs (wall and CPU each its own median). */
  wallMs: number;
  cpuMs: number;
  runs: number;
  /** Largest sum of RSS over the tree, largest peak of one process, and each worker's peak, over every run. */
  treePeak: number;
  processPeak: number;
  workerPeaks: number[];
  /** undefined: matches the reference */
  wrong: string | undefined;
  lastOut: string;
}

class Bench {
  readonly results: Result[] = [];
  constructor(readonly work: string) {}

  /**
   * Runs the contenders round-robin `repeat` times (A B C A B C ...: a load spike on the
   * shared machine hits all of them alike), checking each output against its reference.
   */
  async group(contenders: Contender[], repeat: number): Promise<Result[]> {
    const runs = contenders.map(() => [] as Measurement[]);
    const results: Result[] = contenders.map((c) => ({ name: c.name, bytes: c.bytes, wallMs: NaN, cpuMs: NaN, runs: 0, treePeak: 0, processPeak: 0, workerPeaks: [], wrong: undefined, lastOut: '' }));
    for (let i = 0; i < repeat; i++) {
      for (const [j, c] of contenders.entries()) {
        const r = results[j]!;
        const out = path.join(this.work, `out-${c.name.replace(/[^a-z0-9]+/gi, '-')}-${i}`);
        fs.rmSync(out, { recursive: true, force: true });
        fs.mkdirSync(out, { recursive: true });
        const m = await measure(c.argv(out), { cwd: this.work, env: c.env ?? process.env });
        log(`${c.name}: ${secs(m.wallMs)} s wall, ${secs(m.cpuMs)} s CPU${m.exitCode === 0 ? '' : ` (exit ${m.exitCode}: ${m.stderr.trim().slice(-300)})`}`);
        if (m.exitCode !== 0) r.wrong = `exit code ${m.exitCode}`;
        else if (c.reference !== undefined && digest(normalize(c.collect(out))) !== c.reference) r.wrong = 'output differs from the reference';
        runs[j]!.push(m);
        r.treePeak = Math.max(r.treePeak, m.treePeakBytes);
        for (const p of m.processes.values()) r.processPeak = Math.max(r.processPeak, p.hwmBytes);
        const wp = workerPeaks(m);
        if (wp.length > 0) r.workerPeaks = r.workerPeaks.length === 0 ? wp : wp.map((p, k) => Math.max(p, r.workerPeaks[k] ?? 0));
        fs.rmSync(path.join(this.work, 'data'), { recursive: true, force: true });
        if (r.lastOut) fs.rmSync(r.lastOut, { recursive: true, force: true });
        r.lastOut = out;
      }
    }
    for (const [j, r] of results.entries()) {
      r.runs = runs[j]!.length;
      r.wallMs = median(runs[j]!.map((m) => m.wallMs));
      r.cpuMs = median(runs[j]!.map((m) => m.cpuMs));
      this.results.push(r);
    }
    return results;
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(w[c]!) : cell.padStart(w[c]!))).join('  ')).join('\n');
}

/** The README's example app, taken from the README itself so the bench runs what users read. */
function readmeApp(work: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /## Write an app\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  const from = /from 'kubemr(\/app)?'/;
  if (!block || !from.test(block)) throw new Error('README.md: no ```ts block importing kubemr or kubemr/app under "## Write an app"');
  // The code has no type annotations, so it runs as JavaScript; only the import points at this checkout.
  const file = path.join(work, 'readme-app.mjs');
  fs.writeFileSync(file, block.replace(from, (_m, sub: string | undefined) => `from ${JSON.stringify(path.join(ROOT, 'dist', 'lib', sub ? 'app' : '', 'index.js'))}`));
  return file;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const on = (g: Group) => flags.only.has(g);
  if (!fs.existsSync(BOOKS)) throw new Error(`gutenberg books not found at ${BOOKS}`);
  const work = flags.dir ? path.resolve(flags.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-bench-'));
  fs.mkdirSync(work, { recursive: true });
  const kubemr = (args: string[]) => [process.execPath, CLI, 'run', ...args, '--data', path.join(work, 'data'), '-q'];
  const loop = (module: string, files: string[]) => (out: string) => [process.execPath, LOOP, module, out, ...files];
  const sortByKey = `LC_ALL=C sort -t "$(printf '\\t')" -k1,1 -s`;
  const awkPipe = (input: string, out: string) => ['sh', '-c', `LC_ALL=C tr -cs 'A-Za-z' '\\n' < '${input}' | /usr/bin/mawk '{c[$1]++} END {for (k in c) print k, c[k]}' | LC_ALL=C sort > '${out}/out'`];

  // Other work on the machine skews every figure, the 2-worker runs (which need both cores) most.
  const loadBefore = os.loadavg();
  log(`work dir ${work}; building corpora`);
  const wc = buildWordcountCorpus(BOOKS, path.join(work, 'wordcount.txt'), flags.size);
  const parts = splitIntoFiles(wc.file, path.join(work, 'parts'), 8);
  const bench = new Bench(work);
  const R = flags.repeat;

  // The reference: the Unix pipeline's output (every wordcount-like app must match it exactly).
  let awk: Result | undefined;
  let reference: string | undefined;
  const wordApps = on('wordcount') || on('tuned') || on('readme');
  if (on('awk') || wordApps) {
    [awk] = await bench.group([{ name: 'tr | mawk | sort', bytes: wc.bytes, argv: (out) => awkPipe(wc.file, out), collect: (out) => [path.join(out, 'out')] }], R);
    reference = digest(normalize([path.join(awk!.lastOut, 'out')]));
  }

  /** An app's three contenders: kubemr with 2 workers and 1, default flags, and the loop. */
  const appGroup = (label: string, app: string, module: string, ref: string | undefined, extra: Contender[] = []) =>
    bench.group(
      [
        { name: `${label}, no-framework loop`, bytes: wc.bytes, argv: loop(module, parts), collect: outFiles, reference: ref },
        { name: `${label}, kubemr 2 workers`, bytes: wc.bytes, argv: (out) => kubemr([app, ...parts, '--workers', '2', '--out', out]), collect: outFiles, reference: ref },
        { name: `${label}, kubemr 1 worker`, bytes: wc.bytes, argv: (out) => kubemr([app, ...parts, '--workers', '1', '--out', out]), collect: outFiles, reference: ref },
        ...extra,
      ],
      R,
    );
  let wcR: Result[] | undefined;
  let readmeR: Result[] | undefined;
  let idxR: Result[] | undefined;
  if (on('wordcount')) {
    wcR = await appGroup('wordcount', 'wordcount', BUNDLED('wordcount'), reference, [
      { name: 'wordcount, kubemr --sequential', bytes: wc.bytes, argv: (out) => kubemr(['wordcount', ...parts, '--sequential', '--out', out]), collect: outFiles, reference },
    ]);
  }
  if (on('tuned')) {
    await bench.group([{ name: 'hand-tuned wordcount (bench only), kubemr 2 workers', bytes: wc.bytes, argv: (out) => kubemr([TUNED, ...parts, '--workers', '2', '--out', out]), collect: outFiles, reference }], R);
  }
  if (on('readme')) {
    const app = readmeApp(work);
    readmeR = await appGroup("README's app", app, app, reference);
  }
  if (on('indexer')) {
    // The indexer's reference is its own sequential run.
    const seqOut = freshOut(work, 'indexer-seq');
    log('indexer: the sequential run, for the reference');
    execFileSync(process.execPath, [CLI, 'run', 'indexer', ...parts, '--sequential', '--out', seqOut, '-q'], { cwd: work });
    idxR = await appGroup('indexer', 'indexer', BUNDLED('indexer'), digest(normalize(outFiles(seqOut))));
  }

  let py: Result | undefined;
  let kstream: Result | undefined;
  if (on('python')) {
    // The interpreter itself, not a version-manager shim that costs ~0.1 s per start: kubemr
    // starts one Python per task, the pipe one per stage. Both contenders use the same path.
    const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const mapper = `${python} ${path.join(ROOT, 'examples', 'streaming', 'mapper.py')}`;
    const reducer = `${python} ${path.join(ROOT, 'examples', 'streaming', 'reducer.py')}`;
    // PYTHONUNBUFFERED (set in some environments, this one included) turns every output line into
    // a write(2): both Python contenders run without it, as a streaming deployment would.
    const pyEnv = { ...process.env };
    delete pyEnv.PYTHONUNBUFFERED;
    const pyCorpus = flags.pythonSize < wc.bytes ? buildWordcountCorpus(BOOKS, path.join(work, 'wordcount-python.txt'), flags.pythonSize) : wc;
    const refOut = path.join(work, 'python-reference');
    fs.mkdirSync(refOut, { recursive: true });
    execFileSync(awkPipe(pyCorpus.file, refOut)[0]!, awkPipe(pyCorpus.file, refOut).slice(1));
    const pyReference = digest(normalize([path.join(refOut, 'out')]));
    [py, kstream] = await bench.group(
      [
        { name: 'Python streaming pipe', bytes: pyCorpus.bytes, argv: (out) => ['sh', '-c', `cat '${pyCorpus.file}' | ${mapper} | ${sortByKey} | ${reducer} > '${out}/out'`], collect: (out) => [path.join(out, 'out')], reference: pyReference, env: pyEnv },
        { name: 'kubemr streaming (same .py), 2 workers', bytes: pyCorpus.bytes, argv: (out) => kubemr(['--mapper', mapper, '--reducer', reducer, pyCorpus.file, '--workers', '2', '--out', out]), collect: outFiles, reference: pyReference, env: pyEnv },
      ],
      1,
    );
  }

  let hcRun: Result | undefined;
  let hcInfo = '';
  const budget = 256 * MIB;
  const bound = 2 * budget + 150e6;
  if (on('hc')) {
    const hc = buildHighCardinalityCorpus(path.join(work, 'high-cardinality.txt'), flags.hcSize);
    hcInfo = `${hc.tokens} words, ${hc.distinct} distinct`;
    log(`high-cardinality corpus: ${mb(hc.bytes)} MB, ${hcInfo}`);
    [hcRun] = await bench.group([{ name: 'kubemr high-cardinality --memory 256M, 2 workers', bytes: hc.bytes, argv: (out) => kubemr(['wordcount', hc.file, '--workers', '2', '--memory', '256M', '--out', out]), collect: () => [] }], 1);
    if (!hcRun!.wrong) {
      hcRun!.wrong = checkHighCardinality(hcRun!.lastOut, hc);
      log(`high-cardinality output ${hcRun!.wrong ?? 'correct'}`);
    }
  }

  let mit: Result | undefined;
  if (on('mit')) {
    // The MIT lab's corpus as it is (the books, not the ASCII copy), end to end.
    const mitFiles = fs.readdirSync(BOOKS).filter((f) => f.endsWith('.txt')).sort().map((f) => path.join(BOOKS, f));
    const mitBytes = mitFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
    const mitSeqOut = freshOut(work, 'mit-seq');
    execFileSync(process.execPath, [CLI, 'run', 'wordcount', ...mitFiles, '--sequential', '--out', mitSeqOut, '-q'], { cwd: work });
    [mit] = await bench.group([{ name: 'MIT corpus wordcount, 2 workers', bytes: mitBytes, argv: (out) => kubemr(['wordcount', ...mitFiles, '--workers', '2', '--out', out]), collect: outFiles, reference: digest(normalize(outFiles(mitSeqOut))) }], Math.max(3, R));
  }

  let small: Result[] | undefined;
  if (on('small')) {
    // The same text twice: cut at line boundaries into many small files, and whole.
    const one = buildWordcountCorpus(BOOKS, path.join(work, 'small-one.txt'), flags.smallSize);
    const dir = path.join(work, 'small-files');
    const files = splitIntoFiles(one.file, dir, flags.smallFiles);
    log(`small files: ${files.length} files of ${(one.bytes / files.length / 1024).toFixed(1)} KiB on average, ${mb(one.bytes)} MB in all`);
    const seqOut = freshOut(work, 'small-seq');
    execFileSync(process.execPath, [CLI, 'run', 'wordcount', one.file, '--sequential', '--out', seqOut, '-q'], { cwd: work });
    const ref = digest(normalize(outFiles(seqOut)));
    small = await bench.group(
      [
        { name: `wordcount, ${files.length} small files (their directory), default flags`, bytes: one.bytes, argv: (out) => kubemr(['wordcount', dir, '--out', out]), collect: outFiles, reference: ref },
        { name: 'wordcount, the same bytes as one file, default flags', bytes: one.bytes, argv: (out) => kubemr(['wordcount', one.file, '--out', out]), collect: outFiles, reference: ref },
      ],
      R,
    );
  }

  // Report.
  const wall = (r: Result | undefined) => (r && !r.wrong ? r.wallMs : NaN);
  const rate = (r: Result | undefined) => (r ? r.bytes / 1e6 / (wall(r) / 1000) : NaN);
  const x = (v: number, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)}x` : '-');
  const rows = [['contender', 'input MB', 'wall s', 'CPU s', 'MB/s', 'peak RSS tree MB', 'largest process MB', 'per worker peak MB', 'vs tr|mawk|sort', 'output']];
  for (const r of bench.results) {
    rows.push([
      r.name,
      mb(r.bytes),
      secs(r.wallMs),
      Number.isFinite(r.cpuMs) ? secs(r.cpuMs) : '-',
      Number.isFinite(rate(r)) ? rate(r).toFixed(1) : '-',
      mb(r.treePeak),
      mb(r.processPeak),
      r.workerPeaks.length > 0 ? r.workerPeaks.map(mb).join(' / ') : '-',
      r.bytes === awk?.bytes ? x(rate(r) / rate(awk)) : '-',
      r.wrong ? `WRONG: ${r.wrong}` : r === awk ? 'reference' : 'ok',
    ]);
  }
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL');
  const vsLoop = (g: Result[] | undefined) => (g ? wall(g[0]) / wall(g[1]) : NaN);
  const scaling = (g: Result[] | undefined) => (g ? wall(g[2]) / wall(g[1]) : NaN);
  const hcPeak = hcRun ? Math.max(...hcRun.workerPeaks) : NaN;
  const targets: string[][] = [['target', 'measured', 'result']];
  const target = (name: string, value: string, ok: boolean | undefined) => targets.push([name, value, verdict(ok)]);
  if (readmeR) {
    target("README's app, 2 workers >= 1.5x the no-framework loop", x(vsLoop(readmeR)), vsLoop(readmeR) >= 1.5);
    const peak = Math.max(...readmeR[1]!.workerPeaks, readmeR[1]!.processPeak);
    target(`README's app, 2 workers: no process above 2 x 256M + 150 MB (${mb(bound)} MB)`, `${mb(peak)} MB`, peak <= bound);
  }
  if (wcR) {
    target('wordcount, 2 workers >= 2x the no-framework loop', x(vsLoop(wcR)), vsLoop(wcR) >= 2);
    target('wordcount, 2 workers vs tr|mawk|sort (aim 1x)', x(rate(wcR[1]) / rate(awk)), rate(wcR[1]) / rate(awk) >= 1);
  }
  if (idxR) target('indexer, 2 workers >= 1.5x the no-framework loop', x(vsLoop(idxR)), vsLoop(idxR) >= 1.5);
  for (const [name, g] of [["README's app", readmeR], ['wordcount', wcR], ['indexer', idxR]] as const) {
    if (g) target(`${name}: 1 -> 2 workers >= 1.4x`, x(scaling(g)), scaling(g) >= 1.4);
  }
  const ran = bench.results.filter((r) => r !== awk && r !== hcRun);
  if (ran.length > 0) target('every output equal to its reference', `${ran.filter((r) => r.wrong).length} wrong of ${ran.length}`, ran.every((r) => !r.wrong));
  if (py) target('wordcount 2 workers >= 10x Python streaming pipe', x(wcR ? rate(wcR[1]) / rate(py) : NaN, 1), wcR ? rate(wcR[1]) / rate(py) >= 10 : undefined);
  if (hcRun) {
    target(`high-cardinality worker peak RSS <= 2x256M + 150 MB (${mb(bound)} MB), output correct`, `${hcRun.workerPeaks.length > 0 ? `${hcRun.workerPeaks.map(mb).join(' / ')} MB` : 'no worker process seen'}${hcRun.wrong ? ` (${hcRun.wrong})` : ''}`, !hcRun.wrong && hcRun.workerPeaks.length > 0 && hcPeak <= bound);
  }
  if (mit) target('MIT corpus, kubemr run 2 workers < 1.5 s', `${secs(wall(mit))} s`, wall(mit) < 1500);
  if (small) {
    const ratio = wall(small[0]) / wall(small[1]);
    target(`${flags.smallFiles} small files within 2x the same bytes in one file`, `${secs(wall(small[0]))} s / ${secs(wall(small[1]))} s = ${x(ratio)}`, ratio <= 2);
  }
  // What the 1 -> 2 ratio can be here at most: two workers cannot finish before their CPU time,
  // spread over every core, has run.
  const cores = os.cpus().length;
  const ceilings = ([["README's app", readmeR], ['wordcount', wcR], ['indexer', idxR]] as const)
    .filter(([, g]) => g && Number.isFinite(g[1]!.cpuMs) && !g[1]!.wrong && !g[2]!.wrong)
    .map(([name, g]) => `${name}: 1 worker ${secs(g![2]!.cpuMs)} CPU s in ${secs(g![2]!.wallMs)} s; 2 workers ${secs(g![1]!.cpuMs)} CPU s, so at most ${(g![2]!.wallMs / (g![1]!.cpuMs / cores)).toFixed(2)}x on ${cores} cores (measured ${scaling(g).toFixed(2)}x)`);
  const streamingNote = kstream && py ? `kubemr streaming vs Python pipe: ${x(rate(kstream) / rate(py))}` : '';
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  process.stdout.write(
    `\nkubemr bench — ${cores} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${la(loadBefore)} before, ${la(os.loadavg())} after\n` +
      `wordcount corpus: ${mb(wc.bytes)} MB (gutenberg books repeated, ASCII only: ${wc.replaced} non-ASCII bytes replaced) as 8 files for the apps, one for the pipelines; ` +
      `apps with default flags; high-cardinality: ${hcInfo || 'skipped'}; medians of ${R} interleaved runs\n\n` +
      table(rows) +
      '\n\n' +
      table(targets) +
      '\n' +
      (ceilings.length > 0 ? `\n${ceilings.join('\n')}\n` : '') +
      (streamingNote ? `\n${streamingNote}\n` : ''),
  );
  if (!flags.dir) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
