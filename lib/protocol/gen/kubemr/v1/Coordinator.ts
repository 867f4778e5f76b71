// Original file: proto/kubemr.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobReply as _kubemr_v1_CancelJobReply, CancelJobReply__Output as _kubemr_v1_CancelJobReply__Output } from '../../kubemr/v1/CancelJobReply.js';
import type { CancelJobRequest as _kubemr_v1_CancelJobRequest, CancelJobRequest__Output as _kubemr_v1_CancelJobRequest__Output } from '../../kubemr/v1/CancelJobRequest.js';
import type { GetJobRequest as _kubemr_v1_GetJobRequest, GetJobRequest__Output as _kubemr_v1_GetJobRequest__Output } from '../../kubemr/v1/GetJobRequest.js';
import type { HeartbeatReply as _kubemr_v1_HeartbeatReply, HeartbeatReply__Output as _kubemr_v1_HeartbeatReply__Output } from '../../kubemr/v1/HeartbeatReply.js';
import type { HeartbeatRequest as _kubemr_v1_HeartbeatRequest, HeartbeatRequest__Output as _kubemr_v1_HeartbeatRequest__Output } from '../../kubemr/v1/HeartbeatRequest.js';
import type { JobEvent as _kubemr_v1_JobEvent, JobEvent__Output as _kubemr_v1_JobEvent__Output } from '../../kubemr/v1/JobEvent.js';
import type { JobStatus as _kubemr_v1_JobStatus, JobStatus__Output as _kubemr_v1_JobStatus__Output } from '../../kubemr/v1/JobStatus.js';
import type { ListJobsReply as _kubemr_v1_ListJobsReply, ListJobsReply__Output as _kubemr_v1_ListJobsReply__Output } from '../../kubemr/v1/ListJobsReply.js';
import type { ListJobsRequest as _kubemr_v1_ListJobsRequest, ListJobsRequest__Output as _kubemr_v1_ListJobsRequest__Output } from '../../kubemr/v1/ListJobsRequest.js';
import type { ReportTaskReply as _kubemr_v1_ReportTaskReply, ReportTaskReply__Output as _kubemr_v1_ReportTaskReply__Output } from '../../kubemr/v1/ReportTaskReply.js';
import type { ReportTaskRequest as _kubemr_v1_ReportTaskRequest, ReportTaskRequest__Output as _kubemr_v1_ReportTaskRequest__Output } from '../../kubemr/v1/ReportTaskRequest.js';
import type { RequestTaskReply as _kubemr_v1_RequestTaskReply, RequestTaskReply__Output as _kubemr_v1_RequestTaskReply__Output } from '../../kubemr/v1/RequestTaskReply.js';
import type { RequestTaskRequest as _kubemr_v1_RequestTaskRequest, RequestTaskRequest__Output as _kubemr_v1_RequestTaskRequest__Output } from '../../kubemr/v1/RequestTaskRequest.js';
import type { SubmitJobReply as _kubemr_v1_SubmitJobReply, SubmitJobReply__Output as _kubemr_v1_SubmitJobReply__Output } from '../../kubemr/v1/SubmitJobReply.js';
import type { SubmitJobRequest as _kubemr_v1_SubmitJobRequest, SubmitJobRequest__Output as _kubemr_v1_SubmitJobRequest__Output } from '../../kubemr/v1/SubmitJobRequest.js';
import type { WatchJobRequest as _kubemr_v1_WatchJobRequest, WatchJobRequest__Output as _kubemr_v1_WatchJobRequest__Output } from '../../kubemr/v1/WatchJobRequest.js';

export interface CoordinatorClient extends grpc.Client {
  CancelJob(argument: _kubemr_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _kubemr_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _kubemr_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _kubemr_v1_CancelJobRequest, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _kubemr_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _kubemr_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _kubemr_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _kubemr_v1_CancelJobRequest, callback: grpc.requestCallback<_kubemr_v1_CancelJobReply__Output>): grpc.ClientUnaryCall;
  
