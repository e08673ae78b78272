import { FunctionJob, Job } from '@toil/workflow';
import { internalOf } from '../src/job.js';
import { thrownToilError } from '../../../tooling/test-env/errors.js';

export function work(job: FunctionJob, count: number): number {
  return count + (job ? 0 : 1);
}

export function plain(count: number): number {
  return count;
}

// What a JavaScript workflow (or a loosely typed call) can pass: TypeScript rejects the extra
// argument at compile time.
const loose = Job as unknown as {
  wrapJobFn(...args: unknown[]): FunctionJob;
  wrapFn(...args: unknown[]): FunctionJob;
};
const looseJob = (job: Job) => job as unknown as { addChildFn(...args: unknown[]): FunctionJob };

describe('function jobs take job options', () => {
  it('sets memory, cores, disk, preemptible, checkpoint and displayName through the *With variants', () => {
    const options = {
      memory: '1G',
      cores: 2,
      disk: '3Gi',
      preemptible: true,
      checkpoint: true,
      displayName: 'sorter',
    };
    const root = Job.wrapJobFnWith(options, work, 1);
    const made = [
      root,
      root.addChildJobFnWith(options, work, 2),
      root.addFollowOnJobFnWith(options, work, 3),
      root.addChildFnWith(options, plain, 4),
      root.addFollowOnFnWith(options, plain, 5),
      Job.wrapFnWith(options, plain, 6),
    ];
    for (const job of made) {
      expect(internalOf(job).options).toMatchObject({
        memory: 1e9,
        cores: 2,
        disk: 3 * 1024 ** 3,
        preemptible: true,
        checkpoint: true,
        displayName: 'sorter',
      });
      expect(job.displayName).toBe('sorter');
    }
    expect(made[1]!.args).toEqual([2]);
    expect(made[3]!.args).toEqual([4]);
  });

  it('refuses job options given as a trailing argument, the way Python passes keywords', () => {
    const error = thrownToilError(() => loose.wrapJobFn(work, 1, { memory: '1G' }));
    expect(error.code).toBe('WORKFLOW_INVALID');
    expect(error.message).toContain('looks like job options (memory)');
    expect(error.hint).toContain('addChildJobFnWith(options, work, ...args)');
    expect(
      thrownToilError(() => looseJob(new Job()).addChildFn(plain, 1, { cores: 2 })).hint,
    ).toContain('addChildFnWith');
    // Data that only resembles options, or that the function takes, is an argument as before.
    expect(Job.wrapFn(plain, { memory: '1G' } as never).args).toEqual([{ memory: '1G' }]);
    expect(loose.wrapJobFn(work, 1, { size: 3 }).args).toEqual([1, { size: 3 }]);
  });
});
