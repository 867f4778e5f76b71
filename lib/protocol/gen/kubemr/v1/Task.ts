// Original file: proto/kubemr.proto

import type { TaskKind as _kubemr_v1_TaskKind, TaskKind__Output as _kubemr_v1_TaskKind__Output } from '../../kubemr/v1/TaskKind.js';
import type { InputSplit as _kubemr_v1_InputSplit, InputSplit__Output as _kubemr_v1_InputSplit__Output } from '../../kubemr/v1/InputSplit.js';
import type { StreamingSpec as _kubemr_v1_StreamingSpec, StreamingSpec__Output as _kubemr_v1_StreamingSpec__Output } from '../../kubemr/v1/StreamingSpec.js';
import type { Long } from '@grpc/proto-loader';

export interface Task {
  'jobId'?: (string);
  'kind'?: (_kubemr_v1_TaskKind);
  'index'?: (number);
  'attempt'?: (number);
  'inputs'?: (_kubemr_v1_InputSplit)[];
  'nMap'?: (number);
  'nReduce'?: (number);
  'app'?: (string);
  'jobDir'?: (string);
  'outputDir'?: (string);
  'workDir'?: (string);
  'leaseMs'?: (number | string | Long);
  'memoryBytes'?: (number | string | Long);
  'streaming'?: (_kubemr_v1_StreamingSpec | null);
  'maxLineBytes'?: (number | string | Long);
  'params'?: ({[key: string]: string});
  'step'?: (number);
  'nSteps'?: (number);
  'outputFormat'?: (string);
  'attemptDir'?: (string);
  'lease'?: (string);
}

export interface Task__Output {
  'jobId': (string);
  'kind': (_kubemr_v1_TaskKind__Output);
  'index': (number);
  'attempt': (number);
  'inputs': (_kubemr_v1_InputSplit__Output)[];
  'nMap': (number);
  'nReduce': (number);
  'app': (string);
  'jobDir': (string);
  'outputDir': (string);
  'workDir': (string);
  'leaseMs': (number);
  'memoryBytes': (number);
  'streaming': (_kubemr_v1_StreamingSpec__Output | null);
  'maxLineBytes': (number);
  'params': ({[key: string]: string});
  'step': (number);
  'nSteps': (number);
  'outputFormat': (string);
  'attemptDir': (string);
  'lease': (string);
}
