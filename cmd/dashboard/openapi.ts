/** The OpenAPI 3.1 description of /api, served at /api/openapi.json. */
import { JOB_ID_PATTERN, JOB_ID_RULE } from '../../lib/storage/job-id.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => jsonBody(ref('Error'), description);
const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const path = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const query = (name: string, description: string, schema: object) => ({ name, in: 'query', required: false, description, schema });

const jobId = path('id', `Job id: ${JOB_ID_RULE}`);
const follow = query('follow', 'Keep the response open and stream what is appended until the worker or attempt ends', { type: 'boolean' });
const ms = { type: ['integer', 'null'], description: 'epoch milliseconds' };

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'kubemr dashboard API',
      version: '1',
      description:
        'Jobs, tasks, workers, logs and results of a kubemr coordinator. Reads are open. When the dashboard has a token, ' +
        'submitting and cancelling need `Authorization: Bearer <token>` (or the browser session set by opening a page with `?token=`). ' +
        'Errors are `{ "error": { "code", "status", "message" } }`; messages name the field and the value.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string', enum: ['INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'FAILED_PRECONDITION', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'INTERNAL'] },
                status: { type: 'integer' },
                message: { type: 'string' },
              },
              required: ['code', 'status', 'message'],
            },
          },
        },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            app: { type: 'string' },
            phase: { type: 'string', enum: ['queued', 'map', 'reduce', 'succeeded', 'failed', 'cancelled'] },
            finished: { type: 'boolean' },
            progress: { type: 'number', minimum: 0, maximum: 1 },
            maps: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
            reduces: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
            submittedAt: ms,
            startedAt: ms,
            finishedAt: ms,
            durationMs: { type: ['integer', 'null'] },
            message: { type: 'string', description: 'why the job failed, when it failed' },
            spec: { type: 'object' },
            counters: { type: 'object', additionalProperties: { type: 'integer' }, description: 'sums over each task\'s winning attempt: map.*, reduce.*, user.<name>' },
          },
        },
        Attempt: {
          type: 'object',
          properties: {
            attempt: { type: 'integer' },
            worker: { type: 'string' },
            state: { type: 'string', enum: ['running', 'succeeded', 'failed', 'lost', 'abandoned'] },
            startedAt: ms,
            endedAt: ms,
            durationMs: { type: ['integer', 'null'] },
            error: { type: 'string' },
            log: { type: 'string', description: 'API path of the attempt log' },
          },
        },
        Task: {
          type: 'object',
          properties: {
            id: { type: 'string', examples: ['map-3', 'reduce-0'] },
            kind: { type: 'string', enum: ['map', 'reduce'] },
            index: { type: 'integer' },
            state: { type: 'string', enum: ['pending', 'running', 'done', 'failed'] },
            attempts: { type: 'integer' },
            worker: { type: 'string' },
            startedAt: ms,
            endedAt: ms,
            durationMs: { type: ['integer', 'null'] },
            error: { type: 'string' },
            inputs: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, start: { type: 'integer' }, end: { type: 'integer' } } } },
            history: { type: 'array', items: ref('Attempt') },
          },
        },
        Worker: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            jobId: { type: 'string' },
            state: { type: 'string', enum: ['starting', 'running', 'succeeded', 'failed', 'idle', 'gone'] },
            source: { type: 'string', enum: ['executor', 'attempts'] },
            reason: { type: 'string' },
            where: { type: 'string' },
            startedAt: ms,
            finishedAt: ms,
            attempts: { type: 'integer' },
            failedAttempts: { type: 'integer' },
            current: { type: 'string', description: 'the task it runs now' },
          },
        },
        ResultFile: {
          type: 'object',
          properties: { name: { type: 'string' }, size: { type: 'integer' }, modifiedAt: { type: 'number' }, url: { type: 'string' }, download: { type: 'string' } },
        },
        SubmitJob: {
          type: 'object',
          additionalProperties: false,
          required: ['inputs'],
          properties: {
            app: { type: 'string', description: 'bundled app (wordcount, indexer) or module path; required unless `streaming`' },
            inputs: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'files or globs, relative to workDir' },
            reducers: { type: 'integer', minimum: 1, maximum: 100000, default: 10 },
            workers: { type: 'integer', minimum: 1, maximum: 10000, default: 2 },
            name: { type: 'string' },
            jobId: { type: 'string', pattern: JOB_ID_PATTERN },
            maxAttempts: { type: 'integer', minimum: 1, maximum: 1000 },
            leaseMs: { type: 'integer', minimum: 100 },
            splitBytes: { type: 'integer', minimum: 1 },
            packSmallFiles: { type: 'boolean', default: true, description: 'small input files share map tasks; false: one map task per file' },
            outputDir: { type: 'string' },
            workDir: { type: 'string', description: 'absolute; default: the dashboard\'s --work-dir' },
            image: { type: 'string' },
            streaming: { type: 'object', properties: { mapper: { type: 'string' }, reducer: { type: 'string' }, combiner: { type: 'string' } } },
            params: { type: 'object', additionalProperties: { type: 'string' }, description: 'job parameters, read in map/reduce with params()' },
            steps: { type: 'integer', minimum: 1, maximum: 20, default: 1, description: 'steps the app declares with registerApp({ steps })' },
            speculative: { type: 'boolean', default: true, description: 'run backup attempts of slow tasks near the end of a phase' },
          },
        },
      },
    },
    paths: {
      '/api/jobs': {
        get: { summary: 'List jobs, newest first', responses: { 200: jsonBody({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') } } }, 'jobs') } },
        post: {
          summary: 'Submit a job',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: ref('SubmitJob') } } },
          responses: {
            201: jsonBody({ type: 'object', properties: { job: ref('Job') } }, 'submitted; Location names the job'),
            400: error('invalid body (the message names the field and value)'),
            401: error('token required'),
            409: error('job id taken, or the output directory already holds results'),
            413: error('body larger than the limit'),
            503: error('coordinator unavailable'),
          },
        },
      },
      '/api/jobs/{id}': {
        parameters: [jobId],
        get: { summary: 'A job and its tasks', responses: { 200: jsonBody({ type: 'object', properties: { job: ref('Job'), tasks: { type: 'array', items: ref('Task') } } }, 'job'), 404: error('no such job') } },
        delete: {
          summary: 'Cancel a job',
          security: [{ bearer: [] }],
          responses: { 200: jsonBody({ type: 'object', properties: { job: ref('Job') } }, 'cancelled'), 401: error('token required'), 404: error('no such job'), 409: error('already finished') },
        },
      },
      '/api/jobs/{id}/tasks': {
        parameters: [jobId],
        get: { summary: "A job's tasks with every attempt", responses: { 200: jsonBody({ type: 'object', properties: { tasks: { type: 'array', items: ref('Task') } } }, 'tasks'), 404: error('no such job') } },
      },
      '/api/jobs/{id}/results': {
        parameters: [jobId],
        get: { summary: 'Result files (mr-out-<r>) written so far', responses: { 200: jsonBody({ type: 'object', properties: { phase: { type: 'string' }, files: { type: 'array', items: ref('ResultFile') } } }, 'files'), 404: error('no such job') } },
      },
      '/api/jobs/{id}/results/{name}': {
        parameters: [jobId, path('name', 'mr-out-<r>'), query('download', 'serve as an attachment', { type: 'boolean' }), query('head', 'only the first N bytes', { type: 'integer', minimum: 1 })],
        get: { summary: 'One result file', responses: { 200: text('the file'), 400: error('not a result file name'), 404: error('no such job or file') } },
      },
      '/api/jobs/{id}/workers': {
        parameters: [jobId],
        get: { summary: "A job's workers", responses: { 200: jsonBody({ type: 'object', properties: { workers: { type: 'array', items: ref('Worker') } } }, 'workers'), 404: error('no such job') } },
      },
      '/api/jobs/{id}/workers/{worker}/log': {
        parameters: [jobId, path('worker', 'worker id (pod name or local-<job>-w<n>-<restart>)'), follow],
        get: { summary: "A worker's own log (from the executor, else the copy on the data volume)", responses: { 200: text('log'), 404: error('no such worker or log') } },
      },
      '/api/jobs/{id}/tasks/{task}/attempts/{attempt}/log': {
        parameters: [jobId, path('task', 'map-<n> or reduce-<n>'), path('attempt', '1-based attempt number'), follow],
        get: { summary: "One attempt's log, from the data volume", responses: { 200: text('log'), 400: error('bad task or attempt'), 404: error('no such log') } },
      },
      '/api/workers': { get: { summary: 'Workers of recent jobs', responses: { 200: jsonBody({ type: 'object', properties: { workers: { type: 'array', items: ref('Worker') } } }, 'workers') } } },
      '/api/events': {
        parameters: [query('job', 'only this job', { type: 'string' })],
        get: {
          summary: 'Server-sent events: `submitted`, `phase`, `task`, `finished` (data: {type, jobId, at, job, task}) and `status` (data: {connected, message})',
          responses: { 200: { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      },
      '/api/session': {
        post: {
          summary: 'Exchange the token for a browser session cookie',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } } },
          responses: { 204: { description: 'cookie set' }, 400: error('wrong token') },
        },
      },
      '/api/files/{path}': {
        get: {
          summary: 'A file of the data volume (its bytes), or a directory (the JSON list of the files under it, `X-Kubemr-Entry: directory`); kubemr download',
          security: [{ bearer: [] }],
          parameters: [path('path', "`/`-separated plain names (letters, digits, '.', '_', '-'; no `..`, no hidden names); symlinks are not followed; `token` and `coordinator.lock` are never served")],
          responses: {
            200: { description: 'the file, or `{ path, files: [{ path, size, modifiedAt }] }` for a directory', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'application/json': { schema: { type: 'object' } } } },
            400: error('a path that is not plain names'),
            401: error('no valid token'),
            404: error('no such file or directory'),
          },
        },
        put: {
          summary: 'Write the request body as a file under `inputs/` (written whole under a temp name, then renamed); kubemr upload',
          security: [{ bearer: [] }],
          parameters: [path('path', '`inputs/...`, plain names as for GET; missing directories are made')],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: {
            201: jsonBody({ type: 'object', properties: { path: { type: 'string' }, size: { type: 'integer' } } }, 'written'),
            400: error('a path outside `inputs/`, through a symlink, or not plain names'),
            401: error('no valid token'),
            413: error("larger than the dashboard's --upload-limit"),
          },
        },
      },
      '/api/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
      '/healthz': { get: { summary: 'Liveness; reports whether the coordinator event stream is connected', responses: { 200: { description: 'ok' } } } },
    },
  };
}
