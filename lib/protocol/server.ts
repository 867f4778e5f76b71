import * as grpc from '@grpc/grpc-js';
import { isFinished, type Coordinator } from '../coordinator/coordinator.js';
import { countersFromPb, jobStatusToPb, kindFromPb, specFromPb, taskStatusToPb, taskToPb } from './convert.js';
import { CoordinatorUnavailableError, InvalidJobSpecError, JobNotFoundError, KubemrError, LimitExceededError, PermissionDeniedError, UnauthenticatedError, errorFields } from '../errors.js';
import { authenticate, leaseOf, leaseOk, type Principal } from './credentials.js';
import { toServiceError } from './status.js';
import { intOption } from '../options.js';
import { checkRunPolicy, type RunPolicy } from '../coordinator/policy.js';
import { silentLogger, type Logger } from '../logger.js';
import { loadProto, type CoordinatorHandlers } from './proto.js';
import type { JobEvent } from './gen/kubemr/v1/JobEvent.js';
import type { JobStatus } from './gen/kubemr/v1/JobStatus.js';
import type { PreparedJob } from '../coordinator/prepare.js';
import type { RequestTaskReply } from './gen/kubemr/v1/RequestTaskReply.js';
import type { RequestTaskRequest__Output } from './gen/kubemr/v1/RequestTaskRequest.js';
import type { RequestResult, SchedulerEvent, TaskRef } from '../coordinator/scheduler.js';

/** Calls that stay open: watch streams, and task requests held until there is work. */
export interface LiveCalls {
  watches: Set<grpc.ServerWritableStream<unknown, unknown>>;
  /** Each answers its held RequestTask at once. */
  holds: Set<() => void>;
}

export interface ServerOptions {
  /**
   * How long a RequestTask with nothing to hand out is held open, waiting for work, before it
   * answers WAIT. Held requests answer the moment a task frees up, so no worker sits out a
   * polling interval at a phase change. Milliseconds, >= 0 (0: answer WAIT at once). @default 1000
   */
  holdMs?: number;
  /**
   * When set, every call must carry `authorization: Bearer <credential>`: the token itself (a
   * client) or a worker credential derived from it (lib/protocol/credentials.ts).
   */
  token?: string | undefined;
  /** Serve TLS with this certificate chain and key (PEM) instead of plaintext. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Largest message accepted or sent. @default 16 MiB */
  maxMessageBytes?: number;
  /** What clients may submit to run (apps, streaming commands, images). @default bundled apps only */
  policy?: RunPolicy | undefined;
  /** Open WatchJob streams in all; one more is refused with RESOURCE_EXHAUSTED. @default 1000 */
  maxWatches?: number;
  /** Open WatchJob streams from one connection (one peer address). @default 100 */
  maxWatchesPerConnection?: number;
  logger?: Logger;
}

const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;

const jobStatusBytes = (j: JobStatus): number => (loadProto().kubemr.v1.Coordinator.service.GetJob.responseSerialize as (v: JobStatus) => Buffer)(j).length;

/**
 * About how large a job's GetJob reply will be once planned: its spec, each map task's inputs,
 * the file every map writes per reducer and every reduce's output, each named by its path.
 */
function statusBytes(job: PreparedJob): number {
  const specBytes = Buffer.byteLength(JSON.stringify(job.spec));
  const inputs = job.mapInputs.reduce((n, t) => n + t.reduce((m, sp) => m + Buffer.byteLength(sp.path) + 24, 0), 0);
  const path = Buffer.byteLength(job.outputDir) + 64;
  const files = job.mapInputs.length * Math.max(1, job.spec.reducers) * path + job.spec.reducers * path;
  return specBytes + inputs + files + (job.mapInputs.length + job.spec.reducers) * 128;
}

/**
 * ListJobs in one reply whatever the jobs hold: when the list would not fit, the largest
 * entries carry only the first inputs of their spec (GetJob has them all).
 */
function fitList(jobs: JobStatus[], max: number): JobStatus[] {
  const budget = max - 64 * 1024;
  const sizes = jobs.map(jobStatusBytes);
  let total = sizes.reduce((a, b) => a + b, 0);
  if (total <= budget) return jobs;
  const order = [...jobs.keys()].sort((a, b) => sizes[b]! - sizes[a]!);
  for (const i of order) {
    if (total <= budget) break;
    const j = jobs[i]!;
    jobs[i] = { ...j, spec: { ...j.spec, inputs: (j.spec?.inputs ?? []).slice(0, LISTED_INPUTS), params: {} } };
    const now = jobStatusBytes(jobs[i]!);
    total -= sizes[i]! - now;
  }
  return jobs;
}

