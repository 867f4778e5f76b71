// Original file: proto/kubemr.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskAttempt {
  'attempt'?: (number);
  'workerId'?: (string);
  'state'?: (string);
  'startedAtMs'?: (number | string | Long);
  'endedAtMs'?: (number | string | Long);
  'error'?: (string);
  'backup'?: (boolean);
}

export interface TaskAttempt__Output {
  'attempt': (number);
  'workerId': (string);
  'state': (string);
  'startedAtMs': (number);
  'endedAtMs': (number);
  'error': (string);
  'backup': (boolean);
}
