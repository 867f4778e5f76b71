// Original file: proto/kubemr.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskCounters {
  'inputBytes'?: (number | string | Long);
  'inputRecords'?: (number | string | Long);
  'outputRecords'?: (number | string | Long);
  'outputBytes'?: (number | string | Long);
  'spills'?: (number | string | Long);
  'user'?: ({[key: string]: number | string | Long});
}

export interface TaskCounters__Output {
  'inputBytes': (number);
  'inputRecords': (number);
  'outputRecords': (number);
  'outputBytes': (number);
  'spills': (number);
  'user': ({[key: string]: number});
}
