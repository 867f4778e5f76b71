// Original file: proto/kubemr.proto


export interface ReportTaskReply {
  'accepted'?: (boolean);
}

export interface ReportTaskReply__Output {
  'accepted': (boolean);
}
