import type { MapReduceJobCondition, MapReduceJobPhase } from './types.js';

/**
 * Why a MapReduceJob failed, as the reason of its Failed condition (and of the Event saying so):
 *   InvalidSpec          the spec is not a job (fix it: a new generation is tried again)
 *   WorkersCannotStart   no worker pod ran within the worker start timeout (image, Secret, room)
 *   BackoffLimitExceeded worker pods kept failing, past the Job's backoffLimit
 *   TaskFailed           a task failed every attempt (or threw UnrecoverableError)
 *   JobFailed            anything else (the workers could not be launched at all, say)
 */
export type FailureReason = 'InvalidSpec' | 'WorkersCannotStart' | 'BackoffLimitExceeded' | 'TaskFailed' | 'JobFailed';

export interface ConditionFacts {
  phase: MapReduceJobPhase;
  /** The status message (the failure, for a failed job). */
  message: string;
  /** Why the job's workers cannot start, while they cannot. */
  workersStuck?: string | undefined;
  failureReason?: FailureReason | undefined;
  generation?: number | undefined;
}

type Want = [MapReduceJobCondition['status'], string, string];

/**
 * The three conditions of a status, by Kubernetes conventions: each always present, True or
 * False with a CamelCase reason; `lastTransitionTime` kept from `previous` unless the status
 * flipped. So `kubectl wait --for=condition=Succeeded` (or Failed) waits for the end.
 *
 *   phase      Running                     Succeeded          Failed
 *   Pending    False Pending|WorkersCannotStart  False InProgress  False InProgress
 *   Running    True  TasksRunning          False InProgress   False InProgress
 *   Succeeded  False Succeeded             True  Succeeded    False Succeeded
 *   Failed     False Failed                False Failed       True  <FailureReason>
 *   Cancelled  False Cancelled             False Cancelled    False Cancelled
 */
export function conditionsFor(f: ConditionFacts, previous: readonly MapReduceJobCondition[] | undefined, now = new Date()): MapReduceJobCondition[] {
  const want: Record<MapReduceJobCondition['type'], Want> = (() => {
    switch (f.phase) {
      case 'Pending':
        return {
          Running: f.workersStuck ? ['False', 'WorkersCannotStart', f.workersStuck] : ['False', 'Pending', 'waiting for a worker to take the first task'],
          Succeeded: ['False', 'InProgress', ''],
          Failed: ['False', 'InProgress', ''],
        };
      case 'Running':
        return {
          Running: ['True', 'TasksRunning', f.workersStuck ? `some workers cannot start: ${f.workersStuck}` : ''],
          Succeeded: ['False', 'InProgress', ''],
          Failed: ['False', 'InProgress', ''],
        };
      case 'Succeeded':
        return { Running: ['False', 'Succeeded', ''], Succeeded: ['True', 'Succeeded', 'every map and reduce task succeeded; the output is in status.results'], Failed: ['False', 'Succeeded', ''] };
      case 'Failed':
        return { Running: ['False', 'Failed', ''], Succeeded: ['False', 'Failed', ''], Failed: ['True', f.failureReason ?? 'JobFailed', f.message] };
      case 'Cancelled':
        return { Running: ['False', 'Cancelled', f.message], Succeeded: ['False', 'Cancelled', f.message], Failed: ['False', 'Cancelled', f.message] };
    }
  })();
  return (['Running', 'Succeeded', 'Failed'] as const).map((type) => {
    const [status, reason, message] = want[type];
    const prev = previous?.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message: message.slice(0, 32768),
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(f.generation !== undefined ? { observedGeneration: f.generation } : {}),
    };
  });
}
