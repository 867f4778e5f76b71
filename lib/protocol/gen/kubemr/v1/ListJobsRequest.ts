// Original file: proto/kubemr.proto


export interface ListJobsRequest {
}

export interface ListJobsRequest__Output {
}
