import { ListWatch, makeInformer, Watch, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { describe } from './api-errors.js';

export interface RestartingInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The watch path, e.g. /api/v1/namespaces/kubemr/pods. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string | undefined;
  /** Only objects matching this field selector (e.g. `reason=FailedCreate` for Events). */
  fieldSelector?: string | undefined;
  /** First delay before restarting a failed watch; doubles up to 30 s. */
  retryMs: number;
  logger: Logger;
  /** What is watched, for log lines: "worker pods", "MapReduceJobs". */
  what: string;
  onAdd(o: T): void;
  onUpdate(o: T): void;
  onDelete(o: T): void;
  /** Called after each successful (re)start: the cache is complete again. */
  onSynced?(): void;
}

/**
 * A list-and-watch of one kind of object that keeps itself running. client-node's informer
 * relists by itself on 410 Gone, but gives up on any other error (a dropped connection, an API
 * server restart): this one starts it again with a doubling delay, and says whether its cache
 * is complete (`synced`).
 */
export class RestartingInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;
  /** True while the cache holds a complete, current list. */
  synced = false;

  constructor(private readonly o: RestartingInformerOptions<T>) {
    this.retryDelay = o.retryMs;
    // makeInformer takes no field selector; ListWatch (what it builds) does.
    this.informer =
      o.fieldSelector === undefined
        ? makeInformer<T>(o.kubeConfig, o.path, o.list, o.labelSelector)
        : new ListWatch<T>(o.path, new Watch(o.kubeConfig), o.list, false, o.labelSelector, o.fieldSelector);
    this.informer.on('add', (x) => o.onAdd(x));
    this.informer.on('update', (x) => o.onUpdate(x));
    this.informer.on('delete', (x) => o.onDelete(x));
    this.informer.on('error', (err) => this.onError(err));
  }

  /**
   * Lists, then watches. Resolves with the error of a failed first list (a list failure arrives
   * as an 'error' event, not a rejection) or undefined; with `retry`, a failure is retried in
   * the background as any later one is.
   */
  async start(options: { retry: boolean }): Promise<unknown> {
    let failure: unknown;
    const onError = (err: unknown) => {
      failure ??= err ?? new Error(`the ${this.o.what} watch failed`);
    };
    this.informer.on('error', onError);
    try {
      await this.informer.start();
    } catch (err) {
      failure ??= err;
    } finally {
      this.informer.off('error', onError);
    }
    if (failure === undefined) {
      this.markSynced();
      return undefined;
    }
    if (options.retry) this.onError(failure);
    return failure;
  }

  private markSynced(): void {
    if (this.closed) return;
    this.synced = true;
    this.retryDelay = this.o.retryMs;
    this.o.onSynced?.();
  }

  private onError(err: unknown): void {
    this.synced = false;
    if (this.closed || this.retryTimer) return;
    this.o.logger.warn(`${this.o.what} watch failed; restarting`, { error: describe(err), retryMs: this.retryDelay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      void this.start({ retry: true });
    }, this.retryDelay);
    this.retryTimer.unref?.();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.synced = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.informer.stop();
  }
}
