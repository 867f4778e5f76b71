import { describe, expect, it } from 'vitest';
import { compileCoordinatorOptions } from './coordinator/coordinator.js';
import { compileSchedulerOptions } from './coordinator/scheduler.js';
import { compileLocalExecutorOptions } from './executor/local.js';
import { InvalidOptionError, isKubemrError } from './errors.js';
import { compileServerOptions } from './protocol/server.js';
import { compileWorkerOptions } from './worker/worker.js';

describe('option sets are compiled once, with messages naming the option and the value', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['tickMs', () => compileCoordinatorOptions({ tickMs: 0 }), 'Expected `tickMs` to be an integer >= 1, got `0`'],
    ['workerGraceMs', () => compileCoordinatorOptions({ workerGraceMs: -1 }), 'Expected `workerGraceMs` to be an integer >= 0, got `-1`'],
    ['giveUpMs', () => compileWorkerOptions({ giveUpMs: 1.5 }), 'Expected `giveUpMs` to be an integer >= 0, got `1.5`'],
    ['holdMs', () => compileServerOptions({ holdMs: '10' as unknown as number }), 'Expected `holdMs` to be an integer >= 0, got `"10"`'],
    ['maxRestarts', () => compileLocalExecutorOptions({ maxRestarts: -2 }), 'Expected `maxRestarts` to be an integer >= 0, got `-2`'],
    ['waitMs', () => compileSchedulerOptions({ waitMs: 0 }), 'Expected `waitMs` to be an integer >= 1, got `0`'],
    ['speculation.slowFactor', () => compileSchedulerOptions({ speculation: { slowFactor: Number.NaN } }), 'Expected `speculation.slowFactor` to be a number >= 1, got `NaN`'],
  ];
  for (const [option, compile, message] of cases) {
    it(option, () => {
      let caught: unknown;
      try {
        compile();
      } catch (err) {
        caught = err;
      }
      expect(InvalidOptionError.is(caught)).toBe(true);
      expect(isKubemrError(caught) && caught.code).toBe('INVALID_ARGUMENT');
      expect((caught as InvalidOptionError).message).toBe(message);
      expect((caught as InvalidOptionError).option).toBe(option);
    });
  }

  it('fills the documented defaults', () => {
    expect(compileCoordinatorOptions({})).toEqual({ tickMs: 250, workerGraceMs: 3000, maxWorkersPerJob: 100 });
    expect(compileWorkerOptions({})).toEqual({ giveUpMs: 30_000 });
    expect(compileServerOptions({})).toEqual({ holdMs: 1000, maxWatches: 1000, maxWatchesPerConnection: 100 });
    expect(compileLocalExecutorOptions({})).toEqual({ maxRestarts: 20, restartDelayMs: 100, killGraceMs: 2000 });
    expect(compileSchedulerOptions({})).toEqual({ waitMs: 200, slowFactor: 1.5, minRunMs: 1000 });
  });
});