  GetJob(argument: _kubemr_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _kubemr_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _kubemr_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _kubemr_v1_GetJobRequest, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _kubemr_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _kubemr_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _kubemr_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _kubemr_v1_GetJobRequest, callback: grpc.requestCallback<_kubemr_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(argument: _kubemr_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _kubemr_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _kubemr_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _kubemr_v1_HeartbeatRequest, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _kubemr_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _kubemr_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _kubemr_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _kubemr_v1_HeartbeatRequest, callback: grpc.requestCallback<_kubemr_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _kubemr_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _kubemr_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _kubemr_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _kubemr_v1_ListJobsRequest, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _kubemr_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _kubemr_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _kubemr_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _kubemr_v1_ListJobsRequest, callback: grpc.requestCallback<_kubemr_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  
  ReportTask(argument: _kubemr_v1_ReportTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  ReportTask(argument: _kubemr_v1_ReportTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  ReportTask(argument: _kubemr_v1_ReportTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  ReportTask(argument: _kubemr_v1_ReportTaskRequest, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  reportTask(argument: _kubemr_v1_ReportTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  reportTask(argument: _kubemr_v1_ReportTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  reportTask(argument: _kubemr_v1_ReportTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  reportTask(argument: _kubemr_v1_ReportTaskRequest, callback: grpc.requestCallback<_kubemr_v1_ReportTaskReply__Output>): grpc.ClientUnaryCall;
  
  RequestTask(argument: _kubemr_v1_RequestTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  RequestTask(argument: _kubemr_v1_RequestTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  RequestTask(argument: _kubemr_v1_RequestTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  RequestTask(argument: _kubemr_v1_RequestTaskRequest, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  requestTask(argument: _kubemr_v1_RequestTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  requestTask(argument: _kubemr_v1_RequestTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  requestTask(argument: _kubemr_v1_RequestTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  requestTask(argument: _kubemr_v1_RequestTaskRequest, callback: grpc.requestCallback<_kubemr_v1_RequestTaskReply__Output>): grpc.ClientUnaryCall;
  
  SubmitJob(argument: _kubemr_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _kubemr_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _kubemr_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _kubemr_v1_SubmitJobRequest, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _kubemr_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _kubemr_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _kubemr_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _kubemr_v1_SubmitJobRequest, callback: grpc.requestCallback<_kubemr_v1_SubmitJobReply__Output>): grpc.ClientUnaryCall;
  
  WatchJob(argument: _kubemr_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubemr_v1_JobEvent__Output>;
  WatchJob(argument: _kubemr_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubemr_v1_JobEvent__Output>;
  watchJob(argument: _kubemr_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubemr_v1_JobEvent__Output>;
  watchJob(argument: _kubemr_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kubemr_v1_JobEvent__Output>;
  
}

export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  CancelJob: grpc.handleUnaryCall<_kubemr_v1_CancelJobRequest__Output, _kubemr_v1_CancelJobReply>;
  
  GetJob: grpc.handleUnaryCall<_kubemr_v1_GetJobRequest__Output, _kubemr_v1_JobStatus>;
  
  Heartbeat: grpc.handleUnaryCall<_kubemr_v1_HeartbeatRequest__Output, _kubemr_v1_HeartbeatReply>;
  
  ListJobs: grpc.handleUnaryCall<_kubemr_v1_ListJobsRequest__Output, _kubemr_v1_ListJobsReply>;
  
  ReportTask: grpc.handleUnaryCall<_kubemr_v1_ReportTaskRequest__Output, _kubemr_v1_ReportTaskReply>;
  
  RequestTask: grpc.handleUnaryCall<_kubemr_v1_RequestTaskRequest__Output, _kubemr_v1_RequestTaskReply>;
  
  SubmitJob: grpc.handleUnaryCall<_kubemr_v1_SubmitJobRequest__Output, _kubemr_v1_SubmitJobReply>;
  
  WatchJob: grpc.handleServerStreamingCall<_kubemr_v1_WatchJobRequest__Output, _kubemr_v1_JobEvent>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  CancelJob: MethodDefinition<_kubemr_v1_CancelJobRequest, _kubemr_v1_CancelJobReply, _kubemr_v1_CancelJobRequest__Output, _kubemr_v1_CancelJobReply__Output>
  GetJob: MethodDefinition<_kubemr_v1_GetJobRequest, _kubemr_v1_JobStatus, _kubemr_v1_GetJobRequest__Output, _kubemr_v1_JobStatus__Output>
  Heartbeat: MethodDefinition<_kubemr_v1_HeartbeatRequest, _kubemr_v1_HeartbeatReply, _kubemr_v1_HeartbeatRequest__Output, _kubemr_v1_HeartbeatReply__Output>
  ListJobs: MethodDefinition<_kubemr_v1_ListJobsRequest, _kubemr_v1_ListJobsReply, _kubemr_v1_ListJobsRequest__Output, _kubemr_v1_ListJobsReply__Output>
  ReportTask: MethodDefinition<_kubemr_v1_ReportTaskRequest, _kubemr_v1_ReportTaskReply, _kubemr_v1_ReportTaskRequest__Output, _kubemr_v1_ReportTaskReply__Output>
  RequestTask: MethodDefinition<_kubemr_v1_RequestTaskRequest, _kubemr_v1_RequestTaskReply, _kubemr_v1_RequestTaskRequest__Output, _kubemr_v1_RequestTaskReply__Output>
  SubmitJob: MethodDefinition<_kubemr_v1_SubmitJobRequest, _kubemr_v1_SubmitJobReply, _kubemr_v1_SubmitJobRequest__Output, _kubemr_v1_SubmitJobReply__Output>
  WatchJob: MethodDefinition<_kubemr_v1_WatchJobRequest, _kubemr_v1_JobEvent, _kubemr_v1_WatchJobRequest__Output, _kubemr_v1_JobEvent__Output>
}
