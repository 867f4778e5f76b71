import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { CoordinatorUnavailableError, KubemrError, type KubemrErrorCode } from '../errors.js';
import { loadProto, type CoordinatorClient } from './proto.js';
import { codeOfStatus } from './status.js';
import type { CancelJobReply__Output } from './gen/kubemr/v1/CancelJobReply.js';
import type { HeartbeatReply__Output } from './gen/kubemr/v1/HeartbeatReply.js';
import type { HeartbeatRequest } from './gen/kubemr/v1/HeartbeatRequest.js';
import type { JobEvent__Output } from './gen/kubemr/v1/JobEvent.js';
import type { JobSpec } from './gen/kubemr/v1/JobSpec.js';
import type { JobStatus__Output } from './gen/kubemr/v1/JobStatus.js';
import type { ReportTaskReply__Output } from './gen/kubemr/v1/ReportTaskReply.js';
import type { ReportTaskRequest } from './gen/kubemr/v1/ReportTaskRequest.js';
import type { RequestTaskReply__Output } from './gen/kubemr/v1/RequestTaskReply.js';
import type { SubmitJobReply__Output } from './gen/kubemr/v1/SubmitJobReply.js';
import type { SubmitJobRequest } from './gen/kubemr/v1/SubmitJobRequest.js';
import type { ListJobsReply__Output } from './gen/kubemr/v1/ListJobsReply.js';
import type { RequestTaskRequest } from './gen/kubemr/v1/RequestTaskRequest.js';

export interface ClientOptions {
  /** host:port of the coordinator. */
  address: string;
  /** Bearer token, when the coordinator requires one: the client token or a worker credential. */
  token?: string | undefined;
  /**
   * Dial with TLS; `ca` (PEM) is the root the coordinator's certificate must chain to (default:
   * the system's roots). Unset: plaintext.
   */
  tls?: { ca?: Buffer | undefined } | undefined;
  /** Deadline of each unary call. @default 10000 */
  deadlineMs?: number;
  /** Largest message accepted or sent. @default 16 MiB */
  maxMessageBytes?: number;
}

/** A gRPC error from the coordinator, with the status code kept. */
export class RpcError extends KubemrError {
  override readonly code: KubemrErrorCode;
  constructor(
    message: string,
    readonly grpcCode: grpc.status,
  ) {
    super(message);
    this.code = codeOfStatus(grpcCode);
  }
}

function wrap(err: grpc.ServiceError, address: string): KubemrError {
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
    return new CoordinatorUnavailableError(`cannot reach coordinator at ${address}: ${unreachableReason(err)}`, { address, cause: err });
  }
  // An HTTP server that is not gRPC (a web server, a proxy) answered at the address: not a
  // coordinator that is down for a moment, so not one to wait for.
  const http = /^Received HTTP status code (\d+)/.exec(err.details ?? '');
  if (http) return new RpcError(`cannot reach coordinator at ${address}: something else answers there (HTTP ${http[1]}), not a kubemr coordinator`, err.code);
  return new RpcError(err.details || err.message, err.code);
}

/**
 * grpc-js's details of a failed connection, in short: "No connection established. Last error:
 * Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: " becomes "connect ECONNREFUSED
 * 127.0.0.1:1" (the resolution note is empty for an address that needs no name lookup).
 */
function unreachableReason(err: grpc.ServiceError): string {
  const details = (err.details || err.message).replace(/\s*Resolution note:.*$/s, '').trim();
  const last = /Last error: (?:Error: )?(.+)$/s.exec(details);
  return (last ? last[1]! : details).replace(/\.$/, '') || 'unavailable';
}

/** Promise-returning client for the coordinator protocol; every call carries a deadline. */
export class KubemrClient {
  readonly raw: CoordinatorClient;
  private readonly deadlineMs: number;
  private readonly metadata: grpc.Metadata;

  constructor(readonly options: ClientOptions) {
    const proto = loadProto();
    const max = options.maxMessageBytes ?? 16 * 1024 * 1024;
    const host = options.address.slice(0, options.address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    // An IP address may not be sent as the TLS server name (RFC 6066; Node warns): send a fixed
    // name instead and check the certificate against the address itself.
    const byIp = options.tls !== undefined && net.isIP(host) !== 0;
    const creds = options.tls
      ? grpc.credentials.createSsl(options.tls.ca ?? null, null, null, byIp ? { checkServerIdentity: (_name, cert) => tls.checkServerIdentity(host, cert) } : {})
      : grpc.credentials.createInsecure();
    this.raw = new proto.kubemr.v1.Coordinator(options.address, creds, {
      ...(byIp ? { 'grpc.ssl_target_name_override': 'kubemr-coordinator' } : {}),
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.enable_retries': 0,
      // A worker may start before its coordinator listens: retry the connection soon, not after
      // grpc's default second.
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.metadata = new grpc.Metadata();
    if (options.token) this.metadata.set('authorization', `Bearer ${options.token}`);
  }

  // The generated client methods are overloaded, which defeats inference; each public method
  // below names its request and reply types.
  private call<Res>(method: unknown, req: object): Promise<Res> {
    const fn = method as (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
    return new Promise((resolve, reject) => {
      fn.call(this.raw, req, this.metadata, { deadline: Date.now() + this.deadlineMs }, (err, res) => {
        if (err) reject(wrap(err, this.options.address));
        else resolve(res as Res);
      });
    });
  }

  requestTask(req: RequestTaskRequest): Promise<RequestTaskReply__Output> {
    return this.call<RequestTaskReply__Output>(this.raw.requestTask, req);
  }
  reportTask(req: ReportTaskRequest): Promise<ReportTaskReply__Output> {
    return this.call<ReportTaskReply__Output>(this.raw.reportTask, req);
  }
  heartbeat(req: HeartbeatRequest): Promise<HeartbeatReply__Output> {
    return this.call<HeartbeatReply__Output>(this.raw.heartbeat, req);
  }
  async submitJob(spec: JobSpec, jobId = ''): Promise<string> {
    const res = await this.call<SubmitJobReply__Output>(this.raw.submitJob, { spec, jobId } satisfies SubmitJobRequest);
    return res.jobId;
  }
  getJob(jobId: string): Promise<JobStatus__Output> {
    return this.call<JobStatus__Output>(this.raw.getJob, { jobId });
  }
  async listJobs(): Promise<JobStatus__Output[]> {
    return (await this.call<ListJobsReply__Output>(this.raw.listJobs, {})).jobs;
  }
  cancelJob(jobId: string): Promise<CancelJobReply__Output> {
    return this.call<CancelJobReply__Output>(this.raw.cancelJob, { jobId });
  }

  /** Server stream of job events; '' watches every job. Cancel the returned stream to stop. */
  watchJob(jobId: string): grpc.ClientReadableStream<JobEvent__Output> {
    return this.raw.watchJob({ jobId }, this.metadata);
  }

  close(): void {
    this.raw.close();
  }
}
