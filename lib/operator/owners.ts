import fs from 'node:fs';
import path from 'node:path';
import type { V1OwnerReference } from '@kubernetes/client-node';
import { writeFileAtomic } from '../storage/atomic.js';
import { DataLayout } from '../storage/layout.js';
import { MAPREDUCEJOB } from './types.js';

export interface OwnerRecord {
  namespace: string;
  name: string;
  uid: string;
}

const SAFE_JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Which MapReduceJob owns which job. The executor asks while `Coordinator.submit` launches the
 * workers — before the job directory exists — so the answer is kept in memory first; once the
 * job is submitted it is also written to `jobs/<id>/mapreducejob.json`, so a restarted
 * coordinator's resumed jobs (relaunched before the operator even starts) keep their owner, and
 * the operator can tell which resumed jobs lost their resource while it was down.
 */
export class ResourceOwners {
  private readonly memory = new Map<string, OwnerRecord | null>();
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
  }

  remember(jobId: string, owner: OwnerRecord): void {
    this.memory.set(jobId, { ...owner });
  }

  /** Writes the owner beside the job; the job directory must exist. */
  persist(jobId: string): void {
    const owner = this.memory.get(jobId);
    if (owner) writeFileAtomic(this.file(jobId), JSON.stringify({ apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, ...owner }) + '\n');
  }

  forget(jobId: string): void {
    this.memory.delete(jobId);
  }

  get(jobId: string): OwnerRecord | undefined {
    if (!SAFE_JOB_ID.test(jobId)) return undefined;
    const cached = this.memory.get(jobId);
    if (cached !== undefined) return cached ?? undefined;
    let found: OwnerRecord | null = null;
    try {
      const o = JSON.parse(fs.readFileSync(this.file(jobId), 'utf8')) as Partial<OwnerRecord>;
      if (typeof o.namespace === 'string' && typeof o.name === 'string' && typeof o.uid === 'string') {
        found = { namespace: o.namespace, name: o.name, uid: o.uid };
      }
    } catch {
      // no file: a job submitted over gRPC, not from a resource
    }
    this.memory.set(jobId, found);
    return found ?? undefined;
  }

  /**
   * For `KubernetesExecutorOptions.ownerReferences`: the worker Jobs of a resource's job are
   * owned by the resource, so `kubectl delete mapreducejob` takes them along even when no
   * coordinator is running; other jobs get `undefined` (the caller's default owners).
   * Not a controller reference and not blocking: the coordinator, not the garbage collector,
   * decides when workers stop, and blockOwnerDeletion would need mapreducejobs/finalizers rights.
   */
  readonly ownerReferences = (jobId: string): V1OwnerReference[] | undefined => {
    const o = this.get(jobId);
    return o ? [{ apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, name: o.name, uid: o.uid, blockOwnerDeletion: false }] : undefined;
  };

  private file(jobId: string): string {
    return new DataLayout(this.root).job(jobId).owner;
  }
}
