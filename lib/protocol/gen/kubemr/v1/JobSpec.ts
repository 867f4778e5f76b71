// Original file: proto/kubemr.proto

import type { StreamingSpec as _kubemr_v1_StreamingSpec, StreamingSpec__Output as _kubemr_v1_StreamingSpec__Output } from '../../kubemr/v1/StreamingSpec.js';
import type { Long } from '@grpc/proto-loader';

export interface JobSpec {
  'app'?: (string);
  'inputs'?: (string)[];
  'reducers'?: (number);
  'workers'?: (number);
  'maxAttempts'?: (number);
  'leaseMs'?: (number | string | Long);
  'outputDir'?: (string);
  'workDir'?: (string);
  'splitBytes'?: (number | string | Long);
  'memoryBytes'?: (number | string | Long);
  'streaming'?: (_kubemr_v1_StreamingSpec | null);
  'name'?: (string);
  'packSmallFiles'?: (boolean);
  'image'?: (string);
  'maxLineBytes'?: (number | string | Long);
  'params'?: ({[key: string]: string});
  'noSpeculation'?: (boolean);
  'steps'?: (number);
  'step'?: (number);
  'pipeline'?: (string);
  'outputFormat'?: (string);
  'mapOnly'?: (boolean);
  'maxLostAttempts'?: (number);
  'noPack'?: (boolean);
}

export interface JobSpec__Output {
  'app': (string);
  'inputs': (string)[];
  'reducers': (number);
  'workers': (number);
  'maxAttempts': (number);
  'leaseMs': (number);
  'outputDir': (string);
  'workDir': (string);
  'splitBytes': (number);
  'memoryBytes': (number);
  'streaming': (_kubemr_v1_StreamingSpec__Output | null);
  'name': (string);
  'packSmallFiles': (boolean);
  'image': (string);
  'maxLineBytes': (number);
  'params': ({[key: string]: string});
  'noSpeculation': (boolean);
  'steps': (number);
  'step': (number);
  'pipeline': (string);
  'outputFormat': (string);
  'mapOnly': (boolean);
  'maxLostAttempts': (number);
  'noPack': (boolean);
}
