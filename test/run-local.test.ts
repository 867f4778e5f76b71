/**
 * `kubemr run` end to end: text the lab never tried, and bad input. Every successful result is
 * compared with the sequential run; every failure must name the problem, exit non-zero and
 * leave no output file behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { assertBuilt, BOOKS, kubemr, outputFiles, ROOT, sequentialOutput, sortedOutput, startCoordinator, tempDir, testApp } from './support/cli.js';

beforeAll(() => assertBuilt());

function awkwardInputs(dir: string): string[] {
  const files: Array<[string, Buffer | string]> = [
    ['non-ascii.txt', 'Größe straße ÉCOLE école naïve Ελληνικά русский 日本語 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﬁ Zürich zürich\nçà et là\n'],
    ['crlf.txt', 'one two\r\nthree one\r\ntwo\r\n'],
    ['bom.txt', '\ufeffBOM at the start of the file\nthe end\n'],
    ['invalid-utf8.bin', Buffer.concat([Buffer.from('good words '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), Buffer.from(' more good\n')])],
    ['empty.txt', ''],
    ['no-final-newline.txt', 'last line without a newline'],
    ['name with spaces.txt', 'spaces in the name of the file\n'],
    ['ünïcødé-näme.txt', 'the name is not ascii\n'],
  ];
  for (const [name, body] of files) fs.writeFileSync(path.join(dir, name), body);
  return files.map(([name]) => name);
}

describe('kubemr run on awkward text', () => {
  for (const app of ['wordcount', 'indexer']) {
    it(`${app}: matches the sequential run on non-ASCII, CRLF, BOM, invalid UTF-8, empty, unterminated and oddly named files`, () => {
      const dir = tempDir('awkward');
      const inputs = awkwardInputs(dir);
      const r = kubemr(['run', app, ...inputs, '--workers', '2', '--reducers', '3', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(outputFiles(path.join(dir, 'out'))).toEqual(['mr-out-0', 'mr-out-1', 'mr-out-2']);
      const got = sortedOutput(path.join(dir, 'out'));
      expect(got).toBe(sequentialOutput(dir, app, inputs));
      // Spot checks that the oracle is not trivially empty.
      if (app === 'wordcount') {
        expect(got).toContain('Größe 1\n');
        expect(got).toContain('𝔘𝔫𝔦𝔠𝔬𝔡𝔢 1\n');
        expect(got).toMatch(/^one 2$/m);
      } else {
        expect(got).toContain('spaces 1 name with spaces.txt\n');
      }
    });
  }

  it('a TypeScript app module runs without a build step, input paths reach map exactly as given', () => {
    const dir = tempDir('tsapp');
    fs.writeFileSync(path.join(dir, 'a b.txt'), 'x\n');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'c.txt'), 'y\n');
    const r = kubemr(['run', testApp('crash-app.ts'), 'a b.txt', './sub/c.txt', '-w', '2', '-r', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const got = sortedOutput(path.join(dir, 'out'));
    expect(got).toContain('a ./sub/c.txt a b.txt\n');
    expect(got).toBe(sequentialOutput(dir, testApp('crash-app.ts'), ['a b.txt', './sub/c.txt']));
  });

  it('local workers run the one-file worker bundle; job params reach the app there', () => {
    const dir = tempDir('bundle');
    const inputs = BOOKS.slice(0, 2);
    const r = kubemr(['run', testApp('entry-probe.ts'), ...inputs, '-w', '2', '--param', 'probe=seen', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = sortedOutput(path.join(dir, 'out')).split('\n');
    expect(lines.filter((l) => l.startsWith('~entry '))).toEqual([`~entry ${path.join(ROOT, 'dist', 'lib', 'worker', 'worker-bundle.js')} `]);
    expect(lines.filter((l) => l.startsWith('~param '))).toEqual(['~param seen ']);
    const words = (out: string) => out.split('\n').filter((l) => l && !l.startsWith('~')).join('\n');
    expect(words(sortedOutput(path.join(dir, 'out')))).toBe(words(sequentialOutput(dir, testApp('entry-probe.ts'), inputs)));
  });

  it('the worker bundle keeps its code cache beside it: written when missing, again when V8 refuses it, kept when taken', () => {
    // A copy of the bundle and its starter, so that the jobs of other test files (which start
    // workers from dist at the same time) never touch this cache.
    const dir = tempDir('codecache');
    for (const f of ['worker-bundle.js', 'worker-bundle.cjs']) fs.copyFileSync(path.join(ROOT, 'dist', 'lib', 'worker', f), path.join(dir, f));
    const caches = () => fs.readdirSync(dir).filter((f) => f.endsWith('.v8cache'));
    const start = () => {
      const r = spawnSync(process.execPath, [path.join(dir, 'worker-bundle.js'), 'worker', '--help'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Usage: kubemr worker');
    };
    start();
    expect(caches(), 'no code cache beside the bundle').toHaveLength(1);
    const file = path.join(dir, caches()[0]!);
    const garbage = Buffer.alloc(4096, 0x5a);
    fs.writeFileSync(file, garbage);
    start();
    expect(fs.readFileSync(file).equals(garbage), 'the refused cache was not written again').toBe(false);
    const before = fs.statSync(file).mtimeMs;
    start();
    expect(fs.statSync(file).mtimeMs, 'a cache V8 took was written again').toBe(before);
    // A rebuilt bundle (another size and time) gets its own cache; the old one goes.
    fs.appendFileSync(path.join(dir, 'worker-bundle.cjs'), '\n');
    start();
    expect(caches()).toHaveLength(1);
    expect(caches()[0]).not.toBe(path.basename(file));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an app started through the explicit kubemr/worker entry is a worker, with no kubemr CLI', async () => {
    const dir = tempDir('direct');
    const inputs = BOOKS.slice(0, 4);
    const { proc, address } = await startCoordinator(dir, inputs, ['--out', 'out', '-r', '3']);
    // `node --import tsx worker.ts`, as a container would run a user's app: no kubemr CLI.
    const worker = spawn(process.execPath, ['--import', 'tsx', testApp('self-start-crash.ts')], {
      cwd: ROOT,
      // The coordinator's token, from the data directory startCoordinator gave it.
      env: { ...process.env, KUBEMR_COORDINATOR: address, KUBEMR_WORKER_ID: 'direct-1', KUBEMR_TOKEN: fs.readFileSync(path.join(dir, 'data', 'token'), 'utf8').trim() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    worker.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => worker.on('close', r));
    expect(code, err).toBe(0);
    expect((await proc.exited).code).toBe(0);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, testApp('crash-app.ts'), inputs));
  });

  it('an app module that leaves a timer open when it loads: the run ends with its job, distributed and sequential', () => {
    const dir = tempDir('openhandle');
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a b a\nc a\n');
    const app = testApp('open-handle.ts');
    // The sequential run prints the app's output itself, here into a pipe read only a second later.
    const cmd = `"${process.execPath}" "${path.join(ROOT, 'bin', 'kubemr.js')}" run "${app}" in.txt --sequential --out seq -q | (sleep 1; wc -c)`;
    const seq = spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(seq.signal, 'killed at the timeout: the sequential run did not end').toBeNull();
    expect(seq.status, seq.stderr).toBe(0);
    expect(Number(seq.stdout.trim()), 'the app\'s output, all of it').toBe(200_001);
    const r = kubemr(['run', app, 'in.txt', '-w', '2', '-r', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.signal, 'killed at the timeout: the run did not end').toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sortedOutput(path.join(dir, 'seq')));
    expect(sortedOutput(path.join(dir, 'out'))).toContain('a 3\n');
  });

  it('expands a quoted glob itself, passing the matched paths as written', () => {
    const dir = tempDir('glob');
    fs.mkdirSync(path.join(dir, 'in'));
    for (const b of BOOKS.slice(0, 3)) fs.copyFileSync(b, path.join(dir, 'in', path.basename(b)));
    const r = kubemr(['run', 'indexer', 'in/*.txt', '-w', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const got = sortedOutput(path.join(dir, 'out'));
    expect(got).toMatch(/^Dorian 1 in\/pg-dorian_gray\.txt$/m);
    const files = fs.readdirSync(path.join(dir, 'in')).map((f) => `in/${f}`);
    expect(got).toBe(sequentialOutput(dir, 'indexer', files));
  });
});

describe('kubemr run with bad input', () => {
  function expectFailure(args: string[], message: RegExp, setup?: (dir: string) => void) {
    const dir = tempDir('bad');
    setup?.(dir);
    const before = outputFiles(path.join(dir, 'out'));
    const r = kubemr(['run', ...args, '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^kubemr: /m);
    // No partial output: nothing new appeared.
    expect(outputFiles(path.join(dir, 'out'))).toEqual(before);
    return { dir, r };
  }

  it('a missing input path', () => {
    expectFailure(['wordcount', 'no-such-file.txt'], /Input `no-such-file.txt` does not exist/);
  });

  it('a glob that matches nothing', () => {
    expectFailure(['wordcount', 'nothing-*.txt'], /Input pattern `nothing-\*\.txt` matched no files/);
  });

  it('an empty directory given as input', () => {
    expectFailure(['wordcount', 'adir'], /Input directory `adir` holds no files/, (d) => fs.mkdirSync(path.join(d, 'adir')));
  });

  it('an app that does not exist', () => {
    expectFailure(['no-such-app', BOOKS[0]!], /App `no-such-app` is neither a bundled app \(wordcount, indexer\) nor an existing module file/);
  });

  it('an app module that never calls registerApp', () => {
    expectFailure([testApp('no-register.ts'), BOOKS[0]!], /never called registerApp/);
  });

  it('--reducers -1', () => {
    expectFailure(['wordcount', BOOKS[0]!, '--reducers', '-1'], /Expected `--reducers` to be an integer >= 0, got `-1`/);
  });

  it('--output-format csv', () => {
    expectFailure(['wordcount', BOOKS[0]!, '--output-format', 'csv'], /Expected `--output-format` to be one of text, tsv, jsonl, got `csv`/);
  });

  it('--workers not a number', () => {
    expectFailure(['wordcount', BOOKS[0]!, '--workers', 'two'], /Expected `--workers` to be an integer >= 1, got `two`/);
  });

  it('an output directory that already holds results', () => {
    const { dir } = expectFailure(['wordcount', BOOKS[0]!], /Output directory `.*out` already holds results \(mr-out-0\)/, (d) => {
      fs.mkdirSync(path.join(d, 'out'));
      fs.writeFileSync(path.join(d, 'out', 'mr-out-0'), 'old result\n');
    });
    expect(fs.readFileSync(path.join(dir, 'out', 'mr-out-0'), 'utf8')).toBe('old result\n');
  });

  it('a map that throws: the job fails naming the task, the input and the error', () => {
    const { r } = expectFailure(
      [testApp('throws.ts'), 'good.txt', 'bad.txt', '--workers', '2', '--max-attempts', '2'],
      /map task 1 \(input bad\.txt\) failed 2 times; last error: Error: cannot parse bad\.txt/,
      (d) => {
        fs.writeFileSync(path.join(d, 'good.txt'), 'fine\n');
        fs.writeFileSync(path.join(d, 'bad.txt'), 'broken\n');
      },
    );
    expect(r.stderr).toMatch(/kubemr: logs: \S+\/logs \(kubemr logs /);
  });

  it('a map that throws UnrecoverableError: the job fails at the first attempt, not after --max-attempts, as the sequential run does', () => {
    const { dir } = expectFailure(
      [testApp('unrecoverable.ts'), 'good.txt', 'bad.txt', '--workers', '2', '--max-attempts', '4'],
      /map task 1 \(input bad\.txt\) failed with an unrecoverable error; last error: bad\.txt holds no records/,
      (d) => {
        fs.writeFileSync(path.join(d, 'good.txt'), 'fine\n');
        fs.writeFileSync(path.join(d, 'bad.txt'), 'broken\n');
      },
    );
    const jobs = fs.readdirSync(path.join(dir, 'data', 'jobs'));
    expect(jobs).toHaveLength(1);
    const logs = fs.readdirSync(path.join(dir, 'data', 'jobs', jobs[0]!, 'logs'));
    // One attempt of the refused task, none retried.
    expect(logs.filter((f) => f.startsWith('map-1-'))).toEqual(['map-1-1.log']);
    const seq = kubemr(['run', testApp('unrecoverable.ts'), 'good.txt', 'bad.txt', '--sequential', '--out', 'seq', '-q'], { cwd: dir, timeoutMs: 60_000 });
    expect(seq.code).toBe(1);
    expect(seq.stderr).toMatch(/^kubemr: bad\.txt holds no records$/m);
  });

  it('workers that die on start: the job fails instead of waiting forever', () => {
    const { r } = expectFailure(
      [testApp('crash-on-start.ts'), 'in.txt', '--workers', '2', '--worker-restarts', '1'],
      /no worker could be kept running: each worker failed 2 times; the last: exit code 3/,
      (d) => fs.writeFileSync(path.join(d, 'in.txt'), 'x\n'),
    );
    expect(r.code).toBe(1);
  });

  it('no app and no inputs', () => {
    expectFailure([], /Expected an app/);
  });
});
