/**
 * `kubemr upload` and `kubemr download` against a real dashboard process in front of a real
 * coordinator service whose local workers run the job: a directory of the user's own files goes
 * onto the volume, a job reads it there, its results come back and equal the sequential run of
 * the local copy. Traversal, symlinks, the token and the size limit are refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BOOKS, kubemr, ROOT, sequentialOutput, sortedOutput, tempDir } from './support/cli.js';
import { waitFor } from './support/wait.js';

beforeAll(() => assertBuilt());

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts a node main from dist/ and resolves with the first match of `ready` in its stderr. */
async function startMain(cwd: string, main: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', main), ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return waitFor(`${main} to start`, () => {
    if (child.exitCode !== null) throw new Error(`${main} exited (${child.exitCode}): ${stderr}`);
    return ready.exec(stderr)?.[1];
  }, 60_000);
}

interface Setup {
  dir: string;
  data: string;
  token: string;
  url: string;
}

async function setup(uploadLimit?: string): Promise<Setup> {
  const dir = tempDir('files');
  const data = path.join(dir, 'data');
  const token = 'files-test-token-0123456789';
  const env = { KUBEMR_TOKEN: token };
  const address = await startMain(dir, 'cmd/coordinator/main.js', ['--executor', 'local', '--listen', '127.0.0.1:0', '--data', data, '--drain-ms', '0'], /listening on (\S+)/, env);
  const url = await startMain(dir, 'cmd/dashboard/main.js', ['--coordinator', address, '--listen', '127.0.0.1:0', '--data', data, ...(uploadLimit ? ['--upload-limit', uploadLimit] : [])], /dashboard on (http:\/\/[^/\s]+)/, env);
  return { dir, data, token, url };
}

