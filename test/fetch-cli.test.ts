import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// The real entry point, as the fetch Job runs it; built by `npx tsc -p tsconfig.json` (npm test does).
const MAIN = fileURLToPath(new URL('../dist/cmd/fetch/main.js', import.meta.url));
const BODY = 'the quick brown fox\n'.repeat(2000);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let server: http.Server;
let base: string;
let tmp: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: tmp,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const run = (args: string[], env?: Record<string, string>) => start(args, env).done;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first with \`npx tsc -p tsconfig.json\``);
});

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kubemr-fetch-cli-'));
  server = http.createServer((req, res) => {
    if (req.url === '/a.txt') res.writeHead(200, { 'content-length': Buffer.byteLength(BODY) }).end(BODY);
    else if (req.url === '/stall.txt') {
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.write('a beginning');
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(tmp, { recursive: true, force: true });
});

describe('node dist/cmd/fetch/main.js', () => {
  it('fetches a manifest into $KUBEMR_DATA, prints the directory, and skips on a rerun', async () => {
    const manifest = path.join(tmp, 'small.json');
    await writeFile(manifest, JSON.stringify({ files: [{ url: `${base}/a.txt`, sha256: sha(BODY) }] }));
    const data = path.join(tmp, 'data');
    const first = await run(['--manifest', manifest], { KUBEMR_DATA: data });
    expect(first.stderr).toContain('fetched small: 1 files');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(path.join(data, 'inputs', 'small') + '\n');
    expect(await readFile(path.join(data, 'inputs', 'small', 'a.txt'), 'utf8')).toBe(BODY);

    const second = await run(['--data', data, '--manifest', manifest]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('(1 skipped)');
  });

  it('exits 1 naming the file and URL on a 404, leaving nothing behind', async () => {
    const data = path.join(tmp, 'data');
    const r = await run(['--data', data, '--dataset', 'web', `${base}/a.txt`, `${base}/missing.txt`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`fetch: fetch of dataset \`web\` failed for 1 of 2 files:`);
    expect(r.stderr).toContain(`missing.txt: ${base}/missing.txt answered HTTP 404`);
    expect(await readdir(path.join(data, 'inputs', 'web'))).toEqual(['a.txt']);
  });

  it('exits 2 on a bad flag value, naming it', async () => {
    const r = await run(['--data', tmp, '--retries', '-3', 'gutenberg']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('fetch: Expected `--retries` to be an integer >= 0, got `-3`\n');
  });

  it('exits 130 on SIGTERM mid-download and removes the temp file', async () => {
    const data = path.join(tmp, 'data');
    const { child, done } = start(['--data', data, '--dataset', 'slow', `${base}/stall.txt`]);
    const dir = path.join(data, 'inputs', 'slow');
    // Wait until the transfer has started writing its temp file.
    for (let i = 0; i < 200 && (await readdir(dir).catch(() => [])).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await readdir(dir))[0]).toMatch(/^\.tmp-fetch-[0-9a-f]{8}-stall\.txt$/);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('aborted');
    expect(await readdir(dir)).toEqual([]);
  });
});
