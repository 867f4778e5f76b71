// Original file: proto/kubemr.proto

import type { Directive as _kubemr_v1_Directive, Directive__Output as _kubemr_v1_Directive__Output } from '../../kubemr/v1/Directive.js';
import type { Task as _kubemr_v1_Task, Task__Output as _kubemr_v1_Task__Output } from '../../kubemr/v1/Task.js';
import type { Long } from '@grpc/proto-loader';

export interface RequestTaskReply {
  'directive'?: (_kubemr_v1_Directive);
  'task'?: (_kubemr_v1_Task | null);
  'retryAfterMs'?: (number | string | Long);
}

export interface RequestTaskReply__Output {
  'directive': (_kubemr_v1_Directive__Output);
  'task': (_kubemr_v1_Task__Output | null);
  'retryAfterMs': (number);
}
