// Original file: proto/kubemr.proto

import type { JobSpec as _kubemr_v1_JobSpec, JobSpec__Output as _kubemr_v1_JobSpec__Output } from '../../kubemr/v1/JobSpec.js';

export interface SubmitJobRequest {
  'spec'?: (_kubemr_v1_JobSpec | null);
  'jobId'?: (string);
}

export interface SubmitJobRequest__Output {
  'spec': (_kubemr_v1_JobSpec__Output | null);
  'jobId': (string);
}
