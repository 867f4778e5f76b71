/**
 * The package as users get it: `npm pack` this repository, install the tarball into fresh
 * projects — CommonJS (exactly what `npm init -y` makes) and ESM — and there run the CLI, the
 * README's app as the README writes it, a JavaScript app (and `kubemr logs` of its run), a usage
 * error's exit code, a streaming job and `run --dashboard`,
 * each compared with `kubemr run --sequential` of the same app, and type-check the TypeScript
 * apps against the installed declarations.
 *
 * The tarball's dependencies come from the registry through the npm cache that `npm ci` of this
 * repository filled (`--prefer-offline`), shared by the projects of one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT, sortedOutput, tempDir } from './support/cli.js';
import { waitFor } from './support/wait.js';

// npm hands its lifecycle scripts npm_config_* variables (the prefix among them); a child npm
// reading them would act on this repository instead of the temporary project.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD')) as NodeJS.ProcessEnv;
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Ran {
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Ran, what: string): Ran {
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const npx = (cwd: string, args: string[]) => sh('npx', ['kubemr', ...args], cwd);

/** The README's "Write an app" section: its TypeScript module and the shell lines that run it. */
function readmeApp(): { file: string; code: string; commands: string } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Write an app'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const commands = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code || !commands) throw new Error('README.md: no ```ts and ```sh blocks under "## Write an app"');
  const file = /^\/\/ (\S+\.ts)\s*$/m.exec(code)?.[1];
  if (!file) throw new Error('README.md: the app block does not open with its file name (// my-app.ts)');
  return { file, code, commands };
}

// Words only, so that every app below (a letters regex, a whitespace split, awk's fields)
// sees the same words: the text of this repository's docs, plus non-ASCII letters.
function writeBooks(dir: string): string[] {
  fs.mkdirSync(path.join(dir, 'books'));
  const sources = ['README.md', 'docs/kubernetes.md'].map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
  sources.push('Größe straße école naïve Ελληνικά русский\nZürich zürich Zürich\n'.repeat(50));
  return sources.map((text, i) => {
    const name = `books/book-${i}.txt`;
    fs.writeFileSync(path.join(dir, name), text.replace(/[^\p{L}\n]+/gu, ' '));
    return name;
  });
}

/** A plain JavaScript app, in the module system of its project. */
function jsApp(kind: 'commonjs' | 'module'): string {
  const imp = kind === 'commonjs' ? "const { registerApp, counter } = require('kubemr/app');" : "import { registerApp, counter } from 'kubemr/app';";
  return `${imp}

registerApp({
  map(file, text) {
    const words = text.split(/[ \\n]+/).filter((w) => w !== '');
    counter('words', words.length);
    return words.map((w) => ({ key: w, value: '1' }));
  },
  reduce: (key, values) => String(values.length),
});
`;
}

// Type-checked, never run: the light entry's types, and a mistake tsc must catch.
const TYPED_APP = `import { registerApp, type KeyValue } from 'kubemr/app';
import { startWorkerFromEnv } from 'kubemr/worker';

const pairs = (text: string): KeyValue[] => text.split(' ').map((w) => ({ key: w, value: '1' }));
registerApp({ map: (_file, text) => pairs(text), reduce: (_key, values) => String(values.length) });
export const start: () => Promise<void> = startWorkerFromEnv;
`;
const WRONG_APP = `import { registerApp } from 'kubemr/app';

registerApp({ map: (_file: string, text: string) => text.length });
`;

const tsconfig = (module: string, files: string[]) =>
  JSON.stringify({ compilerOptions: { module, strict: true, noEmit: true, skipLibCheck: false, types: [] }, files }, null, 2);

/** The sequential oracle's output, run through the installed CLI. */
function sequential(cwd: string, app: string, inputs: string[]): string {
  const out = `seq-${path.basename(app).replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 8)}`;
  ok(npx(cwd, ['run', '--sequential', '-q', app, ...inputs, '--out', out]), `sequential ${app}`);
  const got = sortedOutput(path.join(cwd, out));
  expect(got.split('\n').length).toBeGreaterThan(100);
  return got;
}

/** Each step runs real processes on a shared machine: generous. */
const T = 180_000;

