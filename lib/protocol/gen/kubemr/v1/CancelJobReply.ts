// Original file: proto/kubemr.proto


export interface CancelJobReply {
  'cancelled'?: (boolean);
}

export interface CancelJobReply__Output {
  'cancelled': (boolean);
}
