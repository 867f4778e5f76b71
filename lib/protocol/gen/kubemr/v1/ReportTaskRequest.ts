// Original file: proto/kubemr.proto

import type { TaskKind as _kubemr_v1_TaskKind, TaskKind__Output as _kubemr_v1_TaskKind__Output } from '../../kubemr/v1/TaskKind.js';
import type { TaskCounters as _kubemr_v1_TaskCounters, TaskCounters__Output as _kubemr_v1_TaskCounters__Output } from '../../kubemr/v1/TaskCounters.js';
import type { RequestTaskRequest as _kubemr_v1_RequestTaskRequest, RequestTaskRequest__Output as _kubemr_v1_RequestTaskRequest__Output } from '../../kubemr/v1/RequestTaskRequest.js';

export interface ReportTaskRequest {
  'workerId'?: (string);
  'jobId'?: (string);
  'kind'?: (_kubemr_v1_TaskKind);
  'index'?: (number);
  'attempt'?: (number);
  'success'?: (boolean);
  'outputFiles'?: (string)[];
  'error'?: (string);
  'counters'?: (_kubemr_v1_TaskCounters | null);
  'fetchFailedMaps'?: (number)[];
  'unrecoverable'?: (boolean);
  'lease'?: (string);
  'next'?: (_kubemr_v1_RequestTaskRequest | null);
}

export interface ReportTaskRequest__Output {
  'workerId': (string);
  'jobId': (string);
  'kind': (_kubemr_v1_TaskKind__Output);
  'index': (number);
  'attempt': (number);
  'success': (boolean);
  'outputFiles': (string)[];
  'error': (string);
  'counters': (_kubemr_v1_TaskCounters__Output | null);
  'fetchFailedMaps': (number)[];
  'unrecoverable': (boolean);
  'lease': (string);
  'next': (_kubemr_v1_RequestTaskRequest__Output | null);
}
