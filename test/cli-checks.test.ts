/**
 * Every check before work starts, and what a finished run tells the user: the real CLI as a
 * separate process. A usage error (a bad flag, path or app) exits 2 naming the flag, the path or
 * the value, with no stack trace, before any worker starts; a job that fails exits 1; nothing hangs.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, kubemr, ROOT, startKubemr, outputFiles, sequentialOutput, sortedOutput, tempDir, testApp, type Exited } from './support/cli.js';
import { waitFor } from './support/wait.js';

beforeAll(() => assertBuilt());

/**
 * Runs the CLI as a user without root's power to write anywhere: this user when it is not root,
 * else nobody (uid 65534) through setpriv; undefined when neither is possible.
 */
const asUser: ((args: string[], cwd: string) => Exited) | undefined = (() => {
  const root = process.getuid?.() === 0;
  if (root && !fs.existsSync('/usr/bin/setpriv')) return undefined;
  return (args: string[], cwd: string): Exited => {
    const argv = [process.execPath, CLI, ...args];
    const [cmd, ...rest] = root ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv] : argv;
    const r = spawnSync(cmd!, rest, { cwd, env: { ...process.env, HOME: cwd }, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
})();

/** The CLI run without blocking this process (which serves what the CLI talks to). */
function kubemrAsync(args: string[], cwd: string): Promise<Exited> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** No uncaught error: no stack frames, no Node's own crash banner. */
function expectNoStack(r: Exited): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/Node\.js v\d+/);
}

