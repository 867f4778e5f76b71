// Original file: proto/kubemr.proto

import type { RequestTaskReply as _kubemr_v1_RequestTaskReply, RequestTaskReply__Output as _kubemr_v1_RequestTaskReply__Output } from '../../kubemr/v1/RequestTaskReply.js';

export interface ReportTaskReply {
  'accepted'?: (boolean);
  'next'?: (_kubemr_v1_RequestTaskReply | null);
}

export interface ReportTaskReply__Output {
  'accepted': (boolean);
  'next': (_kubemr_v1_RequestTaskReply__Output | null);
}
