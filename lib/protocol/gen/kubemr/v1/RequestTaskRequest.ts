// Original file: proto/kubemr.proto


export interface RequestTaskRequest {
  'workerId'?: (string);
  'app'?: (string);
  'jobId'?: (string);
}

export interface RequestTaskRequest__Output {
  'workerId': (string);
  'app': (string);
  'jobId': (string);
}
