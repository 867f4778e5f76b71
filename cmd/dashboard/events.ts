import type { ClientReadableStream } from '@grpc/grpc-js';
import type { KubemrClient } from '../../lib/protocol/client.js';
import type { Logger } from '../../lib/logger.js';
import { errorFields } from '../../lib/errors.js';
import type { JobEvent__Output } from '../../lib/protocol/gen/kubemr/v1/JobEvent.js';
import { jobView, taskView, type JobView, type TaskView } from './model.js';

/** What the browser (and any SSE client) receives, as `event: <type>`. */
export type DashboardEvent =
  | { type: 'submitted' | 'phase' | 'task' | 'finished'; jobId: string; at: number; job: JobView | null; task: TaskView | null }
  | { type: 'status'; connected: boolean; message: string };

type Listener = (e: DashboardEvent) => void;

/**
 * One WatchJob('') stream from the coordinator, fanned out to every SSE client. When the
 * stream breaks (coordinator restarting, network), it is reopened with backoff and clients are
 * told the connection state, so pages can say "reconnecting" instead of going stale silently.
 */
export class EventHub {
  private readonly listeners = new Set<Listener>();
  private stream: ClientReadableStream<JobEvent__Output> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delayMs = 250;
  private closed = false;
  connected = false;
  lastError = '';

  constructor(
    private readonly client: KubemrClient,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.closed || this.stream) return;
    // The stream says nothing until the first event; a cheap call tells whether we are up.
    this.client.listJobs().then(
      () => this.stream && this.setConnected(true, ''),
      (err: Error) => this.setConnected(false, err.message),
    );
    const stream = this.client.watchJob('');
    this.stream = stream;
    // grpc-js reports a stream as ready on its first message or metadata; treat metadata as "up".
    stream.on('metadata', () => this.setConnected(true, ''));
    stream.on('data', (ev: JobEvent__Output) => {
      this.setConnected(true, '');
      this.delayMs = 250;
      const job = ev.job ? jobView(ev.job) : null;
      const task = ev.task ? taskView(ev.jobId, ev.task) : null;
      this.emit({ type: ev.type as 'task', jobId: ev.jobId, at: ev.atMs, job, task });
    });
    const broken = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.setConnected(false, why);
      if (this.closed) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.start();
      }, this.delayMs);
      this.retry.unref();
      this.delayMs = Math.min(this.delayMs * 2, 5000);
    };
    stream.on('error', (err: Error & { details?: string }) => broken(err.details || err.message));
    stream.on('end', () => broken('the coordinator ended the event stream'));
  }

  private setConnected(connected: boolean, message: string): void {
    if (this.connected === connected && this.lastError === message) return;
    if (!connected && !this.closed) this.logger.warn('coordinator event stream lost; reconnecting', { error: message });
    this.connected = connected;
    this.lastError = message;
    this.emit({ type: 'status', connected, message });
  }

  private emit(e: DashboardEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn('event listener threw', { ...errorFields(err) });
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.stream?.cancel();
    this.stream = undefined;
    this.listeners.clear();
  }
}
