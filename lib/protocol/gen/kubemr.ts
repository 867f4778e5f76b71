import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CancelJobReply as _kubemr_v1_CancelJobReply, CancelJobReply__Output as _kubemr_v1_CancelJobReply__Output } from './kubemr/v1/CancelJobReply.js';
import type { CancelJobRequest as _kubemr_v1_CancelJobRequest, CancelJobRequest__Output as _kubemr_v1_CancelJobRequest__Output } from './kubemr/v1/CancelJobRequest.js';
import type { CoordinatorClient as _kubemr_v1_CoordinatorClient, CoordinatorDefinition as _kubemr_v1_CoordinatorDefinition } from './kubemr/v1/Coordinator.js';
import type { GetJobRequest as _kubemr_v1_GetJobRequest, GetJobRequest__Output as _kubemr_v1_GetJobRequest__Output } from './kubemr/v1/GetJobRequest.js';
import type { HeartbeatReply as _kubemr_v1_HeartbeatReply, HeartbeatReply__Output as _kubemr_v1_HeartbeatReply__Output } from './kubemr/v1/HeartbeatReply.js';
import type { HeartbeatRequest as _kubemr_v1_HeartbeatRequest, HeartbeatRequest__Output as _kubemr_v1_HeartbeatRequest__Output } from './kubemr/v1/HeartbeatRequest.js';
import type { InputSplit as _kubemr_v1_InputSplit, InputSplit__Output as _kubemr_v1_InputSplit__Output } from './kubemr/v1/InputSplit.js';
import type { JobEvent as _kubemr_v1_JobEvent, JobEvent__Output as _kubemr_v1_JobEvent__Output } from './kubemr/v1/JobEvent.js';
import type { JobSpec as _kubemr_v1_JobSpec, JobSpec__Output as _kubemr_v1_JobSpec__Output } from './kubemr/v1/JobSpec.js';
import type { JobStatus as _kubemr_v1_JobStatus, JobStatus__Output as _kubemr_v1_JobStatus__Output } from './kubemr/v1/JobStatus.js';
import type { ListJobsReply as _kubemr_v1_ListJobsReply, ListJobsReply__Output as _kubemr_v1_ListJobsReply__Output } from './kubemr/v1/ListJobsReply.js';
import type { ListJobsRequest as _kubemr_v1_ListJobsRequest, ListJobsRequest__Output as _kubemr_v1_ListJobsRequest__Output } from './kubemr/v1/ListJobsRequest.js';
import type { ReportTaskReply as _kubemr_v1_ReportTaskReply, ReportTaskReply__Output as _kubemr_v1_ReportTaskReply__Output } from './kubemr/v1/ReportTaskReply.js';
import type { ReportTaskRequest as _kubemr_v1_ReportTaskRequest, ReportTaskRequest__Output as _kubemr_v1_ReportTaskRequest__Output } from './kubemr/v1/ReportTaskRequest.js';
import type { RequestTaskReply as _kubemr_v1_RequestTaskReply, RequestTaskReply__Output as _kubemr_v1_RequestTaskReply__Output } from './kubemr/v1/RequestTaskReply.js';
import type { RequestTaskRequest as _kubemr_v1_RequestTaskRequest, RequestTaskRequest__Output as _kubemr_v1_RequestTaskRequest__Output } from './kubemr/v1/RequestTaskRequest.js';
import type { StreamingSpec as _kubemr_v1_StreamingSpec, StreamingSpec__Output as _kubemr_v1_StreamingSpec__Output } from './kubemr/v1/StreamingSpec.js';
import type { SubmitJobReply as _kubemr_v1_SubmitJobReply, SubmitJobReply__Output as _kubemr_v1_SubmitJobReply__Output } from './kubemr/v1/SubmitJobReply.js';
import type { SubmitJobRequest as _kubemr_v1_SubmitJobRequest, SubmitJobRequest__Output as _kubemr_v1_SubmitJobRequest__Output } from './kubemr/v1/SubmitJobRequest.js';
import type { Task as _kubemr_v1_Task, Task__Output as _kubemr_v1_Task__Output } from './kubemr/v1/Task.js';
import type { TaskAttempt as _kubemr_v1_TaskAttempt, TaskAttempt__Output as _kubemr_v1_TaskAttempt__Output } from './kubemr/v1/TaskAttempt.js';
import type { TaskCounters as _kubemr_v1_TaskCounters, TaskCounters__Output as _kubemr_v1_TaskCounters__Output } from './kubemr/v1/TaskCounters.js';
import type { TaskStatus as _kubemr_v1_TaskStatus, TaskStatus__Output as _kubemr_v1_TaskStatus__Output } from './kubemr/v1/TaskStatus.js';
import type { WatchJobRequest as _kubemr_v1_WatchJobRequest, WatchJobRequest__Output as _kubemr_v1_WatchJobRequest__Output } from './kubemr/v1/WatchJobRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kubemr: {
    v1: {
      CancelJobReply: MessageTypeDefinition<_kubemr_v1_CancelJobReply, _kubemr_v1_CancelJobReply__Output>
      CancelJobRequest: MessageTypeDefinition<_kubemr_v1_CancelJobRequest, _kubemr_v1_CancelJobRequest__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _kubemr_v1_CoordinatorClient> & { service: _kubemr_v1_CoordinatorDefinition }
      Directive: EnumTypeDefinition
      GetJobRequest: MessageTypeDefinition<_kubemr_v1_GetJobRequest, _kubemr_v1_GetJobRequest__Output>
      HeartbeatReply: MessageTypeDefinition<_kubemr_v1_HeartbeatReply, _kubemr_v1_HeartbeatReply__Output>
      HeartbeatRequest: MessageTypeDefinition<_kubemr_v1_HeartbeatRequest, _kubemr_v1_HeartbeatRequest__Output>
      InputSplit: MessageTypeDefinition<_kubemr_v1_InputSplit, _kubemr_v1_InputSplit__Output>
      JobEvent: MessageTypeDefinition<_kubemr_v1_JobEvent, _kubemr_v1_JobEvent__Output>
      JobSpec: MessageTypeDefinition<_kubemr_v1_JobSpec, _kubemr_v1_JobSpec__Output>
      JobStatus: MessageTypeDefinition<_kubemr_v1_JobStatus, _kubemr_v1_JobStatus__Output>
      ListJobsReply: MessageTypeDefinition<_kubemr_v1_ListJobsReply, _kubemr_v1_ListJobsReply__Output>
      ListJobsRequest: MessageTypeDefinition<_kubemr_v1_ListJobsRequest, _kubemr_v1_ListJobsRequest__Output>
      ReportTaskReply: MessageTypeDefinition<_kubemr_v1_ReportTaskReply, _kubemr_v1_ReportTaskReply__Output>
      ReportTaskRequest: MessageTypeDefinition<_kubemr_v1_ReportTaskRequest, _kubemr_v1_ReportTaskRequest__Output>
      RequestTaskReply: MessageTypeDefinition<_kubemr_v1_RequestTaskReply, _kubemr_v1_RequestTaskReply__Output>
      RequestTaskRequest: MessageTypeDefinition<_kubemr_v1_RequestTaskRequest, _kubemr_v1_RequestTaskRequest__Output>
      StreamingSpec: MessageTypeDefinition<_kubemr_v1_StreamingSpec, _kubemr_v1_StreamingSpec__Output>
      SubmitJobReply: MessageTypeDefinition<_kubemr_v1_SubmitJobReply, _kubemr_v1_SubmitJobReply__Output>
      SubmitJobRequest: MessageTypeDefinition<_kubemr_v1_SubmitJobRequest, _kubemr_v1_SubmitJobRequest__Output>
      Task: MessageTypeDefinition<_kubemr_v1_Task, _kubemr_v1_Task__Output>
      TaskAttempt: MessageTypeDefinition<_kubemr_v1_TaskAttempt, _kubemr_v1_TaskAttempt__Output>
      TaskCounters: MessageTypeDefinition<_kubemr_v1_TaskCounters, _kubemr_v1_TaskCounters__Output>
      TaskKind: EnumTypeDefinition
      TaskStatus: MessageTypeDefinition<_kubemr_v1_TaskStatus, _kubemr_v1_TaskStatus__Output>
      WatchJobRequest: MessageTypeDefinition<_kubemr_v1_WatchJobRequest, _kubemr_v1_WatchJobRequest__Output>
    }
  }
}

