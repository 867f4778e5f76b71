import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../coordinator/coordinator.js';
import { JOB_DEFAULTS } from '../coordinator/jobspec.js';
import { KubemrClient } from './client.js';
import { startCoordinatorServer, stopServer, type CoordinatorServer } from './server.js';

let dir: string;
let coord: Coordinator;
let server: CoordinatorServer;
let client: KubemrClient;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-submit-'));
  fs.writeFileSync(path.join(dir, 'in.txt'), 'a b\n');
  coord = new Coordinator({ dataDir: path.join(dir, 'data'), recover: false });
  await coord.start();
  server = await startCoordinatorServer(coord, '127.0.0.1:0');
  client = new KubemrClient({ address: server.address, deadlineMs: 20_000 });
});

afterEach(async () => {
  client.close();
  await stopServer(server, 500);
  await coord.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SubmitJob carries the whole spec', () => {
  it('max_lost_attempts round-trips: submitted, scheduled with it, and reported back by GetJob', async () => {
    const jobId = await client.submitJob({ app: 'wordcount', inputs: ['in.txt'], workDir: dir, maxLostAttempts: 3, maxAttempts: 2 });
    expect(coord.getJob(jobId).spec.maxLostAttempts).toBe(3);
    const status = await client.getJob(jobId);
    expect(status.spec?.maxLostAttempts).toBe(3);
    expect(status.spec?.maxAttempts).toBe(2);
  });

  it('an unset max_lost_attempts gets the default', async () => {
    const jobId = await client.submitJob({ app: 'wordcount', inputs: ['in.txt'], workDir: dir });
    expect((await client.getJob(jobId)).spec?.maxLostAttempts).toBe(JOB_DEFAULTS.maxLostAttempts);
  });

  it('a bad max_lost_attempts is refused naming the field', async () => {
    await expect(client.submitJob({ app: 'wordcount', inputs: ['in.txt'], workDir: dir, maxLostAttempts: 5000 })).rejects.toThrow(
      'Expected `maxLostAttempts` to be an integer between 1 and 1000, got `5000`',
    );
  });

  it('packing is on unless no_pack says otherwise, and GetJob reports which', async () => {
    const on = await client.submitJob({ app: 'wordcount', inputs: ['in.txt'], workDir: dir });
    expect(coord.getJob(on).spec.packSmallFiles).toBe(true);
    expect((await client.getJob(on)).spec).toMatchObject({ packSmallFiles: true, noPack: false });
    const off = await client.submitJob({ app: 'wordcount', inputs: ['in.txt'], workDir: dir, noPack: true });
    expect(coord.getJob(off).spec.packSmallFiles).toBe(false);
    expect((await client.getJob(off)).spec).toMatchObject({ packSmallFiles: false, noPack: true });
  });
});
