// Original file: proto/kubemr.proto


export interface SubmitJobReply {
  'jobId'?: (string);
}

export interface SubmitJobReply__Output {
  'jobId': (string);
}
