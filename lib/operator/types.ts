import type { KubernetesObject } from '@kubernetes/client-node';

/** The MapReduceJob custom resource (k8s/crd.yaml): its API coordinates, spec and status. */
export const MAPREDUCEJOB = {
  group: 'kubemr.io',
  version: 'v1alpha1',
  plural: 'mapreducejobs',
  kind: 'MapReduceJob',
  apiVersion: 'kubemr.io/v1alpha1',
} as const;

/** `.spec` as k8s/crd.yaml declares it; read as `unknown` first, since nothing guarantees the CRD's schema was applied. */
export interface MapReduceJobSpec {
  app?: string;
  image?: string;
  inputs: string[];
  reducers?: number;
  workers?: number;
  maxAttempts?: number;
  leaseSeconds?: number;
  streaming?: { mapper?: string; reducer?: string; combiner?: string };
  /** Job parameters, read in map/reduce with params(). */
  params?: Record<string, string>;
  /** Backup attempts of slow tasks near the end of a phase. @default true */
  speculative?: boolean;
  /** How many steps the app declares (registerApp({ steps })). @default 1 */
  steps?: number;
  /** text (default) | tsv | jsonl */
  outputFormat?: string;
  /** A file larger than this becomes several map tasks: bytes or a quantity (`64Mi`). @default 16Mi */
  splitSize?: number | string;
  /** Map-side buffer per worker (`kubemr run --memory`): bytes or a quantity; sizes the pods' memory. @default 256Mi */
  memory?: number | string;
  /** Small files share map tasks; false gives each file a task of its own. @default true */
  pack?: boolean;
  /** Requests and limits of each worker pod; unset memory is sized from `memory`. */
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  /** Extra environment variables of each worker; KUBEMR_* and TMPDIR are kubemr's own. */
  env?: { name: string; value?: string }[];
}

/**
 * Pending (submitted, no task handed out yet) -> Running -> Succeeded | Failed | Cancelled.
 * A resource whose spec is invalid goes straight to Failed.
 */
export type MapReduceJobPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface MapReduceJobStatus {
  phase: MapReduceJobPhase;
  jobId?: string;
  mapsDone?: number;
  mapsTotal?: number;
  reducesDone?: number;
  reducesTotal?: number;
  /** "map 3/8 reduce 0/10" */
  progress?: string;
  /** Output files, relative to the data volume when inside it. */
  results?: string[];
  message?: string;
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  /** Sums over each task's winning attempt: map.*, reduce.*, user.<name>. */
  counters?: Record<string, number>;
  /** Running, Succeeded, Failed (lib/operator/conditions.ts). */
  conditions?: MapReduceJobCondition[];
}

/** A status condition, as metav1.Condition. */
export interface MapReduceJobCondition {
  type: 'Running' | 'Succeeded' | 'Failed';
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, e.g. WorkersCannotStart. */
  reason: string;
  message: string;
  /** When `status` last changed. */
  lastTransitionTime: string;
  /** The resource's metadata.generation the condition was computed for. */
  observedGeneration?: number;
}

export interface MapReduceJob extends KubernetesObject {
  spec?: unknown;
  status?: Partial<MapReduceJobStatus>;
}
