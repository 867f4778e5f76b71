/**
 * A real coordinator (gRPC on 127.0.0.1:0) with a LocalExecutor running worker processes from
 * dist/, and the dashboard in front of it — everything a dashboard test talks to, in its own
 * temp directory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '../../lib/coordinator/coordinator.js';
import { LocalExecutor } from '../../lib/executor/local.js';
import { startCoordinatorServer, stopServer } from '../../lib/protocol/server.js';
import { startDashboard, type Dashboard, type DashboardOptions } from '../../cmd/dashboard/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export { CORPUS_DIR as CORPUS } from './corpus.js';
import { BOOKS, CORPUS_DIR as CORPUS } from './corpus.js';
export const WORKER_MAIN = path.join(REPO, 'dist', 'cmd', 'kubemr', 'main.js');

/** The test corpus (the lab's books, or their generated stand-in: see corpus.ts). */
export function corpusFiles(): string[] {
  if (BOOKS.length === 0) throw new Error(`The test corpus is missing: expected text files in ${CORPUS}`);
  return [...BOOKS];
}

export function requireBuild(): void {
  if (!fs.existsSync(WORKER_MAIN)) throw new Error(`Workers run from dist/: ${WORKER_MAIN} is missing; run \`npm run build\` first`);
}

export const uniqueJobId = (tag: string): string => `${tag}-${Date.now().toString(36)}-${crypto.randomBytes(2).toString('hex')}`;

export interface Harness {
  dir: string;
  dataDir: string;
  token: string | undefined;
  coord: Coordinator;
  executor: LocalExecutor;
  grpcAddress: string;
  dashboard: Dashboard;
  /** http://127.0.0.1:<port> */
  origin: string;
  close(): Promise<void>;
}

export async function startHarness(options: { token?: boolean; dashboard?: Partial<DashboardOptions> } = {}): Promise<Harness> {
  requireBuild();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kubemr-dash-'));
  const dataDir = path.join(dir, 'data');
  const token = options.token === false ? undefined : crypto.randomBytes(16).toString('hex');
  // Workers log at info, so each worker's own log says which tasks it ran.
  const executor = new LocalExecutor({ command: [process.execPath, WORKER_MAIN], killGraceMs: 500, env: { KUBEMR_LOG_LEVEL: 'info' } });
  const coord = new Coordinator({ dataDir, executor, recover: false, token, workerGraceMs: 500, tickMs: 100 });
  await coord.start();
  // The dashboard's tests submit the test apps and streaming jobs too: this coordinator allows them.
  const policy = { streaming: true, appDirs: [path.join(REPO, 'test', 'apps')] };
  const { server, address } = await startCoordinatorServer(coord, '127.0.0.1:0', { token, policy });
  coord.advertise = address;
  const dashboard = await startDashboard({ coordinator: address, token, dataDir, executor, host: '127.0.0.1', port: 0, workDir: dir, ...options.dashboard });
  return {
    dir,
    dataDir,
    token,
    coord,
    executor,
    grpcAddress: address,
    dashboard,
    origin: dashboard.origin,
    async close() {
      await dashboard.close();
      await executor.close();
      await stopServer(server, 200);
      await coord.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a server-sent event stream until `until` says stop; returns every event seen. */
export async function readEvents(url: string, until: (e: { event: string; data: any }) => boolean, timeoutMs = 30_000): Promise<Array<{ event: string; data: any }>> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const seen: Array<{ event: string; data: any }> = [];
  try {
    const res = await fetch(url, { signal: ac.signal, headers: { Accept: 'text/event-stream' } });
    if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const e = { event, data: JSON.parse(data) };
        seen.push(e);
        if (until(e)) return seen;
      }
    }
    return seen;
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`No matching event from ${url} within ${timeoutMs} ms; saw ${seen.map((e) => e.event).join(', ')}`);
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
