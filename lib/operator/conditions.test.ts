import { describe, expect, it } from 'vitest';
import { conditionsFor } from './conditions.js';

const t1 = new Date('2026-01-01T10:00:00.123Z');
const t2 = new Date('2026-01-01T10:05:00Z');
const brief = (cs: ReturnType<typeof conditionsFor>) => cs.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('MapReduceJob conditions', () => {
  it('are Running, Succeeded and Failed through a job\'s life', () => {
    expect(brief(conditionsFor({ phase: 'Pending', message: '' }, undefined, t1))).toEqual(['Running=False/Pending', 'Succeeded=False/InProgress', 'Failed=False/InProgress']);
    expect(brief(conditionsFor({ phase: 'Pending', message: '', workersStuck: 'pod p: ImagePullBackOff' }, undefined, t1))).toEqual([
      'Running=False/WorkersCannotStart',
      'Succeeded=False/InProgress',
      'Failed=False/InProgress',
    ]);
    expect(brief(conditionsFor({ phase: 'Running', message: '' }, undefined, t1))).toEqual(['Running=True/TasksRunning', 'Succeeded=False/InProgress', 'Failed=False/InProgress']);
    expect(brief(conditionsFor({ phase: 'Succeeded', message: '' }, undefined, t1))).toEqual(['Running=False/Succeeded', 'Succeeded=True/Succeeded', 'Failed=False/Succeeded']);
    const failed = conditionsFor({ phase: 'Failed', message: 'map 3 failed 4 times', failureReason: 'TaskFailed', generation: 2 }, undefined, t1);
    expect(failed[2]).toEqual({ type: 'Failed', status: 'True', reason: 'TaskFailed', message: 'map 3 failed 4 times', lastTransitionTime: '2026-01-01T10:00:00Z', observedGeneration: 2 });
    expect(brief(conditionsFor({ phase: 'Failed', message: 'x' }, undefined, t1))[2]).toBe('Failed=True/JobFailed');
    expect(brief(conditionsFor({ phase: 'Cancelled', message: 'cancelled by request' }, undefined, t1))).toEqual(['Running=False/Cancelled', 'Succeeded=False/Cancelled', 'Failed=False/Cancelled']);
  });

  it('keep lastTransitionTime while the status stays, and move it when the status flips', () => {
    const pending = conditionsFor({ phase: 'Pending', message: '' }, undefined, t1);
    const stuck = conditionsFor({ phase: 'Pending', message: '', workersStuck: 'pod p: Unschedulable' }, pending, t2);
    // A new reason, the same status: no transition.
    expect(stuck.map((c) => c.lastTransitionTime)).toEqual(pending.map((c) => c.lastTransitionTime));
    const running = conditionsFor({ phase: 'Running', message: '' }, stuck, t2);
    expect(running.find((c) => c.type === 'Running')!.lastTransitionTime).toBe('2026-01-01T10:05:00Z');
    expect(running.find((c) => c.type === 'Failed')!.lastTransitionTime).toBe('2026-01-01T10:00:00Z');
  });
});
