// Original file: proto/kubemr.proto

import type { JobSpec as _kubemr_v1_JobSpec, JobSpec__Output as _kubemr_v1_JobSpec__Output } from '../../kubemr/v1/JobSpec.js';
import type { TaskStatus as _kubemr_v1_TaskStatus, TaskStatus__Output as _kubemr_v1_TaskStatus__Output } from '../../kubemr/v1/TaskStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface JobStatus {
  'jobId'?: (string);
  'spec'?: (_kubemr_v1_JobSpec | null);
  'phase'?: (string);
  'mapsDone'?: (number);
  'mapsTotal'?: (number);
  'reducesDone'?: (number);
  'reducesTotal'?: (number);
  'submittedAtMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
  'message'?: (string);
  'results'?: (string)[];
  'tasks'?: (_kubemr_v1_TaskStatus)[];
  'counters'?: ({[key: string]: number | string | Long});
}

export interface JobStatus__Output {
  'jobId': (string);
  'spec': (_kubemr_v1_JobSpec__Output | null);
  'phase': (string);
  'mapsDone': (number);
  'mapsTotal': (number);
  'reducesDone': (number);
  'reducesTotal': (number);
  'submittedAtMs': (number);
  'startedAtMs': (number);
  'finishedAtMs': (number);
  'message': (string);
  'results': (string)[];
  'tasks': (_kubemr_v1_TaskStatus__Output)[];
  'counters': ({[key: string]: number});
}