/** The data directory holds no job: nothing was started for a command refused up front. */
function jobsIn(data: string): string[] {
  const dir = path.join(data, 'jobs');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

function input(dir: string): string {
  fs.writeFileSync(path.join(dir, 'in.txt'), 'the quick brown fox\njumps over the lazy dog the end\n');
  return 'in.txt';
}

describe('kubemr run: directories that cannot be written are found before any work', () => {
  it.runIf(fs.existsSync('/proc/self'))('--out /proc/nope exits 2 at once naming the flag and the path (it used to spin at 100% CPU, deaf to SIGTERM)', () => {
    const dir = tempDir('checks-proc');
    const started = Date.now();
    const r = kubemr(['run', 'wordcount', input(dir), '--out', '/proc/nope', '--data', 'data', '--workers', '1'], { cwd: dir, timeoutMs: 60_000, killSignal: 'SIGKILL' });
    expect(r.signal, 'killed by the timeout: it hung').toBeNull();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe('kubemr: Cannot create the `--out` directory `/proc/nope`: `/proc` does not accept new directories\n');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
  });

  it.runIf(fs.existsSync('/proc/self'))('--sequential --out /proc/nope and --data /proc/nope exit 2 as well', () => {
    const dir = tempDir('checks-proc-seq');
    const seq = kubemr(['run', '--sequential', 'wordcount', input(dir), '--out', '/proc/nope/deeper'], { cwd: dir, timeoutMs: 60_000, killSignal: 'SIGKILL' });
    expect(seq.signal).toBeNull();
    expect(seq.code, seq.stderr).toBe(2);
    expect(seq.stderr).toMatch(/^kubemr: Cannot create the `--out` directory `\/proc\/nope\/deeper`: `\/proc` does not accept new directories\n$/);
    const data = kubemr(['run', 'wordcount', 'in.txt', '--data', '/proc/nope'], { cwd: dir, timeoutMs: 60_000, killSignal: 'SIGKILL' });
    expect(data.signal).toBeNull();
    expect(data.code, data.stderr).toBe(2);
    expect(data.stderr).toMatch(/^kubemr: Cannot create the `--data` directory `\/proc\/nope`/);
  });

  it.runIf(fs.existsSync('/proc/self'))('kubemr coordinator and kubemr fetch refuse /proc/nope as fast, naming the flag', () => {
    const dir = tempDir('checks-proc-others');
    const cases: Array<[string[], RegExp]> = [
      [['coordinator', input(dir), '--out', '/proc/nope', '--listen', '127.0.0.1:0', '--data', 'data'], /^kubemr: Cannot create the `--out` directory `\/proc\/nope`/],
      [['coordinator', 'in.txt', '--data', '/proc/nope', '--listen', '127.0.0.1:0'], /^kubemr: Cannot create the `--data` directory `\/proc\/nope`/],
      [['coordinator', 'in.txt', '--max-attempts', '5000', '--listen', '127.0.0.1:0', '--data', 'data'], /^kubemr: Expected `--max-attempts` to be an integer between 1 and 1000, got `5000`$/m],
      [['fetch', 'gutenberg', '--data', '/proc/nope'], /^kubemr: Cannot use the data directory `\/proc\/nope`: .*`\/proc` does not accept new directories$/m],
    ];
    for (const [args, message] of cases) {
      const r = kubemr(args, { cwd: dir, timeoutMs: 60_000, killSignal: 'SIGKILL' });
      expect(r.signal, `${args.join(' ')}: hung`).toBeNull();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('an --out under a regular file exits 2 before any worker starts, leaving no job and no directory', () => {
    const dir = tempDir('checks-file');
    fs.writeFileSync(path.join(dir, 'taken'), 'a file\n');
    const r = kubemr(['run', 'wordcount', input(dir), '--out', 'taken/out', '--data', 'data', '--workers', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`kubemr: Cannot create the \`--out\` directory \`${path.join(dir, 'taken', 'out')}\`: \`${path.join(dir, 'taken')}\` is a file, not a directory\n`);
    expectNoStack(r);
    expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'taken'), 'utf8')).toBe('a file\n');
  });

  it.runIf(asUser !== undefined)('an --out the user may not write in, or an input they may not read: exit 2 before the map phase, no stack trace', () => {
    const dir = tempDir('checks-perm');
    // The user (nobody, when the tests run as root) must be able to write the rest.
    fs.chmodSync(dir, 0o777);
    input(dir);
    fs.mkdirSync(path.join(dir, 'ro'), { mode: 0o555 });
    fs.chmodSync(path.join(dir, 'ro'), 0o555);
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'hidden words\n', { mode: 0o600 });
    const out = asUser!(['run', 'wordcount', 'in.txt', '--out', 'ro', '--data', path.join(dir, 'data'), '--workers', '1'], dir);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toBe(`kubemr: Cannot write in the \`--out\` directory \`${path.join(dir, 'ro')}\`: permission denied\n`);
    expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
    const unreadable = asUser!(['run', 'wordcount', 'in.txt', 'secret.txt', '--out', 'out', '--data', path.join(dir, 'data'), '--workers', '1'], dir);
    expect(unreadable.code, unreadable.stderr).toBe(2);
    expect(unreadable.stderr).toBe('kubemr: Input `secret.txt` is not readable\n');
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('an --out that does not exist yet is created; a refused run removes what it created', () => {
    const dir = tempDir('checks-create');
    const refused = kubemr(['run', testApp('no-register.ts'), input(dir), '--out', 'a/b/out', '--data', 'data', '--workers', '1'], { cwd: dir });
    expect(refused.code, refused.stderr).toBe(2);
    expect(fs.existsSync(path.join(dir, 'a'))).toBe(false);
    const r = kubemr(['run', 'wordcount', 'in.txt', '--out', 'a/b/out', '--data', 'data', '--workers', '1', '-r', '2'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(outputFiles(path.join(dir, 'a', 'b', 'out'))).toEqual(['mr-out-0', 'mr-out-1']);
    // The probe file is gone.
    expect(fs.readdirSync(path.join(dir, 'a', 'b', 'out')).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('kubemr run: every flag checked before work starts, named as the user typed it', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['--memory below 1M', ['--memory', '1'], /^kubemr: .*Expected `--memory` to be at least 1M, got `1`$/m],
    ['--memory 512k', ['--memory', '512k'], /Expected `--memory` to be at least 1M, got `512k`/],
    ['--workers too many', ['--workers', '20000'], /^kubemr: Expected `--workers` to be an integer between 1 and 10000, got `20000`$/m],
    ['--reducers too many', ['--reducers', '200000'], /^kubemr: Expected `--reducers` to be an integer between 0 and 100000, got `200000`$/m],
    ['--max-attempts too many', ['--max-attempts', '5000'], /^kubemr: Expected `--max-attempts` to be an integer between 1 and 1000, got `5000`$/m],
    ['--lease-ms too short', ['--lease-ms', '5'], /Expected `--lease-ms` to be an integer >= 100, got `5`/],
    ['--split-size not a size', ['--split-size', 'big'], /Expected `--split-size` to be a size such as 64M or 1G, got `big`/],
    ['--max-line zero', ['--max-line', '0'], /Expected `--max-line` to be a size such as 64M or 1G, got `0`/],
    ['--param without =', ['--param', 'novalue'], /Expected `--param` as key=value, got `novalue`/],
    ['--param with a bad name', ['--param', '9x=1'], /parameter name .* got `9x`/],
    ['--output-format csv', ['--output-format', 'csv'], /Expected `--output-format` to be one of text, tsv, jsonl, got `csv`/],
    ['--dashboard not a port', ['--dashboard', 'abc'], /Expected `--dashboard` to be a port between 0 and 65535, got `abc`/],
    ['--dashboard beyond 65535', ['--dashboard', '99999'], /Expected `--dashboard` to be a port between 0 and 65535, got `99999`/],
    ['an unknown flag', ['--frobnicate'], /^kubemr: unknown option '--frobnicate'$/m],
  ];
  for (const [what, flags, message] of cases) {
    it(`${what}: exit 2, the message names the flag`, () => {
      const dir = tempDir('checks-flag');
      const r = kubemr(['run', 'wordcount', input(dir), '--data', 'data', '--out', 'out', ...flags], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/memoryBytes|maxAttempts|leaseMs|splitBytes|maxLineBytes|outputFormat/);
      expectNoStack(r);
      expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    });
  }
});

describe('kubemr run --dashboard on a port in use', () => {
  it('is refused before the job: exit 2 naming the flag and the port, no job, no output', async () => {
    const dir = tempDir('checks-port');
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await kubemrAsync(['run', 'wordcount', input(dir), '--data', 'data', '--out', 'out', '--workers', '1', '--dashboard', String(port)], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^kubemr: Cannot serve the dashboard on 127\\.0\\.0\\.1:${port} \\(\`--dashboard\`\\): .*EADDRINUSE`, 'm'));
      expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    } finally {
      taken.close();
    }
  });
});

describe('one exit code for usage errors (2), another for failed jobs (1), in every subcommand', () => {
  it('usage errors exit 2: a missing input, an app that does not exist, does not load or never registers', () => {
    const dir = tempDir('checks-usage');
    input(dir);
    fs.writeFileSync(path.join(dir, 'broken.mjs'), "throw new Error('broken at load');\n");
    const appEntry = pathToFileURL(path.join(ROOT, 'dist', 'lib', 'app', 'index.js')).href;
    fs.writeFileSync(path.join(dir, 'not-an-app.mjs'), `import { registerApp } from '${appEntry}';\nregisterApp({ reduce: () => '' });\n`);
    const cases: Array<[string[], RegExp]> = [
      [['wordcount', 'missing.txt'], /^kubemr: Input `missing\.txt` does not exist$/m],
      [['no-such-app', 'in.txt'], /^kubemr: App `no-such-app` is neither a bundled app/m],
      [['./broken.mjs', 'in.txt'], /^kubemr: App module `\.\/broken\.mjs` failed to load: broken at load$/m],
      [[testApp('no-register.ts'), 'in.txt'], /never called registerApp/],
      [['./not-an-app.mjs', 'in.txt'], /^kubemr: App module `\.\/not-an-app\.mjs` failed to load: registerApp expects an object with a map\(filename, contents\) function$/m],
      [['--sequential', './broken.mjs', 'in.txt'], /^kubemr: App module `\.\/broken\.mjs` failed to load: broken at load$/m],
      [[], /^kubemr: Expected an app/m],
    ];
    for (const [args, message] of cases) {
      const r = kubemr(['run', ...args, '--data', 'data', '--out', 'out', '--workers', '1'], { cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expectNoStack(r);
    }
    expect(jobsIn(path.join(dir, 'data'))).toEqual([]);
  });

  it('a job whose task fails exits 1 and says where its logs are', () => {
    const dir = tempDir('checks-fail');
    fs.writeFileSync(path.join(dir, 'bad.txt'), 'broken\n');
    const r = kubemr(['run', testApp('throws.ts'), 'bad.txt', '--data', 'data', '--out', 'out', '--workers', '1', '--max-attempts', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const [job] = jobsIn(path.join(dir, 'data'));
    expect(r.stderr).toContain(`kubemr: logs: ${path.join(dir, 'data', 'jobs', job!, 'logs')} (kubemr logs ${job} --data data)\n`);
  });

  it('an unknown flag exits 2 in every subcommand; no subcommand at all is a usage error too', () => {
    const dir = tempDir('checks-subcommands');
    for (const sub of ['run', 'coordinator', 'worker', 'submit', 'status', 'cancel', 'dashboard', 'fetch', 'logs', 'upload', 'download']) {
      const r = kubemr([sub, '--frobnicate'], { cwd: dir });
      expect(r.code, `${sub}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^kubemr: unknown option '--frobnicate'$/m);
    }
    expect(kubemr([], { cwd: dir }).code).toBe(2);
    expect(kubemr(['no-such-command'], { cwd: dir }).code).toBe(2);
  });

  it('kubemr --help documents the exit codes and exits 0', () => {
    const r = kubemr(['--help'], { cwd: tempDir('checks-help') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes \(every subcommand\):\n\s+0\s+done\n\s+1\s+the job failed.*\n\s+2\s+usage error/);
  });
});

describe('commands that reach out: a clear line, no stack trace', () => {
  let server: http.Server;
  let refused: string;
  beforeAll(async () => {
    // A port that was just listening and no longer is: connecting is refused, as with no network.
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    refused = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterAll(() => server.close());

  it('kubemr fetch with nothing to reach: one error line naming the URL, exit 1, no DatasetFetchError stack', () => {
    const dir = tempDir('checks-fetch');
    const url = `http://${refused}/book.txt`;
    const r = kubemr(['fetch', url, '--dataset', 'web', '--data', 'data', '--retries', '0'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('kubemr: '));
    expect(errors).toEqual([`kubemr: fetch of \`web\` failed: book.txt: cannot download ${url}: connection refused`]);
    expect(r.stderr).not.toContain('DatasetFetchError');
    expectNoStack(r);
  });

  it('kubemr fetch of several files from a host that cannot be reached says so once, naming the host', () => {
    const dir = tempDir('checks-fetch-many');
    const files = ['a', 'b', 'c'].map((n) => ({ url: `http://${refused}/${n}.txt` }));
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify({ dataset: 'many', files }));
    const r = kubemr(['fetch', '--manifest', 'm.json', '--data', 'data', '--retries', '0'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('kubemr: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^kubemr: fetch of \`many\` failed: .*cannot download http://${refused}/[abc]\\.txt: connection refused \\(3 of 3 files failed, all from ${refused}\\)$`));
    expectNoStack(r);
  });

  it('kubemr status against a web server that is not a coordinator says so, exit 1', async () => {
    const web = http2.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const addr = `127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const r = await kubemrAsync(['status', '--coordinator', addr, '--data', 'data'], tempDir('checks-web'));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(`kubemr: cannot reach coordinator at ${addr}: something else answers there (HTTP 404), not a kubemr coordinator\n`);
    } finally {
      web.close();
    }
  });

  it('kubemr status, cancel and submit without a coordinator: "cannot reach coordinator at ADDR", exit 1', () => {
    const dir = tempDir('checks-status');
    for (const args of [['status'], ['status', 'some-job'], ['cancel', 'some-job'], ['submit', 'wordcount', 'in.txt']]) {
      const r = kubemr([...args, '--coordinator', refused, '--data', 'data'], { cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toBe(`kubemr: cannot reach coordinator at ${refused}: connect ECONNREFUSED ${refused}\n`);
    }
  });
});

describe('where to look: attempt logs', () => {
  it("what map and reduce print goes to the attempt's log, not the worker's; the run says where; kubemr logs prints it", () => {
    const dir = tempDir('checks-logs');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'the quick brown fox\n');
    fs.writeFileSync(path.join(dir, 'b.txt'), 'the lazy dog and the fox\n');
    const app = testApp('printing.ts');
    const r = kubemr(['run', app, 'a.txt', 'b.txt', '--data', 'data', '--out', 'out', '--workers', '1', '--reducers', '1', '--no-pack'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, app, ['a.txt', 'b.txt']));
    const [job] = jobsIn(path.join(dir, 'data'));
    const logs = path.join(dir, 'data', 'jobs', job!, 'logs');
    expect(r.stderr).toContain(`logs: ${logs} (kubemr logs ${job} --data data)\n`);
    // Nothing printed reached the terminal or the worker's own log.
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('map read');
    const workerLogs = fs.readdirSync(logs).filter((f) => !/^(map|reduce)-\d+-\d+\.log$/.test(f));
    expect(workerLogs.length).toBeGreaterThan(0);
    for (const f of workerLogs) expect(fs.readFileSync(path.join(logs, f), 'utf8')).not.toMatch(/map read|map warns|no newline|reduce counted/);
    // Each attempt's log has its own task's lines, marked with their stream.
    const map0 = fs.readFileSync(path.join(logs, 'map-0-1.log'), 'utf8');
    expect(map0).toMatch(/^\S+ stdout: map read a\.txt$/m);
    expect(map0).toMatch(/^\S+ stderr: map warns about a\.txt$/m);
    expect(map0).toMatch(/^\S+ stdout: no newline after a\.txt$/m);
    expect(map0).not.toContain('b.txt');
    expect(fs.readFileSync(path.join(logs, 'map-1-1.log'), 'utf8')).toMatch(/stdout: map read b\.txt/);
    expect(fs.readFileSync(path.join(logs, 'reduce-0-1.log'), 'utf8')).toMatch(/^\S+ stdout: reduce counted 2 fox$/m);

    const all = kubemr(['logs', job!, '--data', 'data'], { cwd: dir });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^==> map-0 attempt 1 \\(${logs.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/map-0-1\\.log\\) <==$`, 'm'));
    expect(all.stdout.indexOf('==> map-0 ')).toBeLessThan(all.stdout.indexOf('==> map-1 '));
    expect(all.stdout.indexOf('==> map-1 ')).toBeLessThan(all.stdout.indexOf('==> reduce-0 '));
    expect(all.stdout).toContain('stdout: reduce counted 2 fox');
    const one = kubemr(['logs', job!, 'map-1', '--data', 'data'], { cwd: dir });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(fs.readFileSync(path.join(logs, 'map-1-1.log'), 'utf8'));
    // $KUBEMR_DATA finds it too, as it does for kubemr run.
    expect(kubemr(['logs', job!, 'reduce-0-1'], { cwd: dir, env: { KUBEMR_DATA: path.join(dir, 'data') } }).stdout).toContain('reduce counted 2 fox');
  });

  it("a streaming command's stderr goes to its attempt's log", () => {
    const dir = tempDir('checks-logs-streaming');
    fs.writeFileSync(path.join(dir, 'in.txt'), 'alpha beta\ngamma\n');
    const mapper = `awk '{ print "mapper saw " $1 > "/dev/stderr"; print $1 "\\t1" }'`;
    const r = kubemr(['run', '--mapper', mapper, '--reducer', 'cat', 'in.txt', '--data', 'data', '--out', 'out', '--workers', '1', '--reducers', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('mapper saw');
    const [job] = jobsIn(path.join(dir, 'data'));
    const log = kubemr(['logs', job!, 'map-0', '--data', 'data'], { cwd: dir });
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/^\S+ stderr: mapper saw alpha\n\S+ stderr: mapper saw gamma$/m);
  });

  it('kubemr logs --dashboard reads the same attempt logs through the dashboard API, as from a cluster', async () => {
    const dir = tempDir('checks-logs-dashboard');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'the quick brown fox\n');
    // The dashboard of kubemr run stays up after its job until Ctrl-C.
    const run = startKubemr(['run', testApp('printing.ts'), 'a.txt', '--data', 'data', '--out', 'out', '--workers', '1', '--reducers', '2', '--dashboard', '0'], { cwd: dir });
    try {
      const up = () => {
        if (run.child.exitCode !== null) throw new Error(`kubemr run exited: ${run.stderr()}`);
      };
      const url = new URL(await waitFor('the dashboard', () => (up(), /dashboard: (http:\/\/\S+)/.exec(run.stderr())?.[1]), 60_000)).origin;
      const job = await waitFor('the job to finish', () => (up(), /job (\S+) succeeded; the dashboard stays up/.exec(run.stderr())?.[1]), 60_000);
      const local = await kubemrAsync(['logs', job, '--data', 'data'], dir);
      const remote = await kubemrAsync(['logs', job, '--dashboard', url, '--data', 'data'], dir);
      expect(remote.code, remote.stderr).toBe(0);
      const body = (text: string) => text.replace(/^==> (\S+) attempt (\d+) \(.*\) <==$/gm, '==> $1 attempt $2 <==');
      expect(body(remote.stdout)).toBe(body(local.stdout));
      expect(remote.stdout).toContain(`==> map-0 attempt 1 (${url}/api/jobs/${job}/tasks/map-0/attempts/1/log) <==`);
      expect(remote.stdout).toMatch(/stdout: map read a\.txt/);
      const one = await kubemrAsync(['logs', job, 'map-0-1', '--dashboard', url, '--data', 'data'], dir);
      expect(one.stdout).toBe(fs.readFileSync(path.join(dir, 'data', 'jobs', job, 'logs', 'map-0-1.log'), 'utf8'));
      const missing = await kubemrAsync(['logs', job, 'reduce-7', '--dashboard', url, '--data', 'data'], dir);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe(`kubemr: Job \`${job}\` has no log of \`reduce-7\` (it has map-0, reduce-0, reduce-1)\n`);
    } finally {
      run.child.kill('SIGINT');
    }
    expect((await run.exited).code).toBe(0);
  });

  it('kubemr logs of a job, task or id that is not there: exit 2 naming it', () => {
    const dir = tempDir('checks-logs-bad');
    fs.mkdirSync(path.join(dir, 'data', 'jobs', 'some-job', 'logs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data', 'jobs', 'some-job', 'logs', 'map-0-1.log'), 'x\n');
    const cases: Array<[string[], string]> = [
      [['no-such-job'], `kubemr: No job \`no-such-job\` in data directory \`${path.join(dir, 'data')}\`\n`],
      [['../etc'], "kubemr: Expected `<job>` to be a job id (lowercase letters, digits and '-', at most 40 characters), got `../etc`\n"],
      [['some-job', 'reduce-9'], 'kubemr: Job `some-job` has no log of `reduce-9` (it has map-0)\n'],
      [['some-job', 'shuffle'], 'kubemr: Expected `[task]` to be a task such as map-3 or reduce-0, or an attempt such as map-3-2, got `shuffle`\n'],
    ];
    for (const [args, message] of cases) {
      const r = kubemr(['logs', ...args, '--data', 'data'], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(message);
    }
  });
});
