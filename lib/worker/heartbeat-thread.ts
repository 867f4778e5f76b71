import { parentPort, workerData } from 'node:worker_threads';
import type { KubemrClient } from '../protocol/client.js';
import type { HeartbeatRequest } from '../protocol/gen/kubemr/v1/HeartbeatRequest.js';

/**
 * Heartbeats from a thread of their own: a user's map may hold the main thread for seconds,
 * and the lease must not depend on it. The main thread posts which attempt it runs; this
 * thread renews its lease and raises the shared `abandon` flag when the coordinator says so.
 *
 * The gRPC client is loaded a second before the first heartbeat of a task is due, not when the
 * thread starts: beats come every third of a lease, so a worker whose tasks are shorter than
 * that never pays for loading gRPC a second time, on a core its own map or another worker's
 * needs.
 */
export interface HeartbeatThreadData {
  address: string;
  token: string | undefined;
  /** TLS: the CA's PEM ('' for the system's roots); undefined for plaintext. */
  tlsCa: string | undefined;
  /** [0] abandon flag, [1] progress in millionths. */
  flags: Int32Array;
}

export type HeartbeatMessage = { type: 'start'; ref: HeartbeatRequest; intervalMs: number } | { type: 'stop' } | { type: 'close' };

const data = workerData as HeartbeatThreadData;
let client: Promise<KubemrClient> | undefined;
let closed = false;
let current: HeartbeatRequest | undefined;
let timer: NodeJS.Timeout | undefined;
let preload: NodeJS.Timeout | undefined;
/** How long before the first beat the client starts loading. */
const LOAD_AHEAD_MS = 1000;

/** The client, loaded on first need. A load that fails is tried again at the next beat. */
function connect(): Promise<KubemrClient> {
  if (!client) {
    const loading = import('../protocol/client.js').then(({ KubemrClient }) => new KubemrClient({ address: data.address, token: data.token, tls: data.tlsCa === undefined ? undefined : { ca: data.tlsCa ? Buffer.from(data.tlsCa) : undefined }, deadlineMs: 5000 }));
    loading.catch(() => {
      if (client === loading) client = undefined;
    });
    client = loading;
  }
  return client;
}

/** Starts loading the client ahead of the first beat; a failure shows at that beat. */
function preloadClient(): void {
  connect().catch(() => undefined);
}

function beat(): void {
  const ref = current;
  if (!ref) return;
  connect()
    .then((c) => {
      if (closed || current !== ref) return undefined;
      return c.heartbeat({ ...ref, progress: Atomics.load(data.flags, 1) / 1e6 });
    })
    .then(
      (reply) => {
        if (reply?.abandon && current === ref) Atomics.store(data.flags, 0, 1);
      },
      () => {
        // Coordinator unreachable: the lease may lapse; the report decides.
      },
    );
}

parentPort!.on('message', (m: HeartbeatMessage) => {
  clearInterval(timer);
  clearTimeout(preload);
  timer = preload = undefined;
  if (m.type === 'start') {
    current = m.ref;
    timer = setInterval(beat, m.intervalMs);
    if (!client) preload = setTimeout(preloadClient, Math.max(0, m.intervalMs - LOAD_AHEAD_MS));
  } else if (m.type === 'stop') {
    current = undefined;
  } else {
    current = undefined;
    closed = true;
    client?.then((c) => c.close()).catch(() => undefined);
    parentPort!.close();
  }
});
