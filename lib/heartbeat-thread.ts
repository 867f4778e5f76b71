import { parentPort, workerData } from 'node:worker_threads';
import { KubemrClient } from './client.js';
import type { HeartbeatRequest } from './proto/gen/kubemr/v1/HeartbeatRequest.js';

/**
 * Heartbeats from a thread of their own: a user's map may hold the main thread for seconds,
 * and the lease must not depend on it. The main thread posts which attempt it runs; this
 * thread renews its lease and raises the shared `abandon` flag when the coordinator says so.
 */
export interface HeartbeatThreadData {
  address: string;
  token: string | undefined;
  /** [0] abandon flag, [1] progress in millionths. */
  flags: Int32Array;
}

export type HeartbeatMessage = { type: 'start'; ref: HeartbeatRequest; intervalMs: number } | { type: 'stop' } | { type: 'close' };

const data = workerData as HeartbeatThreadData;
const client = new KubemrClient({ address: data.address, token: data.token, deadlineMs: 5000 });
let current: HeartbeatRequest | undefined;
let timer: NodeJS.Timeout | undefined;

function beat(): void {
  const ref = current;
  if (!ref) return;
  const progress = Atomics.load(data.flags, 1) / 1e6;
  client.heartbeat({ ...ref, progress }).then(
    (reply) => {
      if (reply.abandon && current === ref) Atomics.store(data.flags, 0, 1);
    },
    () => {
      // Coordinator unreachable: the lease may lapse; the report decides.
    },
  );
}

parentPort!.on('message', (m: HeartbeatMessage) => {
  if (timer) clearInterval(timer);
  timer = undefined;
  if (m.type === 'start') {
    current = m.ref;
    timer = setInterval(beat, m.intervalMs);
  } else if (m.type === 'stop') {
    current = undefined;
  } else {
    current = undefined;
    client.close();
    parentPort!.close();
  }
});
