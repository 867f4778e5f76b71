import { describe, expect, it } from 'vitest';
import { checkWorkerResources, mergeWorkerResources, parseQuantity, withNodeOptions, workerMemory, workerNodeOptions, workerV8Flags } from './resources.js';

const MIB = 1024 * 1024;

describe('worker resources', () => {
  it('reads Kubernetes quantities, binary and decimal', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('1Gi')).toBe(1024 ** 3);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1.5Mi')).toBe(1.5 * MIB);
    expect(parseQuantity('1e3')).toBe(1000);
    for (const bad of ['', 'Gi', '1 Gi', '1GB', '-1', 'lots']) expect(parseQuantity(bad), bad).toBeUndefined();
  });

  it('sizes memory from the buffer: 256Mi/1Gi at the default 256 MiB, 2 x buffer + 512Mi above', () => {
    expect(workerMemory(256 * MIB)).toEqual({ request: '256Mi', limit: '1Gi' });
    expect(workerMemory(64 * MIB)).toEqual({ request: '256Mi', limit: '1Gi' });
    expect(workerMemory(1024 * MIB)).toEqual({ request: '1Gi', limit: '2560Mi' });
  });

  it('merges the job\'s own over the executor\'s over the sized memory, keeping each request within its limit', () => {
    const base = { requests: { cpu: '250m' }, limits: { cpu: '1' } };
    expect(mergeWorkerResources(base, {}, 256 * MIB)).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    // A job's request above the executor's limit raises that limit; a job's limit below the sized request lowers it.
    expect(mergeWorkerResources(base, { requests: { cpu: '3' }, limits: { memory: '300Mi' } }, 200 * MIB)).toEqual({
      requests: { cpu: '3', memory: '256Mi' },
      limits: { cpu: '3', memory: '300Mi' },
    });
    expect(mergeWorkerResources(base, { limits: { memory: '200Mi' } }, 100 * MIB).requests.memory).toBe('200Mi');
    // An executor-wide memory limit the job's buffer does not fit in gives way to the sized one.
    expect(mergeWorkerResources({ limits: { memory: '512Mi' } }, {}, 1024 * MIB).limits.memory).toBe('2560Mi');
    expect(mergeWorkerResources({ limits: { memory: '4Gi' } }, {}, 1024 * MIB).limits.memory).toBe('4Gi');
  });

  it('takes plain numbers as quantities and refuses what a pod could not run with', () => {
    expect(checkWorkerResources({ requests: { cpu: 2 } }, 256 * MIB)).toEqual({ requests: { cpu: '2' } });
    expect(() => checkWorkerResources({ limits: { memory: '1G' } }, 1024 * MIB)).toThrow(
      'Expected `resources.limits.memory` (1G) to be larger than the job\'s `memory` (1Gi, the map-side buffer each worker fills): give at least 2560Mi, or a smaller `memory`',
    );
    expect(() => checkWorkerResources({ requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }, 256 * MIB)).toThrow(
      'Expected `resources.requests.memory` (2Gi) to be at most `resources.limits.memory` (1Gi)',
    );
    expect(() => checkWorkerResources({ request: {} }, 256 * MIB)).toThrow('Expected `resources` to be an object with only `requests` and `limits`, got `"request"`');
  });
});

describe('worker node options', () => {
  it("sizes V8's semi-space from the budget, 16 to 64 MB, and lets the user's own options come last", () => {
    expect(workerNodeOptions(256 * MIB)).toBe('--max-semi-space-size=32');
    expect(workerNodeOptions(200 * MIB)).toBe('--max-semi-space-size=25');
    expect(workerNodeOptions(16 * MIB)).toBe('--max-semi-space-size=16');
    expect(workerNodeOptions(8 * 1024 * MIB)).toBe('--max-semi-space-size=64');
    expect(withNodeOptions('--a', undefined)).toBe('--a');
    expect(withNodeOptions('--a', '--max-semi-space-size=8')).toBe('--a --max-semi-space-size=8');
  });

  it('collects garbage on each worker\'s own thread only when the workers fill every core', () => {
    const M = 256 * 1024 * 1024;
    expect(workerV8Flags(2, 2, M)).toEqual(['--single-threaded-gc', '--initial-old-space-size=64']);
    expect(workerV8Flags(8, 2, M)).toEqual(['--single-threaded-gc', '--initial-old-space-size=64']);
    expect(workerV8Flags(1, 2, M)).toEqual(['--initial-old-space-size=64']);
    expect(workerV8Flags(3, 16, M)).toEqual(['--initial-old-space-size=64']);
  });

  it('starts the old generation at a quarter of the memory budget, rounded down to a power of two, 16 to 256 MB', () => {
    const mb = (bytes: number) => workerV8Flags(1, 2, bytes).at(-1);
    const M = 1024 * 1024;
    expect(mb(32 * M)).toBe('--initial-old-space-size=16');
    expect(mb(100 * M)).toBe('--initial-old-space-size=16');
    expect(mb(200 * M)).toBe('--initial-old-space-size=32');
    expect(mb(512 * M)).toBe('--initial-old-space-size=128');
    expect(mb(700 * M)).toBe('--initial-old-space-size=128');
    expect(mb(8 * 1024 * M)).toBe('--initial-old-space-size=256');
  });
});
