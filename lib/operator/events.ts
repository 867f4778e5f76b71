import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event } from '@kubernetes/client-node';
import { describe, statusCode } from '../kube/api-errors.js';
import type { Logger } from '../logger.js';

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/**
 * Records core/v1 Events on objects, as client-go's event recorder does: an Event named
 * `<object>.<hex time>`, and a repeat of the same type, reason and message raising that Event's
 * `count` and `lastTimestamp` instead of making another. `kubectl describe` lists them;
 * `kubectl get events --field-selector involvedObject.name=NAME` too. Recording never throws: a
 * lost Event is logged, not a reason to stop a job.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; count: number }>();
  private seq = 0;

  constructor(
    private readonly api: CoreV1Api,
    private readonly source: { component: string; instance: string },
    private readonly log: Logger,
  ) {}

  async record(on: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const key = `${on.uid}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen) {
        try {
          await this.api.patchNamespacedEvent(
            { name: seen.name, namespace: on.namespace, body: { count: seen.count + 1, lastTimestamp: now.toISOString() } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          seen.count++;
          return;
        } catch (err) {
          // Events expire (an hour by default): then a new one.
          if (statusCode(err) !== 404) throw err;
          this.recent.delete(key);
        }
      }
      const name = `${on.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
      const event: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: on.namespace },
        involvedObject: { apiVersion: on.apiVersion, kind: on.kind, namespace: on.namespace, name: on.name, uid: on.uid },
        type,
        reason,
        message,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: this.source.component },
        reportingComponent: this.source.component,
        reportingInstance: this.source.instance,
      };
      await this.api.createNamespacedEvent({ namespace: on.namespace, body: event });
      if (this.recent.size >= 1000) this.recent.delete(this.recent.keys().next().value!);
      this.recent.set(key, { name, count: 1 });
    } catch (err) {
      this.log.warn('could not record an Event', { resource: `${on.namespace}/${on.name}`, reason, error: describe(err) });
    }
  }

  /** Forget the Events of an object that is gone. */
  forget(uid: string): void {
    for (const key of [...this.recent.keys()]) if (key.startsWith(`${uid}\u0000`)) this.recent.delete(key);
  }
}
