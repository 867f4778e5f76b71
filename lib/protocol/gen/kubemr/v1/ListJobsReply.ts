// Original file: proto/kubemr.proto

import type { JobStatus as _kubemr_v1_JobStatus, JobStatus__Output as _kubemr_v1_JobStatus__Output } from '../../kubemr/v1/JobStatus.js';

export interface ListJobsReply {
  'jobs'?: (_kubemr_v1_JobStatus)[];
}

export interface ListJobsReply__Output {
  'jobs': (_kubemr_v1_JobStatus__Output)[];
}
