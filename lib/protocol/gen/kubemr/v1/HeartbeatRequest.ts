// Original file: proto/kubemr.proto

import type { TaskKind as _kubemr_v1_TaskKind, TaskKind__Output as _kubemr_v1_TaskKind__Output } from '../../kubemr/v1/TaskKind.js';

export interface HeartbeatRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'kind'?: (_kubemr_v1_TaskKind);
  'index'?: (number);
  'attempt'?: (number);
  'progress'?: (number | string);
  'lease'?: (string);
}

export interface HeartbeatRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'kind': (_kubemr_v1_TaskKind__Output);
  'index': (number);
  'attempt': (number);
  'progress': (number);
  'lease': (string);
}