/**
 * GetJob in one reply whatever the job went through: when its status would not fit (a job with
 * many tasks that failed many times), attempt errors are cut to their first line, then each
 * task keeps only its last attempts. `attempts` still counts them all.
 */
function fitStatus(j: JobStatus, max: number): JobStatus {
  const budget = max - 64 * 1024;
  if (jobStatusBytes(j) <= budget) return j;
  const firstLine = (e: string | undefined) => (e && e.length > 200 ? `${e.slice(0, 200)}...` : e);
  let tasks = (j.tasks ?? []).map((t) => ({ ...t, error: firstLine(t.error), history: (t.history ?? []).map((a) => ({ ...a, error: firstLine(a.error) })) }));
  for (const keep of [3, 1, 0]) {
    if (jobStatusBytes({ ...j, tasks }) <= budget) break;
    tasks = tasks.map((t) => ({ ...t, history: keep === 0 ? [] : t.history.slice(-keep) }));
  }
  return { ...j, tasks };
}

/** Inputs a job keeps in a ListJobs entry that had to be shortened to fit. */
const LISTED_INPUTS = 10;

/** Events a watch stream may have waiting for HTTP/2 to take them, before it is treated as blocked. */
const WATCH_IN_FLIGHT = 1;
/** Jobs a blocked watcher is caught up on once it moves again: the most recently changed ones. */
const WATCH_BEHIND = 100;

/** The server's options, checked once. */
export function compileServerOptions(o: Pick<ServerOptions, 'holdMs' | 'maxWatches' | 'maxWatchesPerConnection'>): { holdMs: number; maxWatches: number; maxWatchesPerConnection: number } {
  return {
    holdMs: intOption('holdMs', o.holdMs, 1000, 0),
    maxWatches: intOption('maxWatches', o.maxWatches, 1000, 1),
    maxWatchesPerConnection: intOption('maxWatchesPerConnection', o.maxWatchesPerConnection, 100, 1),
  };
}

/** Calls a worker credential may make; everything else is a client's. */
const WORKER_CALLS = new Set(['RequestTask', 'ReportTask', 'Heartbeat']);

/**
 * Who the call's credential is, and whether that role may make the call at all; the job a
 * worker call is about is checked by the handler (`workerScope`). Undefined: auth is off.
 */
function authorize(md: grpc.Metadata, token: string | undefined, name: string): Principal | undefined {
  if (!token) return undefined;
  const got = md.get('authorization')[0];
  const who = typeof got === 'string' && got.startsWith('Bearer ') ? authenticate(token, got.slice(7)) : undefined;
  if (!who) throw new UnauthenticatedError(`${name}: missing or invalid token`);
  if (who.role === 'worker' && !WORKER_CALLS.has(name)) {
    throw new PermissionDeniedError(`${name}: a worker credential (job ${who.jobId}) may only ask for, heartbeat and report that job's tasks`);
  }
  return who;
}

function taskRef(req: { jobId: string; kind: string; index: number; attempt: number; workerId: string }): TaskRef {
  const kind = kindFromPb(req.kind);
  if (!kind) throw new InvalidJobSpecError(`Expected \`kind\` to be MAP or REDUCE, got \`${req.kind}\``);
  if (!req.workerId) throw new InvalidJobSpecError('Expected `workerId` to be set, got an empty string');
  return { jobId: req.jobId, kind, index: req.index, attempt: req.attempt, workerId: req.workerId };
}

/**
 * The gRPC adapter over a Coordinator. Each unary handler answers exactly once: the body runs
 * in one try, and every exit path goes through `answer`.
 */
