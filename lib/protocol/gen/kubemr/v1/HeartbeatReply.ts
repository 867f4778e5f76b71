// Original file: proto/kubemr.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatReply {
  'abandon'?: (boolean);
  'leaseMs'?: (number | string | Long);
}

export interface HeartbeatReply__Output {
  'abandon': (boolean);
  'leaseMs': (number);
}
