/**
 * A worker whose coordinator is away: by the MIT lab's convention it exits 0 after --give-up-ms
 * (the job is over); told `never` — as worker pods are, through KUBEMR_GIVE_UP_MS — it keeps
 * asking and does the job's work once a coordinator is back. Real worker processes from dist/, a
 * real gRPC coordinator; the output is compared with the sequential run.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { assertBuilt, sequentialOutput, sortedOutput, startKubemr, tempDir, type Proc } from './support/cli.js';
import { waitFor } from './support/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

it('a worker told never to give up waits out an absent coordinator and then does the job; the lab\'s default gives up', async () => {
  assertBuilt();
  const dir = tempDir('worker-retry');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `in-${i}.txt`), `the cat ${i} sat on the mat ${i}\nthe end\n`);
  const address = `127.0.0.1:${await freePort()}`;
  const jobId = `retry-${process.pid}`;
  const track = (p: Proc) => {
    cleanups.push(() => {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });
    return p;
  };
  const quitter = track(startKubemr(['worker', 'wordcount', '--coordinator', address, '--give-up-ms', '500'], { cwd: dir }));
  const stayer = track(startKubemr(['worker', 'wordcount', '--coordinator', address, '--job', jobId], { cwd: dir, env: { KUBEMR_GIVE_UP_MS: 'never' } }));
  let stayerDone = false;
  void stayer.exited.then(() => (stayerDone = true));

  expect((await quitter.exited).code).toBe(0);
  // Well past the quitter's 500 ms, the other is still asking.
  await new Promise((r) => setTimeout(r, 2000));
  expect(stayerDone, stayer.stderr()).toBe(false);

  const coordinator = new Coordinator({ dataDir: path.join(dir, 'data'), tickMs: 50 });
  const { server } = await startCoordinatorServer(coordinator, address);
  coordinator.advertise = address;
  await coordinator.start();
  cleanups.push(async () => {
    await stopServer(server, 2000);
    await coordinator.close();
  });
  const inputs = ['in-0.txt', 'in-1.txt', 'in-2.txt'].map((f) => path.join(dir, f));
  await coordinator.submit({ app: 'wordcount', inputs, reducers: 2, outputDir: path.join(dir, 'out') }, jobId);
  const job = await coordinator.waitFor(jobId);
  expect(job.phase, job.message).toBe('succeeded');
  // Told EXIT once the job is done.
  expect(await waitFor('the worker to exit', async () => (stayerDone ? (await stayer.exited).code : undefined), 30_000)).toBe(0);
  expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, 'wordcount', inputs));
});

it('refuses a --give-up-ms that is neither a number nor never, naming the flag', async () => {
  assertBuilt();
  const dir = tempDir('worker-retry-flag');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = await startKubemr(['worker', 'wordcount', '--give-up-ms', 'forever'], { cwd: dir }).exited;
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('Expected `--give-up-ms` to be an integer >= 0 or never, got `forever`');
});