export function coordinatorHandlers(
  coord: Coordinator,
  options: ServerOptions = {},
  /** Open calls, so a shutdown can end them instead of waiting on them. */
  live: LiveCalls = { watches: new Set(), holds: new Set() },
): CoordinatorHandlers {
  const { watches, holds } = live;
  const limits = compileServerOptions(options);
  const maxReply = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  const { holdMs } = limits;
  /** Open watches per peer address. */
  const watchers = new Map<string, number>();
  // Every watcher is sent the same event: built once, not once per watcher.
  let lastEvent: SchedulerEvent | undefined;
  let lastPb: JobEvent | undefined;
  const eventPb = (e: SchedulerEvent): JobEvent => {
    if (e === lastEvent && lastPb) return lastPb;
    const ev: JobEvent = { jobId: e.job.id, type: e.type, atMs: Date.now(), job: jobStatusToPb(e.job, false) };
    if (e.type === 'task') ev.task = taskStatusToPb(e.task);
    lastEvent = e;
    lastPb = ev;
    return ev;
  };
  const log = (options.logger ?? silentLogger).child({ component: 'grpc' });
  const s = coord;
  const token = options.token;

  /** A worker credential speaks for its own job and that job's steps, nothing else. */
  function workerScope(who: Principal | undefined, name: string, jobId: string): void {
    if (who?.role !== 'worker' || jobId === who.jobId) return;
    if (jobId !== '' && coord.hasJob(jobId) && coord.getJob(jobId).spec.pipeline === who.jobId) return;
    throw new PermissionDeniedError(`${name}: a worker credential of job ${who.jobId} may not act for ${jobId ? `job ${jobId}` : 'every job'}`);
  }

  /** Heartbeats and reports speak for one attempt: only the worker handed its lease may. */
  function holdsLease(name: string, req: { jobId: string; kind: string; index: number; attempt: number; workerId: string; lease: string }): void {
    if (token && !leaseOk(token, req, req.lease)) {
      throw new PermissionDeniedError(`${name}: ${req.workerId} does not hold attempt ${req.attempt} of ${req.kind} task ${req.index} of job ${req.jobId} (no valid lease)`);
    }
  }

  /** A worker's request for work may be answered: it names the worker and a job its credential covers. */
  function checkRequest(name: string, req: RequestTaskRequest__Output, who: Principal | undefined): void {
    if (!req.workerId) throw new InvalidJobSpecError('Expected `workerId` to be set, got an empty string');
    workerScope(who, name, req.jobId);
  }

  /**
   * The answer to a checked request for work: a task, WAIT or EXIT. With nothing to hand out
   * now, the request is held open until a task frees up or the hold ends (see holdMs).
   */
  function nextTask(req: RequestTaskRequest__Output, call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'once'>): RequestTaskReply | Promise<RequestTaskReply> {
    // While journaled jobs are being resumed, a worker's job may not be known yet.
    if (!coord.started) return { directive: 'WAIT', retryAfterMs: 500 };
    const worker = { workerId: req.workerId, app: req.app, jobId: req.jobId || undefined };
    const reply = (r: RequestResult): RequestTaskReply => {
      if (r.directive === 'run') {
        const task = taskToPb(r.assignment);
        if (token) task.lease = leaseOf(token, { jobId: task.jobId!, kind: task.kind as string, index: task.index!, attempt: task.attempt!, workerId: req.workerId });
        return { directive: 'RUN', task, retryAfterMs: 0 };
      }
      if (r.directive === 'wait') return { directive: 'WAIT', retryAfterMs: r.retryAfterMs };
      return { directive: 'EXIT', retryAfterMs: 0 };
    };
    const first = s.requestTask(worker);
    if (first.directive !== 'wait' || holdMs <= 0) return reply(first);
    // Nothing now: hold the call and look again after every state change, until the hold ends.
    return new Promise<RequestTaskReply>((resolve) => {
      let pending: NodeJS.Immediate | undefined;
      const finish = (r: RequestResult) => {
        clearTimeout(timer);
        if (pending) clearImmediate(pending);
        unsubscribe();
        holds.delete(flush);
        resolve(reply(r));
      };
      // After a hold, a worker may ask again at once: the next request is held in turn.
      const flush = () => {
        const r = s.requestTask(worker);
        finish(r.directive === 'wait' ? { directive: 'wait', retryAfterMs: 0 } : r);
      };
      // Re-check after the transition that fired the event has completed, never inside it.
      const unsubscribe = s.subscribe(() => {
        pending ??= setImmediate(() => {
          pending = undefined;
          const r = s.requestTask(worker);
          if (r.directive !== 'wait') finish(r);
        });
      });
      const timer = setTimeout(flush, holdMs);
      holds.add(flush);
      // A worker that went away while held must not be handed a task it will never run.
      call.once('cancelled', () => finish({ directive: 'wait', retryAfterMs: 0 }));
    });
  }

  function unary<Req, Res>(name: string, body: (req: Req, call: grpc.ServerUnaryCall<Req, Res>, who: Principal | undefined) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const answer = (err: Partial<grpc.ServiceError> | null, res?: Res) => callback(err, res);
      let who: Principal | undefined;
      try {
        who = authorize(call.metadata, options.token, name);
      } catch (err) {
        answer(toServiceError(err));
        return;
      }
      Promise.resolve()
        .then(() => body(call.request, call, who))
        .then(
          (res) => answer(null, res),
          (err: unknown) => {
            const se = toServiceError(err);
            if (se.code === grpc.status.INTERNAL) log.error(`${name} failed`, { ...errorFields(err) });
            answer(se);
          },
        );
    };
  }

  return {
    RequestTask: unary('RequestTask', (req, call, who) => {
      checkRequest('RequestTask', req, who);
      return nextTask(req, call);
    }),
    ReportTask: unary('ReportTask', (req, call, who) => {
      workerScope(who, 'ReportTask', req.jobId);
      const ref = taskRef(req);
      holdsLease('ReportTask', req);
      if (!coord.started) throw new CoordinatorUnavailableError('the coordinator is resuming its jobs; report again');
      const next = req.next;
      // All of `next` is checked before the report changes anything.
      if (next) {
        if (next.workerId !== req.workerId) throw new InvalidJobSpecError(`Expected \`next.workerId\` to be the report's \`workerId\` ${req.workerId}, got \`${next.workerId}\``);
        checkRequest('ReportTask', next, who);
      }
      const accepted = req.success
        ? s.report(ref, { success: true, outputFiles: req.outputFiles, counters: req.counters ? countersFromPb(req.counters) : undefined })
        : s.report(ref, { success: false, error: req.error || 'unknown error', fetchFailedMaps: req.fetchFailedMaps, unrecoverable: req.unrecoverable });
      if (!next) return { accepted };
      // The report is handled first: the task it freed, or the phase it ended, is there to hand out.
      return Promise.resolve(nextTask(next, call)).then((n) => ({ accepted, next: n }));
    }),
    Heartbeat: unary('Heartbeat', (req, _call, who) => {
      workerScope(who, 'Heartbeat', req.jobId);
      const ref = taskRef(req);
      holdsLease('Heartbeat', req);
      if (!coord.started) return { abandon: false, leaseMs: 0 };
      const alive = s.heartbeat(ref);
      const lease = s.hasJob(ref.jobId) ? s.getJob(ref.jobId).spec.leaseMs : 0;
      return { abandon: !alive, leaseMs: lease };
    }),
    SubmitJob: unary('SubmitJob', async (req) => {
      if (!req.spec) throw new InvalidJobSpecError('Expected `spec` to be set');
      const job = await coord.prepare(specFromPb(req.spec), req.jobId || undefined);
      // What a client may have run is the server's choice: checked before anything is written.
      checkRunPolicy(job.spec, options.policy);
      // Nothing is journaled that GetJob could not send back: half the reply limit, the rest
      // for what the job's tasks add as they run.
      const bytes = statusBytes(job);
      if (bytes > maxReply / 2) {
        throw new LimitExceededError(`The job's status would be about ${bytes} bytes (its inputs, ${job.mapInputs.length} map tasks x ${job.spec.reducers} reducers' files), more than half the largest reply (maxMessageBytes ${maxReply}): use fewer inputs, reducers or map tasks`);
      }
      await coord.submit(job);
      return { jobId: job.id };
    }),
    GetJob: unary('GetJob', (req) => fitStatus(jobStatusToPb(s.getJob(req.jobId)), maxReply)),
    ListJobs: unary('ListJobs', () => ({ jobs: fitList(s.listJobs().map((j) => jobStatusToPb(j, false)), maxReply) })),
    CancelJob: unary('CancelJob', (req) => ({ cancelled: coord.cancel(req.jobId) })),
    WatchJob: (call) => {
      // grpc-js turns an 'error' event on a server stream into the call's final status.
      const fail = (err: KubemrError) => call.emit('error', Object.assign(new Error(err.message), toServiceError(err)));
      try {
        authorize(call.metadata, options.token, 'WatchJob');
      } catch (err) {
        fail(err as KubemrError);
        return;
      }
      const jobId = call.request.jobId;
      if (jobId && !s.hasJob(jobId)) {
        fail(new JobNotFoundError(`No job \`${jobId}\``, { jobId }));
        return;
      }
      // One connection (one peer address) and the server as a whole hold a bounded number of watches.
      const peer = call.getPeer();
      const onPeer = watchers.get(peer) ?? 0;
      if (onPeer >= limits.maxWatchesPerConnection) {
        fail(new LimitExceededError(`WatchJob: this connection already has ${onPeer} open watches, the most the coordinator allows (maxWatchesPerConnection ${limits.maxWatchesPerConnection})`));
        return;
      }
      if (watches.size >= limits.maxWatches) {
        fail(new LimitExceededError(`WatchJob: the coordinator already serves ${watches.size} watches, the most it allows (maxWatches ${limits.maxWatches})`));
        return;
      }
      watchers.set(peer, onPeer + 1);
      // Backpressure: a watcher has at most WATCH_IN_FLIGHT events queued that HTTP/2 has not
      // taken yet (its window is full when the client does not read); grpc-js's own buffer is
      // respected too (write() false, then 'drain'). While blocked, the jobs that changed are
      // remembered by id only, and once the stream moves each gets one event with its state as
      // it is then: a slow watcher sees fewer, coalesced events, never a stale final state, and
      // costs the coordinator a set of at most WATCH_BEHIND ids (the most recently changed
      // jobs), not a queue.
      let inFlight = 0;
      let full = false;
      let ended = false;
      const behind = new Set<string>();
      const blocked = () => full || inFlight >= WATCH_IN_FLIGHT;
      const send = (e: SchedulerEvent) => {
        if (ended || (jobId && e.job.id !== jobId)) return;
        if (blocked()) {
          // Re-added last, so the set keeps the most recently changed jobs.
          behind.delete(e.job.id);
          behind.add(e.job.id);
          if (behind.size > WATCH_BEHIND) behind.delete(behind.values().next().value!);
          return;
        }
        inFlight++;
        const more = call.write(eventPb(e), () => {
          inFlight--;
          if (behind.size > 0 && !blocked()) setImmediate(catchUp);
        });
        if (jobId && e.type === 'finished') {
          unsubscribe();
          call.end();
          return;
        }
        if (!more) {
          full = true;
          call.once('drain', () => {
            full = false;
            catchUp();
          });
        }
      };
      const catchUp = () => {
        for (const id of [...behind]) {
          if (blocked() || ended) return;
          behind.delete(id);
          if (!s.hasJob(id)) continue;
          const job = s.getJob(id);
          send({ type: isFinished(job.phase) ? 'finished' : 'phase', job } as SchedulerEvent);
        }
      };
      const subscription = s.subscribe(send);
      const unsubscribe = () => {
        if (ended) return;
        ended = true;
        subscription();
        watches.delete(call);
        const n = (watchers.get(peer) ?? 1) - 1;
        if (n > 0) watchers.set(peer, n);
        else watchers.delete(peer);
        behind.clear();
      };
      watches.add(call);
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
      call.on('error', unsubscribe);
      // A job that already finished gets its final state and the stream ends.
      if (jobId) {
        const job = s.getJob(jobId);
        if (isFinished(job.phase)) send({ type: 'finished', job });
      }
    },
  };
}

