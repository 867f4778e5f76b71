// Original file: proto/kubemr.proto

import type { TaskKind as _kubemr_v1_TaskKind, TaskKind__Output as _kubemr_v1_TaskKind__Output } from '../../kubemr/v1/TaskKind.js';
import type { InputSplit as _kubemr_v1_InputSplit, InputSplit__Output as _kubemr_v1_InputSplit__Output } from '../../kubemr/v1/InputSplit.js';
import type { TaskAttempt as _kubemr_v1_TaskAttempt, TaskAttempt__Output as _kubemr_v1_TaskAttempt__Output } from '../../kubemr/v1/TaskAttempt.js';
import type { TaskCounters as _kubemr_v1_TaskCounters, TaskCounters__Output as _kubemr_v1_TaskCounters__Output } from '../../kubemr/v1/TaskCounters.js';

export interface TaskStatus {
  'kind'?: (_kubemr_v1_TaskKind);
  'index'?: (number);
  'state'?: (string);
  'attempts'?: (number);
  'workerId'?: (string);
  'inputs'?: (_kubemr_v1_InputSplit)[];
  'history'?: (_kubemr_v1_TaskAttempt)[];
  'outputFiles'?: (string)[];
  'error'?: (string);
  'counters'?: (_kubemr_v1_TaskCounters | null);
}

export interface TaskStatus__Output {
  'kind': (_kubemr_v1_TaskKind__Output);
  'index': (number);
  'state': (string);
  'attempts': (number);
  'workerId': (string);
  'inputs': (_kubemr_v1_InputSplit__Output)[];
  'history': (_kubemr_v1_TaskAttempt__Output)[];
  'outputFiles': (string)[];
  'error': (string);
  'counters': (_kubemr_v1_TaskCounters__Output | null);
}
