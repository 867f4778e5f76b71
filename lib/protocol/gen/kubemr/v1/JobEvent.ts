// Original file: proto/kubemr.proto

import type { JobStatus as _kubemr_v1_JobStatus, JobStatus__Output as _kubemr_v1_JobStatus__Output } from '../../kubemr/v1/JobStatus.js';
import type { TaskStatus as _kubemr_v1_TaskStatus, TaskStatus__Output as _kubemr_v1_TaskStatus__Output } from '../../kubemr/v1/TaskStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface JobEvent {
  'jobId'?: (string);
  'type'?: (string);
  'atMs'?: (number | string | Long);
  'job'?: (_kubemr_v1_JobStatus | null);
  'task'?: (_kubemr_v1_TaskStatus | null);
}

export interface JobEvent__Output {
  'jobId': (string);
  'type': (string);
  'atMs': (number);
  'job': (_kubemr_v1_JobStatus__Output | null);
  'task': (_kubemr_v1_TaskStatus__Output | null);
}