const sortLines = (text: string) => text.split('\n').filter((l) => l !== '').sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((l) => `${l}\n`).join('');

let tarball = '';
let cache = '';
const dirs: string[] = [];

beforeAll(() => {
  assertBuilt();
  const packDir = tempDir('pack');
  dirs.push(packDir);
  const packed = ok(sh('npm', ['pack', '--json', '--pack-destination', packDir], ROOT), 'npm pack');
  tarball = path.join(packDir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
  cache = ok(sh('npm', ['config', 'get', 'cache'], ROOT), 'npm config get cache').stdout.trim();
}, 120_000);

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe.each(['commonjs', 'module'] as const)('the packed tarball in a fresh "type": "%s" project', (kind) => {
  let dir = '';
  let books: string[] = [];
  let jsOracle = '';

  beforeAll(() => {
    dir = tempDir(`pkg-${kind}`);
    dirs.push(dir);
    ok(sh('npm', ['init', '-y'], dir), 'npm init -y');
    if (kind === 'module') ok(sh('npm', ['pkg', 'set', 'type=module'], dir), 'npm pkg set type=module');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type).toBe(kind);
    ok(sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--cache', cache], dir, 240_000), 'npm install <tarball>');
    books = writeBooks(dir);
    fs.writeFileSync(path.join(dir, 'app.js'), jsApp(kind));
    jsOracle = sequential(dir, './app.js', books);
  }, 300_000);

  it('kubemr --help and every subcommand\'s --help', () => {
    const top = ok(npx(dir, ['--help']), 'kubemr --help').stdout;
    expect(top).toMatch(/Exit codes \(every subcommand\):/);
    const names = [...top.slice(top.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names).toEqual(expect.arrayContaining(['run', 'coordinator', 'worker', 'submit', 'status', 'cancel', 'dashboard', 'fetch', 'logs']));
    // The project's own bin, what npx runs, without npx's second of start-up per subcommand.
    const bin = path.join(dir, 'node_modules', '.bin', 'kubemr');
    for (const name of names) {
      expect(ok(sh(bin, [name, '--help'], dir), `kubemr ${name} --help`).stdout).toMatch(new RegExp(`^Usage: kubemr ${name} `));
    }
  }, T);

  it('the README\'s app, run as the README says, equals the sequential run', () => {
    const readme = readmeApp();
    fs.writeFileSync(path.join(dir, readme.file), readme.code);
    // The README's shell lines, with the project's own kubemr.
    const script = `set -e\n${readme.commands.replace(/^kubemr /gm, 'npx kubemr ')}`;
    const r = ok(sh('sh', ['-c', script], dir), 'the README commands');
    expect(r.stderr).toMatch(/succeeded/);
    expect(sortLines(r.stdout)).toBe(sequential(dir, `./${readme.file}`, books));
  }, T);

  it('a JavaScript app equals the sequential run; kubemr/worker loads as this project loads modules', () => {
    const r = ok(npx(dir, ['run', './app.js', ...books, '-w', '2', '-r', '3', '--out', 'js-out', '--data', 'data']), 'kubemr run ./app.js');
    expect(r.stderr).toMatch(/user\.words\s+\d+/);
    expect(sortedOutput(path.join(dir, 'js-out'))).toBe(jsOracle);
    // The run says where its logs are; the installed kubemr logs prints them.
    const job = /^logs: \S+ \(kubemr logs (\S+) --data data\)$/m.exec(r.stderr)?.[1];
    expect(job, r.stderr).toBeDefined();
    expect(ok(npx(dir, ['logs', job!, 'map-0', '--data', 'data']), 'kubemr logs').stdout).toMatch(/start map task 0 attempt 1 .*\n.*done in \d+ ms/);
    const probe =
      kind === 'commonjs'
        ? ['-e', "process.stdout.write(typeof require('kubemr/worker').startWorkerFromEnv + typeof require('kubemr').runSequential)"]
        : ['--input-type=module', '-e', "const w = await import('kubemr/worker'); const k = await import('kubemr'); process.stdout.write(typeof w.startWorkerFromEnv + typeof k.runSequential)"];
    expect(ok(sh(process.execPath, probe, dir), 'node loads kubemr/worker').stdout).toBe('functionfunction');
  }, T);

  it('a usage error exits 2 through npx with one line, before any work', () => {
    const missing = npx(dir, ['run', './app.js', 'books/missing.txt', '--out', 'never', '--data', 'data']);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toBe('kubemr: Input `books/missing.txt` does not exist\n');
    const flag = npx(dir, ['run', './app.js', ...books, '--memory', '1', '--out', 'never', '--data', 'data']);
    expect(flag.code, flag.stderr).toBe(2);
    expect(flag.stderr).toMatch(/Expected `--memory` to be at least 1M, got `1`/);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  }, T);

  it('a streaming job (awk mapper and reducer) equals the sequential run of the same count', () => {
    const mapper = `awk '{ for (i = 1; i <= NF; i++) print $i "\\t1" }'`;
    const reducer = `awk -F'\\t' '{ n[$1] += $2 } END { for (k in n) print k "\\t" n[k] }'`;
    ok(npx(dir, ['run', '--mapper', mapper, '--reducer', reducer, ...books, '-w', '2', '-r', '3', '--out', 'st-out', '--data', 'data', '-q']), 'streaming run');
    expect(sortLines(sortedOutput(path.join(dir, 'st-out')).replaceAll('\t', ' '))).toBe(jsOracle);
  }, T);

  it('run --dashboard serves the job\'s pages over loopback while kubemr run is up, and its output equals the sequential run', async () => {
    // The project's own bin (what npx runs), so that the Ctrl-C below reaches kubemr itself and
    // its exit status is kubemr's, not npm's.
    const child = spawn(path.join(dir, 'node_modules', '.bin', 'kubemr'), ['run', './app.js', ...books, '-w', '2', '-r', '3', '--out', 'dash-out', '--data', 'data', '--dashboard', '0'], {
      cwd: dir,
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const running = () => {
        if (child.exitCode !== null) throw new Error(`kubemr run --dashboard exited with ${child.exitCode}: ${stderr}`);
      };
      const url = new URL(await waitFor('the dashboard URL', () => (running(), /dashboard: (http:\/\/\S+)/.exec(stderr)?.[1]), 60_000));
      const jobId = await waitFor('the job to finish', () => (running(), /job (\S+) succeeded; the dashboard stays up/.exec(stderr)?.[1]), 60_000);
      expect(url.hostname).toBe('127.0.0.1');
      const page = await fetch(new URL(`/jobs/${jobId}`, url));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(jobId);
      const css = await fetch(new URL('/static/app.css', url));
      expect(css.status).toBe(200);
      const api = (await (await fetch(new URL(`/api/jobs/${jobId}`, url))).json()) as { job?: { phase?: string } };
      expect(api.job?.phase).toBe('succeeded');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
    expect(sortedOutput(path.join(dir, 'dash-out'))).toBe(jsOracle);
  }, T);

  it('tsc --noEmit accepts the TypeScript apps against the installed types, and catches a wrong one', () => {
    const readme = readmeApp();
    fs.writeFileSync(path.join(dir, readme.file), readme.code);
    fs.writeFileSync(path.join(dir, 'typed-app.ts'), TYPED_APP);
    fs.writeFileSync(path.join(dir, 'wrong-app.ts'), WRONG_APP);
    // A CommonJS project's TypeScript may be either Node mode; an ESM project's nodenext.
    for (const module of kind === 'commonjs' ? ['node16', 'nodenext'] : ['nodenext']) {
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig(module, [readme.file, 'typed-app.ts']));
      ok(sh(process.execPath, [TSC, '-p', '.'], dir), `tsc (module ${module})`);
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig(module, ['wrong-app.ts']));
      const wrong = sh(process.execPath, [TSC, '-p', '.'], dir);
      expect(wrong.code).not.toBe(0);
      // The app's own mistake, found through kubemr's declarations: not a module that failed to resolve.
      expect(wrong.stdout).toMatch(/wrong-app\.ts\(3,\d+\): error TS2322/);
      expect(wrong.stdout).not.toMatch(/TS2307|TS1479/);
    }
  }, T);
});