/** A gRPC server for the coordinator, bound to `address` (port 0 picks a free port). */
export async function startCoordinatorServer(
  coord: Coordinator,
  address: string,
  options: ServerOptions = {},
): Promise<CoordinatorServer> {
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  const server = new grpc.Server({
    // A request may be a quarter of the largest reply: what a submission carries (its spec)
    // comes back in GetJob beside its tasks, which repeat its inputs.
    'grpc.max_receive_message_length': Math.floor(max / 4),
    'grpc.max_send_message_length': max,
  });
  const live: LiveCalls = { watches: new Set(), holds: new Set() };
  server.addService(loadProto().kubemr.v1.Coordinator.service, coordinatorHandlers(coord, options, live));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      address,
      options.tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false) : grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  // A Unix socket is dialled by its path.
  if (address.startsWith('unix:')) return { server, port, address, live };
  const host = address.slice(0, address.lastIndexOf(':'));
  const advertiseHost = host === '0.0.0.0' || host === '[::]' || host === '' ? '127.0.0.1' : host;
  return { server, port, address: `${advertiseHost}:${port}`, live };
}

export interface CoordinatorServer {
  server: grpc.Server;
  port: number;
  /** host:port to dial (a wildcard bind is advertised as 127.0.0.1). */
  address: string;
  live: LiveCalls;
}

/** Ends open watch streams, lets unary calls finish for up to `graceMs`, then forces the rest. */
export function stopServer(handle: grpc.Server | CoordinatorServer, graceMs = 2000): Promise<void> {
  const server = handle instanceof grpc.Server ? handle : handle.server;
  if (!(handle instanceof grpc.Server)) {
    for (const w of handle.live.watches) w.end();
    for (const answer of [...handle.live.holds]) answer();
  }
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
