// Original file: proto/kubemr.proto

import type { Long } from '@grpc/proto-loader';

export interface InputSplit {
  'path'?: (string);
  'start'?: (number | string | Long);
  'end'?: (number | string | Long);
}

export interface InputSplit__Output {
  'path': (string);
  'start': (number);
  'end': (number);
}
