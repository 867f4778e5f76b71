/**
 * The images, checked without a container runtime: every Dockerfile runs as a numeric non-root
 * user, and the app image example (examples/docker/Dockerfile.ts-app) works as its Dockerfile
 * lays it out. That layout is rebuilt in a temporary directory — the kubemr package at `app/`,
 * the link the base Dockerfile makes (read from the Dockerfile itself), the example app at
 * `app/user/my-app` with its dependencies installed by `npm ci --omit=dev` from its own lockfile —
 * and the app runs there with real workers, compared with the sequential run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BOOKS, ROOT, sortedOutput, tempDir } from './support/cli.js';

const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
const instructions = (text: string): string[] =>
  text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

const DOCKERFILES = ['Dockerfile', 'examples/docker/Dockerfile.ts-app', 'examples/docker/Dockerfile.python-streaming'];

describe('images', () => {
  it.each(DOCKERFILES)('%s ends as a numeric non-root USER (so the kubelet can check runAsNonRoot)', (f) => {
    const users = instructions(read(f)).filter((l) => /^USER\s/i.test(l));
    expect(users.length, f).toBeGreaterThan(0);
    expect(users.at(-1), f).toMatch(/^USER\s+[1-9]\d*(:\d+)?$/);
  });

  it('the app image example installs the app\'s own dependencies from its lockfile, kubemr coming from the base image', () => {
    const steps = instructions(read('examples/docker/Dockerfile.ts-app'));
    expect(steps[0]).toBe('FROM kubemr:dev');
    const copyLock = steps.findIndex((l) => /^COPY\s+my-app\/package\.json\s+my-app\/package-lock\.json\s/.test(l));
    const ci = steps.findIndex((l) => /^RUN\s.*\bnpm ci --omit=dev\b/.test(l));
    const copyApp = steps.findIndex((l) => /^COPY\s+my-app\/\s/.test(l));
    expect(copyLock).toBeGreaterThan(0);
    expect(ci).toBeGreaterThan(copyLock);
    expect(copyApp).toBeGreaterThan(ci);
    const pkg = JSON.parse(read('examples/docker/my-app/package.json'));
    expect(Object.keys(pkg.dependencies)).toContain('stemmer');
    // kubemr is provided by the image: a peer, optional so that `npm ci` does not fetch it.
    expect(pkg.peerDependencies).toHaveProperty('kubemr');
    expect(pkg.peerDependenciesMeta).toEqual({ kubemr: { optional: true } });
    const lock = JSON.parse(read('examples/docker/my-app/package-lock.json'));
    expect(lock.packages['']).toMatchObject({ dependencies: pkg.dependencies, peerDependencies: pkg.peerDependencies });
    expect(Object.keys(lock.packages)).not.toContain('node_modules/kubemr');
  });
});

describe('the app image example, laid out as its Dockerfile does', () => {
  let dir: string;
  beforeAll(() => assertBuilt());
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the app with its npm dependency through real workers; the output equals the sequential run', () => {
    dir = tempDir('app-image');
    // The base image: the kubemr package at app/ ...
    const app = path.join(dir, 'app');
    fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
    for (const f of ['package.json', 'dist', 'proto', 'bin']) fs.symlinkSync(path.join(ROOT, f), path.join(app, f));
    // ... and the link its Dockerfile makes, exactly as written there.
    const link = instructions(read('Dockerfile')).find((l) => l.includes('node_modules/kubemr'));
    expect(link, 'the Dockerfile links node_modules/kubemr to the package').toBeDefined();
    const [target, name] = (JSON.parse(link!.replace(/^RUN\s+/, '')) as string[]).slice(-2);
    fs.symlinkSync(target!, path.join(app, name!));

    // The app image: the example's files, then `npm ci --omit=dev` from its own lockfile.
    const myApp = path.join(app, 'user', 'my-app');
    fs.cpSync(path.join(ROOT, 'examples', 'docker', 'my-app'), myApp, { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: myApp, encoding: 'utf8', timeout: 300_000 });
    expect(ci.status, `npm ci --omit=dev in the example app (needs the npm registry or its cache): ${ci.stderr}`).toBe(0);
    expect(fs.readdirSync(path.join(myApp, 'node_modules')).filter((f) => !f.startsWith('.'))).toEqual(['stemmer']);

    // The worker command the coordinator gives, from the image's working directory.
    const cli = path.join(app, 'dist', 'cmd', 'kubemr', 'main.js');
    const entry = path.join(myApp, 'index.ts');
    // The books, and a line of our own with the words the check below looks for (the stand-in
    // corpus used when the lab's books are absent has no English in it).
    const words = path.join(dir, 'words.txt');
    fs.writeFileSync(words, 'She keeps running; he runs.\n');
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'run', entry, ...BOOKS, words, '-q', ...args], { cwd: app, encoding: 'utf8', timeout: 300_000 });
    const job = run('--workers', '2', '--reducers', '3', '--out', path.join(dir, 'out'), '--data', path.join(dir, 'data'));
    expect(job.stderr).toBe('');
    expect(job.status).toBe(0);
    const seq = run('--sequential', '--out', path.join(dir, 'seq'));
    expect(seq.status, seq.stderr).toBe(0);
    const out = sortedOutput(path.join(dir, 'out'));
    expect(out).toBe(sortedOutput(path.join(dir, 'seq')));
    // Stems, not words: the dependency did its work ("running" and "runs" both count as "run").
    expect(out).toMatch(/^run \d+$/m);
    expect(out).not.toMatch(/^running \d+$/m);
  }, 600_000);
});
