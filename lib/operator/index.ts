/**
 * The MapReduceJob operator, kubebuilder-style: the resource's types, its spec as a job spec,
 * its status from a job, which resource owns which job, and the controller that runs them.
 */
export { startOperator, type OperatorOptions } from './controller.js';
export { ResourceOwners, type OwnerRecord } from './owners.js';
export { mapReduceJobId, specFromResource } from './spec.js';
export { statusFromDisk, statusOf } from './status.js';
export { MAPREDUCEJOB, type MapReduceJob, type MapReduceJobPhase, type MapReduceJobSpec, type MapReduceJobStatus } from './types.js';
