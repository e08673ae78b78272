import { join } from 'node:path';
import { FIXTURE, lines, runWorkflow, scratch } from './helpers.js';

const EXPECTED_VALUES = ['add 1 2', 'add 3 4', 'path=8', 'add 7 70', 'final=77'];

function checkOrder(out: string[]): void {
  // rv() across levels: 1+2=3, 3+4=7, pair(7).list[1]=8, follow-on 7+70=77.
  expect(out.filter((l) => EXPECTED_VALUES.includes(l))).toEqual(EXPECTED_VALUES);
  const at = (line: string) => out.indexOf(line);
  expect(at('root ran')).toBe(0);
  // Follow-ons run after the job and all its descendants.
  for (const descendant of ['add 1 2', 'add 3 4', 'path=8', 'child-of-root']) {
    expect(at(descendant)).toBeLessThan(at('followOn-of-root'));
    expect(at(descendant)).toBeLessThan(at('add 7 70'));
  }
}

describe('return values and ordering', () => {
  it('passes rv() values over several levels and runs follow-ons last (warm workers)', async () => {
    const dir = scratch();
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'rv',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ROOT RETURNED 100');
    checkOrder(lines(join(dir, 'out')));
  });

  it('resolves a job that returns another job’s rv() to that job’s value, for consumers and toil.start()', async () => {
    const dir = scratch();
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'rvChain',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.code).toBe(0);
    // root -> middle.rv('value') -> pair(7).value; the follow-on gets middle.rv('list', 1).
    expect(result.stdout).toContain('ROOT RETURNED 70');
    expect(lines(join(dir, 'out'))).toContain('consumer=8');
  });

  it('does the same with a fresh process per job (--workerIsolation process)', async () => {
    const dir = scratch();
    const result = await runWorkflow(
      FIXTURE,
      [`file:${join(dir, 'store')}`, '--workerIsolation', 'process', '--maxCores', '1'],
      { TOIL_TEST_CASE: 'rv', TOIL_TEST_OUT: join(dir, 'out') },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ROOT RETURNED 100');
    checkOrder(lines(join(dir, 'out')));
  });
});

describe('resource limits', () => {
  it('never runs more jobs at once than --maxCores allows', async () => {
    const dir = scratch();
    const result = await runWorkflow(
      FIXTURE,
      [`file:${join(dir, 'store')}`, '--maxCores', '1', '--maxLocalJobs', '2'],
      { TOIL_TEST_CASE: 'intervals', TOIL_TEST_OUT: join(dir, 'out') },
    );
    expect(result.code).toBe(0);
    const out = lines(join(dir, 'out'));
    expect(out).toHaveLength(8);
    // One core: every job ends before the next starts.
    for (let i = 0; i < out.length; i += 2) {
      const index = out[i]!.split(' ')[1];
      expect(out[i]).toBe(`start ${index}`);
      expect(out[i + 1]).toBe(`end ${index}`);
    }
  });
});