/** A request sent exactly as written (fetch would normalise `..` away). */
function raw(url: string, method: string, rawPath: string, token: string | undefined, body?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every file under `dir`, relative, sorted: what is on disk, hidden or not. */
function tree(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
}

describe('kubemr upload / download through the dashboard', () => {
  it('uploads a directory, a job reads it on the volume, its results download and equal the sequential run', async () => {
    const s = await setup();
    // The user's own data: two books, one in a subdirectory, small files, a hidden file.
    const mine = path.join(s.dir, 'mine');
    fs.mkdirSync(path.join(mine, 'more'), { recursive: true });
    fs.copyFileSync(BOOKS[0]!, path.join(mine, 'book-a.txt'));
    fs.copyFileSync(BOOKS[1]!, path.join(mine, 'more', 'book-b.txt'));
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(mine, 'more', `note-${i}.txt`), `quokkaupload ${i} of the test\n`);
    fs.writeFileSync(path.join(mine, '.DS_Store'), 'not data');
    const flags = ['--dashboard', s.url, '--token', s.token];

    const up = kubemr(['upload', mine, 'inputs/mine', ...flags], { cwd: s.dir });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/uploaded 32 files .* to inputs\/mine\//);
    const onVolume = path.join(s.data, 'inputs', 'mine');
    expect(tree(onVolume)).toEqual(tree(mine).filter((f) => f !== '.DS_Store'));
    expect(fs.readFileSync(path.join(onVolume, 'more', 'book-b.txt')).equals(fs.readFileSync(BOOKS[1]!))).toBe(true);

    // The job names the uploaded directory as the volume sees it (the dashboard's work dir is the volume).
    const res = await fetch(`${s.url}/api/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ app: 'wordcount', inputs: ['inputs/mine'], reducers: 3, workers: 2 }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const id = ((await res.json()) as { job: { id: string } }).job.id;
    const job = await waitFor(
      `job ${id} to finish`,
      async () => {
        const j = ((await (await fetch(`${s.url}/api/jobs/${id}`)).json()) as { job: { finished: boolean; phase: string; message?: string } }).job;
        return j.finished && j;
      },
      120_000,
    );
    expect(job.phase, job.message).toBe('succeeded');

    const got = path.join(s.dir, 'got');
    const down = kubemr(['download', `jobs/${id}/output`, got, ...flags], { cwd: s.dir });
    expect(down.code, down.stderr).toBe(0);
    expect(tree(got)).toEqual(['_SUCCESS', 'mr-out-0', 'mr-out-1', 'mr-out-2']);
    const result = sortedOutput(got);
    expect(result).toMatch(/^quokkaupload 30$/m);
    expect(result).toBe(sequentialOutput(s.dir, 'wordcount', ['mine']));

    // One file, to a directory of its own.
    const one = kubemr(['download', 'inputs/mine/book-a.txt', path.join(s.dir, 'one'), ...flags], { cwd: s.dir });
    expect(one.code, one.stderr).toBe(0);
    expect(fs.readFileSync(path.join(s.dir, 'one', 'book-a.txt')).equals(fs.readFileSync(BOOKS[0]!))).toBe(true);
  }, 300_000);

  it('refuses traversal, symlinks out of the volume, the volume\'s secrets, writes outside inputs/ and requests without the token', async () => {
    const s = await setup();
    const outside = path.join(s.dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside the volume');
    fs.mkdirSync(path.join(s.data, 'inputs'), { recursive: true });
    fs.symlinkSync(outside, path.join(s.data, 'inputs', 'link'));
    fs.writeFileSync(path.join(s.data, 'inputs', 'ok.txt'), 'inside');
    // A local-mode token file on the volume: never served, never overwritten.
    const tokenFile = 'volume-token-secret-42\n';
    fs.writeFileSync(path.join(s.data, 'token'), tokenFile);
    // A hard link planted under inputs/ is the token file by another name.
    fs.linkSync(path.join(s.data, 'token'), path.join(s.data, 'inputs', 'planted.txt'));
    const t = s.token;

    for (const p of ['/api/files/inputs/../token', '/api/files/inputs/%2e%2e/token', '/api/files/..%2f..%2fetc%2fpasswd', '/api/files/inputs/.hidden', '/api/files/%2fetc/passwd']) {
      const r = await raw(s.url, 'GET', p, t);
      expect(r.status, p).toBe(400);
      expect(r.body).toMatch(/plain file name/);
    }
    for (const p of ['/api/files/inputs/link/secret.txt', '/api/files/inputs/link', '/api/files/token', '/api/files/coordinator.lock', '/api/files/inputs/planted.txt']) {
      const r = await raw(s.url, 'GET', p, t);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('outside the volume');
      expect(r.body).not.toContain(tokenFile.trim());
    }
    expect((await raw(s.url, 'GET', '/api/files/inputs/ok.txt', t)).body).toBe('inside');
    // The volume's root lists neither the token nor the lock.
    const root = JSON.parse((await raw(s.url, 'GET', '/api/files/', t)).body) as { files: Array<{ path: string }> };
    expect(root.files.map((f) => f.path)).toContain('inputs/ok.txt');
    expect(root.files.map((f) => f.path).filter((p) => p === 'token' || p === 'coordinator.lock' || p.startsWith('inputs/link') || p === 'inputs/planted.txt')).toEqual([]);

    // Writes: only under inputs/, never through `..` or a symlink.
    for (const [p, status] of [
      ['/api/files/inputs/../jobs/x.txt', 400],
      ['/api/files/inputs/..%2f..%2fx.txt', 400],
      ['/api/files/jobs/x.txt', 400],
      ['/api/files/token', 404],
      ['/api/files/inputs/link/new.txt', 400],
      ['/api/files/inputs', 400],
    ] as const) {
      const r = await raw(s.url, 'PUT', p, t, 'payload');
      expect(r.status, `${p}: ${r.body}`).toBe(status);
    }
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.existsSync(path.join(s.data, 'jobs', 'x.txt'))).toBe(false);
    expect(fs.existsSync(path.join(s.dir, 'x.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(s.data, 'token'), 'utf8')).toBe(tokenFile);

    // The token, read or write.
    expect((await raw(s.url, 'GET', '/api/files/inputs/ok.txt', undefined)).status).toBe(401);
    expect((await raw(s.url, 'PUT', '/api/files/inputs/new.txt', 'wrong', 'x')).status).toBe(401);
    expect(fs.existsSync(path.join(s.data, 'inputs', 'new.txt'))).toBe(false);
    const noToken = kubemr(['download', 'inputs/ok.txt', path.join(s.dir, 'dl'), '--dashboard', s.url, '--token', 'wrong'], { cwd: s.dir });
    // Refused by the dashboard: the command failed (1), not a usage error.
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/bearer token is not valid.*HTTP 401/);

    // The CLI refuses the same paths before sending anything.
    for (const args of [['download', 'inputs/../token', 'dl'], ['upload', path.join(s.dir, 'outside'), 'inputs/../jobs'], ['upload', path.join(s.dir, 'outside'), 'jobs/x']]) {
      const r = kubemr([...args, '--dashboard', s.url, '--token', t], { cwd: s.dir });
      // Usage errors, found before any request.
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/is not allowed|under inputs\//);
    }
    expect(fs.existsSync(path.join(s.dir, 'dl'))).toBe(false);
  }, 120_000);

  it('an upload over the dashboard\'s --upload-limit is refused and leaves nothing behind', async () => {
    const s = await setup('64K');
    const big = path.join(s.dir, 'big.txt');
    fs.writeFileSync(big, 'x'.repeat(100 * 1024));
    const small = path.join(s.dir, 'small.txt');
    fs.writeFileSync(small, 'fits\n');
    const r = kubemr(['upload', big, 'inputs/sized', '--dashboard', s.url, '--token', s.token], { cwd: s.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/larger than the limit of 65536 bytes.*HTTP 413/);
    // Without a declared length too (a chunked body), cut off at the limit.
    const chunked = await new Promise<number>((resolve, reject) => {
      const u = new URL(s.url);
      const req = http.request({ host: u.hostname, port: u.port, path: '/api/files/inputs/sized/chunked.txt', method: 'PUT', headers: { Authorization: `Bearer ${s.token}`, 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('y'.repeat(8 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(tree(path.join(s.data, 'inputs'))).toEqual([]);
    const ok = kubemr(['upload', small, 'inputs/sized', '--dashboard', s.url, '--token', s.token], { cwd: s.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(tree(path.join(s.data, 'inputs'))).toEqual(['sized/small.txt']);
  }, 120_000);
});
