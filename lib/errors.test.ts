import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from './app/index.js';
import { expandInputs } from './coordinator/inputs.js';
import { Scheduler } from './coordinator/scheduler.js';
import { errorFields, InputNotFoundError, InvalidOptionError, isKubemrError, JobNotFoundError, KubemrError, AppNotFoundError, TaskFailedError } from './errors.js';
import { KubernetesExecutor } from './executor/kubernetes.js';
import { codeOfStatus, toServiceError } from './protocol/status.js';
import { loadApp } from './worker/loader.js';

const caught = async (f: () => unknown): Promise<unknown> => {
  try {
    await f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
};

describe('errors carry the fields that say what failed', () => {
  it('JobNotFoundError has the job id', async () => {
    const err = await caught(() => new Scheduler().getJob('no-such-job'));
    expect(JobNotFoundError.is(err) && err.jobId).toBe('no-such-job');
  });

  it('InputNotFoundError has the path, AppNotFoundError the app', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-errors-'));
    try {
      const missing = await caught(() => expandInputs(['gone.txt'], dir));
      expect(InputNotFoundError.is(missing) && missing.path).toBe('gone.txt');
      const glob = await caught(() => expandInputs(['*.none'], dir));
      expect(InputNotFoundError.is(glob) && glob.path).toBe('*.none');
      const app = await caught(() => loadApp('no-such-app', dir));
      expect(AppNotFoundError.is(app) && app.app).toBe('no-such-app');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('errorFields renders message, code and fields, the same for every error', () => {
    const err = new TaskFailedError('job j failed', { jobId: 'j', task: 'map-3', attempt: 2 });
    expect(errorFields(err)).toEqual({ error: 'job j failed', code: 'FAILED_PRECONDITION', jobId: 'j', task: 'map-3', attempt: 2 });
    expect(errorFields(new TypeError('boom'))).toEqual({ error: 'boom' });
    expect(errorFields('plain')).toEqual({ error: 'plain' });
  });

  it('a bad Kubernetes executor option is INVALID_ARGUMENT, naming the option', () => {
    const err = (() => {
      try {
        new KubernetesExecutor({ kubeConfig: new KubeConfig(), namespace: 'Bad_NS' });
      } catch (e) {
        return e;
      }
    })();
    expect(InvalidOptionError.is(err)).toBe(true);
    expect((err as InvalidOptionError).code).toBe('INVALID_ARGUMENT');
    expect((err as InvalidOptionError).option).toBe('namespace');
    expect(toServiceError(err).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('recognised across copies of the package by a brand, not instanceof', () => {
  it('an error from a second copy of lib/errors is recognised by class and code', async () => {
    // A query string makes the module loader evaluate the file again: a second copy of the classes.
    const second = './errors.js?second-copy';
    const copy = (await import(second)) as typeof import('./errors.js');
    expect(copy.JobNotFoundError).not.toBe(JobNotFoundError);
    const err: unknown = new copy.JobNotFoundError('No job `x`', { jobId: 'x' });
    expect(err instanceof JobNotFoundError).toBe(false);
    expect(JobNotFoundError.is(err)).toBe(true);
    expect(KubemrError.is(err)).toBe(true);
    expect(isKubemrError(err)).toBe(true);
    expect(InputNotFoundError.is(err)).toBe(false);
    expect(toServiceError(err)).toEqual({ code: grpc.status.NOT_FOUND, details: 'No job `x`' });
    expect(errorFields(err)).toEqual({ error: 'No job `x`', code: 'NOT_FOUND', jobId: 'x' });
  });

  it('a plain Error is none of them', () => {
    expect(isKubemrError(new Error('x'))).toBe(false);
    expect(KubemrError.is(new Error('x'))).toBe(false);
    expect(isKubemrError({ code: 'NOT_FOUND', message: 'm' })).toBe(false);
  });

  it('UnrecoverableError, from the light kubemr/app entry, carries the brand too', () => {
    const err = new UnrecoverableError('record 3 is not JSON');
    expect(UnrecoverableError.is(err)).toBe(true);
    expect(isKubemrError(err)).toBe(true);
    expect(UnrecoverableError.is(new Error('x'))).toBe(false);
    expect(errorFields(err)).toEqual({ error: 'record 3 is not JSON', code: 'FAILED_PRECONDITION' });
  });
});

describe('the gRPC status map, both ways in one place', () => {
  it('every code survives the round trip', () => {
    for (const code of ['INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'FAILED_PRECONDITION', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'INTERNAL'] as const) {
      const err = new (class extends KubemrError {
        override readonly code = code;
      })('m');
      expect(codeOfStatus(toServiceError(err).code!)).toBe(code);
    }
    expect(codeOfStatus(grpc.status.DEADLINE_EXCEEDED)).toBe('INTERNAL');
  });
});
